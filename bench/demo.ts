// The README demo's training step (char-level MLP LM, batch 128) on the wasm and reference backends.
import { Rng, crossEntropy, indexSelect, tidy, withBackend } from "@equigrad/tensor";
import { valueAndGrad } from "@equigrad/autograd";
import { medianMs, report, type Figure } from "../packages/tensor/bench/report.js";

function stepMs(backend: string, reps: number): number {
  return withBackend(backend, () => {
    const r = new Rng(0);
    const p = { embed: r.normal([256, 24]).keep(), w1: r.normal([96, 128], 0, 0.1).keep(), b1: r.normal([128]).keep(), w2: r.normal([128, 256], 0, 0.1).keep(), b2: r.normal([256]).keep() };
    const ctx = r.uniform([128, 4], 0, 256).cast("int32").keep();
    const tgt = r.uniform([128], 0, 256).cast("int32").keep();
    const loss = (q: typeof p) => crossEntropy(indexSelect(q.embed, ctx).reshape(128, 96).matmul(q.w1).add(q.b1).tanh().matmul(q.w2).add(q.b2), tgt);
    const f = valueAndGrad(loss);
    return medianMs(() => tidy(() => void f(p)), reps, 2);
  });
}

export function runDemoBench(threads: number, quick = false): Figure[] {
  const wasm = stepMs("wasm", quick ? 5 : 20);
  const reference = stepMs("reference", quick ? 3 : 7);
  const figures: Figure[] = [
    { bench: "demo/step/wasm", value: 1000 / wasm, unit: "steps/s", threads },
    { bench: "demo/step/reference", value: 1000 / reference, unit: "steps/s", threads: 1 },
    { bench: "demo/step/wasm-vs-reference", value: reference / wasm, unit: "x", threads },
  ];
  report(figures, "README demo training step (forward + backward)");
  return figures;
}
