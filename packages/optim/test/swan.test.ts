import { describe, expect, it } from "vitest";
import { SWAN_DEFAULTS, gradNorm, slotsOf, swan, type SwanOptions } from "@equigrad/optim";
import { polar } from "../src/linalg/index.js";
import { expectClose, f64, param } from "./helpers.js";
import { flat, frob, mat, matmul, noise, run, transpose, type Mat } from "./extra-run.js";
import { polarRef, singularValues } from "./svd-reference-extra.js";

const rand = (m: number, n: number, seed: number): Mat => mat(noise(m * n, seed), m, n);
/** GradNorm by hand: population std over each row. */
const gradNormRef = (g: Mat, eps = 1e-8): Mat =>
  g.map((r) => {
    const mu = r.reduce((a, x) => a + x, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - mu) ** 2, 0) / r.length);
    return r.map((x) => (x - mu) / (sd + eps));
  });
const step = (o: SwanOptions, g: Mat, w0?: Mat): number[] => {
  const [m, n] = [g.length, g[0]!.length];
  return run(swan(o), [param("w", "mlp.up", w0 ? flat(w0) : new Array(m * n).fill(0), [m, n])], [{ w: flat(g) }]).updates[0]!.w!;
};

describe("SWAN (float64)", () => {
  it("GradNorm: every row has mean 0 and standard deviation 1 (by hand to rounding)", () => {
    const g = rand(3, 6, 1).map((r, i) => r.map((x) => x * (i + 1) + i));
    const out = mat(gradNorm(f64(flat(g), [3, 6]), 1e-8).toArray(), 3, 6);
    expectClose(flat(out), flat(gradNormRef(g)), 1e-13, 1e-15);
    for (const r of out) {
      expect(Math.abs(r.reduce((a, x) => a + x, 0))).toBeLessThan(1e-13);
      expect(Math.abs(Math.sqrt(r.reduce((a, x) => a + x * x, 0) / 6) - 1)).toBeLessThan(1e-7);
    }
  });

  for (const [m, n, impl] of [[3, 6, "invsqrt"], [6, 3, "invsqrt"], [3, 6, "newton_schulz"], [4, 4, "invsqrt"]] as const) {
    it(`${m}×${n} (${impl}): −lr·polar(GradNorm(G)) against the SVD, with decay`, () => {
      const g = rand(m, n, 10 * m + n);
      const w0 = rand(m, n, 5);
      const want = polarRef(gradNormRef(g));
      const u = step({ lr: 0.1, weightDecay: 0.2, impl, nsSteps: impl === "invsqrt" ? 30 : 5 }, g, w0);
      const got = mat(u.map((x, i) => -(x + 0.1 * 0.2 * flat(w0)[i]!) / 0.1), m, n);
      // invsqrt with 30 coupled NS steps converges; 5 Polar Express steps leave a percent-level σ ripple.
      const tol = impl === "invsqrt" ? 1e-6 : 0.15;
      if (impl === "newton_schulz") expectClose(flat(got), polar(f64(flat(gradNormRef(g)), [m, n]), { impl: "newton_schulz", steps: 5 }).toArray(), 1e-11, 1e-13);
      expect(frob(mat(flat(got).map((x, i) => x - flat(want)[i]!), m, n)) / frob(want)).toBeLessThan(tol);
      // Whitened: the nonzero singular values are ≈ 1 (a square GradNorm output has rank n − 1).
      const s = singularValues(got).filter((x) => x > 1e-3);
      for (const x of s) expect(Math.abs(x - 1)).toBeLessThan(impl === "invsqrt" ? 1e-6 : 0.15);
    });
  }

  it("rescale: ‖ΔW‖_F = ‖G̃‖_F", () => {
    const g = rand(3, 5, 20);
    const u = step({ lr: 1, rescale: true }, g);
    expect(Math.abs(frob(mat(u, 3, 5)) - frob(gradNormRef(g))) / frob(gradNormRef(g))).toBeLessThan(1e-12);
  });

  it("stateless: the update depends on the current gradient only; the state is the step count", () => {
    const g1 = rand(3, 5, 21);
    const g2 = rand(3, 5, 22);
    const r = run(swan({ lr: 0.1 }), [param("w", "mlp.up", new Array(15).fill(0), [3, 5])], [{ w: flat(g1) }, { w: flat(g2) }]);
    expectClose(r.updates[1]!.w!, step({ lr: 0.1 }, g2), 0, 0);
    expect(r.state.count).toBe(2);
    expect(Object.keys(slotsOf("swan", r.state, "w"))).toEqual([]);
  });

  it("equivariant under row permutations and column permutations (1-preserving); not under a general rotation of the columns", () => {
    const g = rand(3, 5, 23);
    const base = mat(step({ lr: 1, nsSteps: 30 }, g), 3, 5);
    const rows = [2, 0, 1];
    const cols = [4, 2, 0, 3, 1];
    const gp = rows.map((i) => cols.map((j) => g[i]![j]!));
    const up = mat(step({ lr: 1, nsSteps: 30 }, gp), 3, 5);
    expectClose(flat(up), flat(rows.map((i) => cols.map((j) => base[i]![j]!))), 1e-9, 1e-12);
    // A rotation in the (0, 1) column plane does not preserve 1: GradNorm's centring breaks the equivariance.
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const Q: Mat = [[c, -s, 0, 0, 0], [s, c, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]];
    const rotated = mat(step({ lr: 1, nsSteps: 30 }, matmul(g, transpose(Q))), 3, 5);
    const expected = matmul(base, transpose(Q));
    expect(frob(mat(flat(rotated).map((x, i) => x - flat(expected)[i]!), 3, 5))).toBeGreaterThan(1e-2);
  });

  it("defaults, 3-D experts and bad input", () => {
    expect(SWAN_DEFAULTS).toMatchObject({ weightDecay: 0, eps: 1e-8, rescale: false, nsSteps: 10 });
    const a = rand(3, 4, 30);
    const b = rand(3, 4, 31);
    const both = run(swan({ lr: 1 }), [param("e", "moe.expert.up", new Array(24).fill(0), [2, 3, 4])], [{ e: [...flat(a), ...flat(b)] }]).updates[0]!.e!;
    expectClose(both, [...step({ lr: 1 }, a), ...step({ lr: 1 }, b)], 1e-12, 1e-15);
    expect(() => swan({ impl: "svd" })).toThrow(/swan: 'impl' must be one of "invsqrt", "newton_schulz", "gramns"/);
    expect(() => swan().init([param("b", "bias", [1, 2])])).toThrow(/swan: takes matrices .* 'b' has shape \[2\]/);
  });
});
