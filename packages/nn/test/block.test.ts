import { describe, expect, it } from "vitest";
import { Rng, tidy } from "@equigrad/tensor";
import { CausalSelfAttention, Dropout, GatedMLP, LayerNorm, MLP, MoE, RMSNorm, RoPE, TransformerBlock } from "@equigrad/nn";
import { expectClose, expectParamGradOk, randn } from "./helpers.js";

const dtype = "float64";

function llamaBlock(seed = 1, qkNorm = true): TransformerBlock {
  const rng = new Rng(seed, "block");
  return new TransformerBlock({
    attnNorm: new RMSNorm(4, { dtype }),
    attn: new CausalSelfAttention({ rng: rng.fork("attn"), dtype, dModel: 4, nHeads: 2, nKvHeads: 1, rope: new RoPE(2), qkNorm, std: 0.6 }),
    ffnNorm: new RMSNorm(4, { dtype }),
    ffn: new GatedMLP(4, 6, { rng: rng.fork("mlp"), dtype, std: 0.6 }),
  });
}

function gptBlock(dropout?: Dropout): TransformerBlock {
  const rng = new Rng(2, "block");
  return new TransformerBlock({
    attnNorm: new LayerNorm(4, { dtype }),
    attn: new CausalSelfAttention({ rng: rng.fork("attn"), dtype, dModel: 4, nHeads: 2, bias: true, std: 0.6 }),
    ffnNorm: new LayerNorm(4, { dtype }),
    ffn: new MLP(4, 8, { rng: rng.fork("mlp"), dtype, bias: true, std: 0.6 }),
    dropout,
  });
}

describe("TransformerBlock", () => {
  it("is x + attn(norm(x)) then h + ffn(norm(h))", () =>
    tidy(() => {
      const b = llamaBlock();
      const x = randn([2, 3, 4], 3);
      const h = x.add(b.attn.forward(b.attnNorm.forward(x)));
      expectClose(b.forward(x), h.add(b.ffn.forward(b.ffnNorm.forward(h))), 1e-14);
      expect(b.namedParameters().map((p) => p.path)).toEqual([
        "attn_norm.weight",
        "attn.q.weight",
        "attn.k.weight",
        "attn.v.weight",
        "attn.o.weight",
        "attn.q_norm.weight",
        "attn.k_norm.weight",
        "ffn_norm.weight",
        "mlp.gate.weight",
        "mlp.up.weight",
        "mlp.down.weight",
      ]);
    }));

  it("dropout acts in training mode only", () =>
    tidy(() => {
      const x = randn([1, 3, 4], 4);
      const plain = gptBlock().forward(x);
      const b = gptBlock(new Dropout(0.5, new Rng(5, "d")));
      expect(b.forward(x).toArray()).not.toEqual(plain.toArray());
      b.eval();
      expectClose(b.forward(x), plain, 1e-14);
    }));

  it("gradcheck: LLaMA-style block (RMSNorm, GQA, RoPE, QK-norm, SwiGLU) w.r.t. every parameter", () => {
    const b = llamaBlock();
    const x = randn([1, 3, 4], 6).keep();
    // Move the norm gains off 1 so their gradients are generic.
    tidy(() => {
      for (const p of b.namedParameters()) if (p.role === "norm") p.value.assign(p.value.add(randn(p.value.shape as number[], 7, 0.3)));
    });
    expectParamGradOk(b, () => b.forward(x));
  });

  it("gradcheck: GPT-style block (LayerNorm, biases, GELU MLP)", () => {
    const b = gptBlock();
    const x = randn([1, 3, 4], 8).keep();
    expectParamGradOk(b, () => b.forward(x));
  });

  it("an MoE block names its feed-forward 'moe'", () => {
    const rng = new Rng(3, "moe-block");
    const b = new TransformerBlock({
      attnNorm: new RMSNorm(4),
      attn: new CausalSelfAttention({ rng: rng.fork("attn"), dModel: 4, nHeads: 2 }),
      ffnNorm: new RMSNorm(4),
      ffn: new MoE({ rng: rng.fork("moe"), dModel: 4, dFF: 4, nExperts: 2, topK: 1 }),
      ffnName: "moe",
    });
    expect(b.namedParameters().map((p) => p.path).filter((p) => p.startsWith("moe"))).toEqual(["moe.gate", "moe.up", "moe.down", "moe.router.weight"]);
  });
});
