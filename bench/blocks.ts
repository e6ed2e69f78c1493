// Forward + backward of a 6-layer d=384 pre-norm transformer block stack (GPT-2 shaped: 6 heads,
// GELU MLP 4d), written with tensor ops: the wasm backend against the reference backend.
import { Rng, layerNorm, scaledDotProductAttention, tidy, withBackend, type Tensor } from "@equigrad/tensor";
import { valueAndGrad } from "@equigrad/autograd";
import { medianMs, report, type Figure } from "../packages/tensor/bench/report.js";

const L = 6, D = 384, H = 6;

type Block = { qkv: Tensor; o: Tensor; up: Tensor; down: Tensor };

function init(): Block[] {
  const r = new Rng(0);
  return Array.from({ length: L }, () => ({
    qkv: r.normal([D, 3 * D], 0, 0.02).keep(),
    o: r.normal([D, D], 0, 0.02).keep(),
    up: r.normal([D, 4 * D], 0, 0.02).keep(),
    down: r.normal([4 * D, D], 0, 0.02).keep(),
  }));
}

function forward(blocks: Block[], x: Tensor): Tensor {
  const [b, t] = x.shape as [number, number, number];
  for (const p of blocks) {
    const qkv = layerNorm(x).matmul(p.qkv).reshape(b, t, 3, H, D / H).permute(2, 0, 3, 1, 4);
    const att = scaledDotProductAttention(qkv.slice(0), qkv.slice(1), qkv.slice(2)).permute(0, 2, 1, 3).reshape(b, t, D);
    x = x.add(att.matmul(p.o));
    x = x.add(layerNorm(x).matmul(p.up).gelu().matmul(p.down));
  }
  return x;
}

export function stepMs(backend: string, batch: number, seq: number, reps: number): number {
  return withBackend(backend, () => {
    const blocks = init();
    const x = new Rng(1).normal([batch, seq, D]).keep();
    const f = valueAndGrad((bs: Block[]) => forward(bs, x).square().mean());
    return medianMs(() => tidy(() => void f(blocks)), reps, reps > 1 ? 1 : 0);
  });
}

export function runBlocksBench(threads: number, quick = false): Figure[] {
  const [batch, seq] = [1, 64];
  const wasm = stepMs("wasm", batch, seq, quick ? 2 : 5);
  const reference = stepMs("reference", batch, seq, 1);
  const tokens = batch * seq;
  const figures: Figure[] = [
    { bench: "blocks6x384/fwd+bwd/wasm", value: (tokens * 1000) / wasm, unit: "tokens/s", threads, batch, seq },
    { bench: "blocks6x384/fwd+bwd/reference", value: (tokens * 1000) / reference, unit: "tokens/s", threads: 1, batch, seq },
    { bench: "blocks6x384/fwd+bwd/wasm-vs-reference", value: reference / wasm, unit: "x", threads, batch, seq },
  ];
  report(figures, "6-layer d=384 transformer block stack, forward + backward");
  return figures;
}
