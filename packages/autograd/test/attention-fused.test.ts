import { describe, expect, it } from "vitest";
import { grad, valueAndGrad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { expectGradOk, randn } from "./helpers.js";

// scaledDotProductAttention through the fused "attention" op and its rule, which calls the
// fused "attention_grad" op. The reference backend runs both as float64 kernels, so gradcheck
// exercises them; on the wasm backend float64 decomposes and float32 runs the flash kernels.

const onReference = () => T.currentBackendName() === "reference";

const qkv = (b: number, hq: number, hkv: number, tq: number, tk: number, d: number, dv: number, seed: number): Tensor[] => [
  randn([b, hq, tq, d], seed),
  randn([b, hkv, tk, d], seed + 1),
  randn([b, hkv, tk, dv], seed + 2),
];

/** The primitives a gradient computation ran. */
function opsOf(fn: () => unknown): Set<string> {
  const [, table] = T.profile(() => T.tidy(() => void fn()));
  return new Set(table.map((e) => e.op));
}


describe("fused attention: gradcheck through the fused rules", () => {
  const cases: [string, Tensor[], T.AttentionOptions][] = [
    ["causal", qkv(2, 2, 2, 4, 4, 3, 3, 301), {}],
    ["non-causal", qkv(1, 2, 2, 3, 5, 3, 3, 304), { causal: false }],
    ["GQA Hq=4 Hkv=2, causal", qkv(1, 4, 2, 3, 3, 2, 2, 307), {}],
    ["GQA Hq=4 Hkv=2, non-causal", qkv(1, 4, 2, 2, 3, 2, 2, 310), { causal: false }],
    ["Tq < Tk, causal", qkv(1, 2, 1, 2, 5, 3, 3, 313), {}],
    ["Dv != D, custom scale", qkv(1, 2, 2, 3, 3, 2, 4, 316), { scale: 0.4 }],
  ];
  it.each(cases)("%s", (_, inputs, opts) => {
    const f = (q: Tensor, k: Tensor, v: Tensor) => T.scaledDotProductAttention(q, k, v, opts);
    expectGradOk(f, inputs);
    if (onReference()) {
      // The check above went through the fused forward and backward ops.
      const ops = opsOf(() => grad((q: Tensor, k: Tensor, v: Tensor) => f(q, k, v).square().sum(), { argnums: [0, 1, 2] })(inputs[0]!, inputs[1]!, inputs[2]!));
      expect(ops.has("attention") && ops.has("attention_grad")).toBe(true);
      expect(ops.has("matmul")).toBe(false);
    }
  });

  it("self-attention with one tensor as q, k and v", () => {
    expectGradOk((x) => T.scaledDotProductAttention(x, x, x), [randn([1, 2, 4, 3], 320)]);
  });

  it("second order: gradients of gradients (the attention_grad rule)", () => {
    const [q, k, v] = qkv(1, 2, 1, 2, 3, 2, 2, 330);
    const w = randn([1, 2, 2, 2], 333);
    for (const argnum of [0, 1, 2]) {
      const inner = (a: Tensor, b: Tensor, c: Tensor) => {
        const g = grad((x: Tensor, y: Tensor, z: Tensor) => T.scaledDotProductAttention(x, y, z).mul(w).sum(), { argnums: argnum })(a, b, c) as Tensor;
        return g.square();
      };
      // ∂out/∂v does not depend on v: that second derivative is genuinely zero.
      expectGradOk(inner, [q!, k!, v!], { allowZeroGrad: argnum === 2 });
    }
  });
});

describe("fused attention: float32 gradients match the decomposition's", () => {
  const cases: [string, number[], T.AttentionOptions][] = [
    // [B, Hq, Hkv, Tq, Tk, D]
    ["causal T=17 D=24", [2, 2, 2, 17, 17, 24], {}],
    ["causal T=65 D=64", [1, 2, 2, 65, 65, 64], {}],
    ["GQA non-causal T=33 D=8", [1, 4, 2, 33, 33, 8], { causal: false }],
    ["Tq < Tk causal", [1, 4, 2, 9, 40, 24], {}],
  ];
  it.each(cases)("%s", (_, [B, Hq, Hkv, Tq, Tk, D], opts) => {
    T.tidy(() => {
      const r = new T.Rng(44);
      const q = r.normal([B!, Hq!, Tq!, D!]), k = r.normal([B!, Hkv!, Tk!, D!]), v = r.normal([B!, Hkv!, Tk!, D!]);
      const w = r.normal([B!, Hq!, Tq!, D!]);
      const f = (a: Tensor, b: Tensor, c: Tensor) => T.scaledDotProductAttention(a, b, c, opts).mul(w).sum();
      const run = () => valueAndGrad(f, { argnums: [0, 1, 2] })(q, k, v) as [Tensor, Tensor[]];
      const ops = opsOf(run);
      expect(ops.has("attention") && ops.has("attention_grad")).toBe(true);
      const [loss, grads] = run();
      const [loss0, grads0] = T.decomposed(run);
      expect(Math.abs(loss.item() - loss0.item())).toBeLessThan(1e-3 * Math.max(1, Math.abs(loss0.item())));
      grads.forEach((g, i) => {
        const a = g.toArray(), b = grads0[i]!.toArray();
        const scale = Math.max(1, ...b.map(Math.abs));
        const worst = Math.max(...a.map((x, j) => Math.abs(x - b[j]!)));
        expect(worst, `gradient ${i}`).toBeLessThan(5e-5 * scale);
      });
    });
  });
});
