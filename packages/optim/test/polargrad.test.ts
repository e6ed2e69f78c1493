import { describe, expect, it } from "vitest";
import type { Tensor } from "@equigrad/tensor";
import { slotsOf, type PerParamState } from "../src/per-param.js";
import { polargrad, type PolarGradOptions } from "../src/rules/polargrad.js";
import type { Transform } from "../src/transform.js";
import { runOne } from "./helpers.js";
import * as R from "./reference-linalg.js";

const T = R.toTensor;
const M = R.toMat;

const run = (rule: Transform<PerParamState>, p0: Tensor, grads: Tensor[]) => runOne(rule, p0, grads, "mlp.up");

const p0 = R.randMat(10, 16, 1);
const gs = [2, 3, 4].map((s) => R.randMat(10, 16, s));
const o = { lr: 0.02, wd: 0.1, beta: 0.8 };
// Converged polar factors (12 steps) so the SVD reference applies; impls compared below.
const base: PolarGradOptions = { lr: o.lr, weightDecay: o.wd, beta: o.beta, nsSteps: 12, eps: 1e-14 };

/** PolarGrad by hand (§4) with the SVD polar and ν = Σσ. */
function byHand(polarFirst: boolean, alpha: number) {
  let p = p0;
  let m = R.zerosMat(10, 16);
  let nu = 0;
  for (const g of gs) {
    let step: R.Mat;
    if (polarFirst) {
      nu = R.nuclearNorm(g);
      m = R.add(R.scale(m, o.beta), R.scale(R.polar(g), 1 - o.beta));
      step = R.scale(m, nu ** alpha);
    } else {
      m = R.add(R.scale(m, o.beta), R.scale(g, 1 - o.beta));
      nu = R.nuclearNorm(m);
      step = R.scale(R.polar(m), nu ** alpha);
    }
    p = R.sub(R.scale(p, 1 - o.lr * o.wd), R.scale(step, o.lr));
  }
  return { p, m, nu };
}

describe("polargrad: three steps against the formula by hand (float64 SVD)", () => {
  for (const polarFirst of [false, true]) {
    for (const impl of ["gramns", "invsqrt", "newton_schulz"] as const) {
      it(`${polarFirst ? "polar-first" : "momentum-first"}, ${impl}, α = 1`, () => {
        const want = byHand(polarFirst, 1);
        const opts: PolarGradOptions = { ...base, polarFirst, impl, ...(impl === "newton_schulz" ? { coefficients: "pe_safety_1.05" } : {}), ...(impl === "invsqrt" ? { nsSteps: 10 } : {}) };
        const got = run(polargrad(opts), T(p0), gs.map(T));
        expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-10);
        const s = slotsOf("polargrad", got.state, "w");
        expect(R.maxAbsDiff(M(s.exp_avg!), want.m)).toBeLessThan(1e-10);
        expect(s.nu!.dtype).toBe("float32");
        expect(Math.abs(s.nu!.item() - want.nu) / want.nu).toBeLessThan(1e-6);
      });
    }
  }

  it("α = 0 is Muon's direction with EMA momentum; α = 0.5 scales by √ν", () => {
    for (const alpha of [0, 0.5]) {
      const want = byHand(false, alpha);
      expect(R.maxAbsDiff(M(run(polargrad({ ...base, alpha }), T(p0), gs.map(T)).p), want.p)).toBeLessThan(1e-10);
    }
  });

  it("T4: rank-1 M = a·bᵀ, α = 1: the step ν·polar(m) is m itself", () => {
    const g = R.outer(R.randMat(1, 10, 5)[0]!, R.randMat(1, 16, 6)[0]!);
    const got = run(polargrad({ lr: 1, beta: 0.5, weightDecay: 0, nsSteps: 12 }), T(R.zerosMat(10, 16)), [T(g)]).p;
    expect(R.maxAbsDiff(M(got), R.scale(g, -0.5))).toBeLessThan(1e-10 * R.frob(g)); // observed 3.5e-11
  });

  it("the defaults (5 Gram NS steps) stay within 15% of the exact step; bad input fails clearly", () => {
    const want = byHand(false, 1);
    const got = run(polargrad({ lr: o.lr, weightDecay: o.wd, beta: o.beta }), T(p0), gs.map(T));
    const moved = R.sub(want.p, p0);
    expect(R.frob(R.sub(M(got.p), want.p)) / R.frob(moved)).toBeLessThan(0.15);
    expect(() => polargrad({ impl: "qdwh" })).toThrow(/'impl' must be one of "gramns", "invsqrt", "newton_schulz"/);
    expect(() => polargrad({ polar_first: true })).toThrow(/did you mean 'polarFirst'/);
  });
});
