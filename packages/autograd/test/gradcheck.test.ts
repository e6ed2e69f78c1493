import { describe, expect, it } from "vitest";
import { gradcheck, noGrad, stopGradient } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import { memoryStats, type Tensor } from "@equigrad/tensor";
import { f64, positive, randn } from "./helpers.js";

describe("gradcheck detects wrong gradients", () => {
  it("stopGradient inside f hides a term: x·sg(x) has analytic x but numeric 2x", () => {
    const x = f64([0.3, -1.7, 0.9, 1.2]);
    const r = gradcheck((t) => t.mul(stopGradient(t)), [x]);
    expect(r.ok).toBe(false);
    // The excess |x - 2x| - tol grows with |x|: the worst element is the largest in magnitude.
    expect(r.worst).not.toBeNull();
    expect(r.worst!.input).toBe(0);
    expect(r.worst!.index).toBe(1);
    // The output is projected on a random w: both sides carry the same factor w₁, and differ by 2.
    expect(r.worst!.numeric / r.worst!.analytic).toBeCloseTo(2, 6);
    expect(r.worst!.error).toBeGreaterThan(0);
    expect(r.maxAbsError).toBeCloseTo(Math.abs(r.worst!.analytic), 6);
  });

  it("names the input whose gradient is wrong", () => {
    const r = gradcheck((a, b) => a.sin().add(b.mul(b.detach())), [randn([3], 401), f64([0.5, 2, -0.25])]);
    expect(r.ok).toBe(false);
    expect(r.worst!.input).toBe(1);
    expect(r.worst!.index).toBe(1);
  });

  it("a term computed under noGrad is missed by the analytic side and caught", () => {
    const r = gradcheck((t) => t.add(noGrad(() => t.exp())), [randn([5], 402)]);
    expect(r.ok).toBe(false);
  });

  it("a small relative error fails by default and passes with a looser tolerance", () => {
    const f = (t: Tensor): Tensor => t.add(stopGradient(t).mul(1e-3));
    const x = randn([4], 403);
    expect(gradcheck(f, [x]).ok).toBe(false);
    expect(gradcheck(f, [x], { atol: 1e-2, rtol: 1e-2 }).ok).toBe(true);
  });

  it("an infinite numeric derivative is a failure (log just above 0)", () => {
    // x₁ - eps = 0: log gives -inf there, so the central difference is +inf.
    const r = gradcheck((t) => t.log(), [f64([1, 1e-6])], { eps: 1e-6 });
    expect(r.ok).toBe(false);
    expect(r.worst!.index).toBe(1);
    expect(r.worst!.error).toBe(Infinity);
  });

  it("a NaN numeric derivative is a failure (sqrt of a negative neighbour)", () => {
    const r = gradcheck((t) => t.sqrt(), [f64([1, 4, 5e-7])]);
    expect(r.ok).toBe(false);
    expect(r.worst!.index).toBe(2);
  });
});

describe("gradcheck accepts right gradients", () => {
  it("reports ok with a tiny error", () => {
    const r = gradcheck((a, b) => a.matmul(b).tanh(), [randn([2, 3], 404), randn([3, 2], 405)]);
    expect(r.ok).toBe(true);
    expect(r.maxAbsError).toBeLessThan(1e-7);
    expect(r.worst!.error).toBeLessThanOrEqual(0);
  });

  it("any projection seed works", () => {
    for (const seed of [1, 2, 3]) expect(gradcheck((t) => t.log().square(), [positive([4], 406)], { seed }).ok).toBe(true);
  });

  it("no inputs: trivially ok", () => {
    expect(gradcheck(() => T.ones([2], { dtype: "float64" }), []).ok).toBe(true);
  });
});

describe("gradcheck preconditions and memory", () => {
  it("rejects float32 inputs with a clear message", () => {
    expect(() => gradcheck((t) => t.exp(), [T.tensor([1, 2])])).toThrow(/inputs must be float64, got float32/);
  });
  it("leaves no buffers behind", () => {
    const x = randn([6], 407);
    gradcheck((t) => t.exp().sum(), [x]);
    const before = memoryStats().liveBuffers;
    gradcheck((t) => t.exp().mul(t.sin()).sum(0, true), [x]);
    gradcheck((t) => t.mul(stopGradient(t)), [x]);
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
