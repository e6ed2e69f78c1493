"""PyTorch reference for `pnpm bench --only=train`: the same presets, batch and step
(forward + cross-entropy + backward + AdamW) as bench/train.ts, in plain PyTorch (1.13 works:
no scaled_dot_product_attention), so our tokens/s can be set against it on the same machine.

    python3 bench/torch/train_reference.py THREADS PRESET [REPS]

Prints one JSON line: {"bench": "train/PRESET/torch", "value": tokens/s, ...}. Thread counts
come from the environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), set by the caller before
the libraries load. Parameter counts equal equigrad's presets (printed for checking).
"""
import json, math, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    # name: (family, layers, heads, kv heads, d_model, d_ff, context, batch)
    "gpt-tiny": ("gpt2", 4, 4, 4, 128, 512, 128, 16),
    "gpt-small": ("gpt2", 6, 6, 6, 384, 1536, 256, 8),
    "llama-small": ("llama", 6, 6, 2, 384, 1024, 256, 8),
}
VOCAB = 256


class Attention(nn.Module):
    def __init__(s, fam, h, hkv, d, t):
        super().__init__()
        s.h, s.hkv, s.hd, s.fam = h, hkv, d // h, fam
        bias = fam == "gpt2"
        s.q = nn.Linear(d, d, bias=bias)
        s.kv = nn.Linear(d, 2 * hkv * s.hd, bias=bias)
        s.o = nn.Linear(d, d, bias=bias)
        s.register_buffer("mask", torch.tril(torch.ones(t, t)).bool())
        if fam == "llama":
            inv = 1.0 / (10000 ** (torch.arange(0, s.hd, 2).float() / s.hd))
            ang = torch.outer(torch.arange(t).float(), inv)
            s.register_buffer("cos", ang.cos())
            s.register_buffer("sin", ang.sin())

    def rope(s, x):
        a, b = x[..., 0::2], x[..., 1::2]
        c, n = s.cos[: x.shape[2]], s.sin[: x.shape[2]]
        return torch.stack((a * c - b * n, a * n + b * c), -1).flatten(-2)

    def forward(s, x):
        b, t, d = x.shape
        q = s.q(x).view(b, t, s.h, s.hd).transpose(1, 2)
        k, v = s.kv(x).view(b, t, 2, s.hkv, s.hd).permute(2, 0, 3, 1, 4)
        if s.fam == "llama":
            q, k = s.rope(q), s.rope(k)
        if s.hkv != s.h:
            k, v = (z.repeat_interleave(s.h // s.hkv, 1) for z in (k, v))
        a = (q @ k.transpose(-1, -2)) / math.sqrt(s.hd)
        a = a.masked_fill(~s.mask[:t, :t], float("-inf")).softmax(-1)
        return s.o((a @ v).transpose(1, 2).reshape(b, t, d))


class RMSNorm(nn.Module):
    def __init__(s, d, eps=1e-5):
        super().__init__()
        s.w, s.eps = nn.Parameter(torch.ones(d)), eps

    def forward(s, x):
        return s.w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps)


class Block(nn.Module):
    def __init__(s, fam, h, hkv, d, ff, t):
        super().__init__()
        norm = (lambda: nn.LayerNorm(d)) if fam == "gpt2" else (lambda: RMSNorm(d))
        s.fam, s.n1, s.n2 = fam, norm(), norm()
        s.attn = Attention(fam, h, hkv, d, t)
        if fam == "gpt2":
            s.fc, s.proj = nn.Linear(d, ff), nn.Linear(ff, d)
        else:
            s.gate, s.up, s.down = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)

    def forward(s, x):
        x = x + s.attn(s.n1(x))
        y = s.n2(x)
        if s.fam == "gpt2":
            return x + s.proj(F.gelu(s.fc(y), approximate="tanh"))
        return x + s.down(F.silu(s.gate(y)) * s.up(y))


class Model(nn.Module):
    def __init__(s, fam, layers, h, hkv, d, ff, t):
        super().__init__()
        s.fam = fam
        s.wte = nn.Embedding(VOCAB, d)
        if fam == "gpt2":
            s.wpe = nn.Embedding(t, d)
            s.norm = nn.LayerNorm(d)
        else:
            s.norm = RMSNorm(d)
            s.head = nn.Linear(d, VOCAB, bias=False)
        s.blocks = nn.ModuleList(Block(fam, h, hkv, d, ff, t) for _ in range(layers))

    def forward(s, x, y):
        h = s.wte(x)
        if s.fam == "gpt2":
            h = h + s.wpe(torch.arange(x.shape[1]))
        for b in s.blocks:
            h = b(h)
        h = s.norm(h)
        logits = h @ s.wte.weight.T if s.fam == "gpt2" else s.head(h)
        return F.cross_entropy(logits.view(-1, VOCAB), y.view(-1))


def main():
    threads, preset = int(sys.argv[1]), sys.argv[2]
    fam, layers, h, hkv, d, ff, t, batch = PRESETS[preset]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else (16 if preset == "gpt-tiny" else 5)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(fam, layers, h, hkv, d, ff, t)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = torch.randint(0, VOCAB, (batch, t)), torch.randint(0, VOCAB, (batch, t))

    def step():
        opt.zero_grad(set_to_none=True)
        model(x, y).backward()
        opt.step()

    for _ in range(3):  # warm-up, as bench/train.ts takes
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    ms = sorted(times)[len(times) // 2] * 1000
    print(json.dumps({
        "bench": f"train/{preset}/torch", "value": round(batch * t * 1000 / ms, 1), "unit": "tokens/s", "threads": threads,
        "batch": batch, "seq": t, "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
