import { noGrad } from "@equigrad/autograd";
import type { Transformer } from "@equigrad/models";
import { Rng, fromTypedArray, tidy } from "@equigrad/tensor";

export interface SampleOptions {
  tokens: number;
  temperature: number;
  /** Keep the k most likely tokens (0: all). */
  topK: number;
  seed: number;
}

/** Autoregressive sampling in evaluation mode (no dropout): the context is cropped to the model's length; seeded, so repeatable. */
export function sampleTokens(model: Transformer, prompt: readonly number[], opts: SampleOptions): number[] {
  const rng = new Rng(opts.seed, "sample");
  const out = [...prompt];
  const training = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let i = 0; i < opts.tokens; i++) {
        const ctx = Int32Array.from(out.slice(-model.contextLength));
        const logits = tidy(() => model.forward(fromTypedArray(ctx, [1, ctx.length], "int32")).slice(0, -1).data());
        const u = tidy(() => rng.uniform([1], 0, 1, "float64").item());
        out.push(pick(logits, opts.temperature, opts.topK, u));
      }
    });
  } finally {
    model.train(training);
  }
  return out.slice(prompt.length);
}

/** Draws from softmax(logits / T) restricted to the top k, with a uniform u in [0, 1). */
function pick(logits: ArrayLike<number>, temperature: number, topK: number, u: number): number {
  const ids = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = topK > 0 ? ids.slice(0, topK) : ids;
  const max = logits[kept[0]!]!;
  const w = kept.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let j = 0; j < kept.length; j++) {
    acc += w[j]! / total;
    if (u < acc) return kept[j]!;
  }
  return kept[kept.length - 1]!;
}
