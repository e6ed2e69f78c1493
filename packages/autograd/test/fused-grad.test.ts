import { describe, expect, it } from "vitest";
import { grad, valueAndGrad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { expectGradOk, randn } from "./helpers.js";

// The VJPs of gelu / silu and of layerNorm / rmsNorm go through one fused backward op each
// (gelu_grad, silu_grad, layer_norm_grad, rms_norm_grad), whose own VJP differentiates its
// decomposition. The reference backend runs them as float64 kernels, so gradcheck exercises
// them; on wasm float64 decomposes and float32 runs the kernels.

const onReference = () => T.currentBackendName() === "reference";

/** The primitives a computation ran. */
function opsOf(fn: () => unknown): Set<string> {
  const [, table] = T.profile(() => T.tidy(() => void fn()));
  return new Set(table.map((e) => e.op));
}


const CASES: [string, string, number[], (x: Tensor) => Tensor][] = [
  ["gelu (erf)", "gelu_grad", [3, 7], (x) => x.gelu()],
  ["gelu (tanh)", "gelu_grad", [3, 7], (x) => x.gelu("tanh")],
  ["silu", "silu_grad", [3, 7], (x) => T.silu(x)],
  ["layerNorm", "layer_norm_grad", [3, 6], (x) => T.layerNorm(x)],
  ["rmsNorm", "rms_norm_grad", [3, 6], (x) => T.rmsNorm(x)],
];

describe("fused backward ops: gradcheck (float64)", () => {
  it.each(CASES)("%s: first order", (_, op, shape, f) => {
    const x = randn(shape, 700);
    expectGradOk(f, [x]);
    if (onReference()) expect(opsOf(() => grad((t: Tensor) => f(t).square().sum())(x)).has(op)).toBe(true);
  });

  it.each(CASES)("%s: second order (gradients of gradients)", (_, op, shape, f) => {
    const x = randn(shape, 710);
    const w = randn(shape, 711);
    const inner = (t: Tensor) => (grad((u: Tensor) => f(u).mul(w).sum())(t) as Tensor).square();
    expectGradOk(inner, [x]);
    // Through the fused op's own rule (its decomposition differentiated).
    if (onReference()) expect(opsOf(() => grad((t: Tensor) => inner(t).sum())(x)).has(op)).toBe(true);
  });

  it("layerNorm and rmsNorm with weight and bias, 3-d", () => {
    const x = randn([2, 3, 5], 720);
    const wt = randn([5], 721), b = randn([5], 722);
    expectGradOk((a, c, d) => T.layerNorm(a, c, d), [x, wt, b]);
    expectGradOk((a, c) => T.rmsNorm(a, c), [x, wt]);
  });

  it("the fused ops' rules give gradients for both x and g", () => {
    for (const call of [
      { op: "gelu_grad", approximate: "tanh" },
      { op: "gelu_grad", approximate: "none" },
      { op: "silu_grad" },
      { op: "layer_norm_grad", eps: 1e-5 },
      { op: "rms_norm_grad", eps: 1e-6 },
    ] as const) {
      expectGradOk((x, g) => T.fused(call, x, g), [randn([2, 5], 730), randn([2, 5], 731)]);
    }
  });
});

describe("fused backward ops: float32 gradients match the decomposition's", () => {
  it.each(CASES.map(([name, op, , f]) => [name, op, [4, 37, 130], f] as const))("%s", (_, op, shape, f) => {
    T.tidy(() => {
      const r = new T.Rng(45);
      const x = r.normal(shape, 0, 2), w = r.normal(shape);
      const run = () => valueAndGrad((t: Tensor) => f(t).mul(w).sum())(x) as [Tensor, Tensor];
      expect(opsOf(run).has(op)).toBe(true);
      const [, g] = run();
      const [, g0] = T.decomposed(run);
      const a = g.toArray(), b = g0.toArray();
      const scale = Math.max(1, ...b.map(Math.abs));
      const worst = Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
      expect(worst).toBeLessThan(1e-5 * scale);
    });
  });
});
