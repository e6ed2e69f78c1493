import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import { gpt2, llama, moe, type Transformer } from "@equigrad/models";
import { memoryStats, tensor, tidy, zerosLike, type Tensor } from "@equigrad/tensor";

/** Two fixed windows of a repeated phrase, as bytes: inputs and next-byte targets [2, T]. */
function batch(t: number): [Tensor, Tensor] {
  const text = "hello, equigrad! ".repeat(4);
  const bytes = [...new TextEncoder().encode(text)];
  const rows = [0, 7].map((o) => bytes.slice(o, o + t + 1));
  const x = tensor(Int32Array.from(rows.flatMap((r) => r.slice(0, t))), { shape: [2, t] }).keep();
  const y = tensor(Int32Array.from(rows.flatMap((r) => r.slice(1))), { shape: [2, t] }).keep();
  return [x, y];
}

/** Plain Adam (bias-corrected), written here: optimizers live in packages/optim. */
function train(model: Transformer, steps: number, lr: number): number[] {
  const [x, y] = batch(16);
  const params = model.parameters();
  const m = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, zerosLike(v).keep()]));
  const v = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, zerosLike(p).keep()]));
  const [b1, b2, eps] = [0.9, 0.99, 1e-8];
  const losses: number[] = [];
  let live = 0;
  for (let step = 1; step <= steps; step++) {
    const loss = tidy(() => {
      const [value, g] = valueAndGrad((p: Record<string, Tensor>) => functionalCall(model, p, () => model.loss(x, y)))(params);
      for (const k of Object.keys(params)) {
        m[k]!.assign(m[k]!.mul(b1).add(g[k].mul(1 - b1)));
        v[k]!.assign(v[k]!.mul(b2).add(g[k].square().mul(1 - b2)));
        const mhat = m[k]!.div(1 - b1 ** step);
        const vhat = v[k]!.div(1 - b2 ** step);
        params[k]!.assign(params[k]!.sub(mhat.div(vhat.sqrt().add(eps)).mul(lr)));
      }
      return (value as Tensor).item();
    });
    losses.push(loss);
    // Memory stays flat from step to step.
    if (step === 2) live = memoryStats().liveBuffers;
    if (step > 2) expect(memoryStats().liveBuffers).toBe(live);
    if (loss < 0.05) break;
  }
  return losses;
}

const base = { vocabSize: 256, contextLength: 16, nLayer: 2, nHead: 2, dModel: 32 };

describe("a tiny model overfits a repeated byte sequence", () => {
  it("GPT-2 (tied head)", () => {
    const losses = train(gpt2(base, { seed: 1 }), 100, 1e-2);
    // Starts near ln 256 ≈ 5.55 (small init: nearly uniform predictions).
    expect(losses[0]).toBeGreaterThan(5.3);
    expect(losses.at(-1)).toBeLessThan(0.1);
  });

  it("LLaMA (RoPE, GQA, SwiGLU)", () => {
    const losses = train(llama({ ...base, nKvHeads: 1, dFF: 64 }, { seed: 2 }), 100, 1e-2);
    expect(losses.at(-1)).toBeLessThan(0.1);
  });

  it("MoE (4 experts, top-2, with aux losses)", () => {
    const losses = train(moe({ ...base, nKvHeads: 1, dFF: 32, nExperts: 4, topK: 2, balanceCoef: 0.01, zCoef: 0.001 }, { seed: 3 }), 100, 1e-2);
    // The objective includes the weighted aux losses (about 0.01 when balanced).
    expect(losses.at(-1)).toBeLessThan(0.1);
  });
});
