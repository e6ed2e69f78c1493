/**
 * Symmetry properties (OPTIMIZERS.md §11 T1–T3, T7, T8, T13): each direction map F commutes with
 * its block's group, F(g·M) = g·F(M), and fails for a larger group (negative controls). Directions
 * come from one rule step with β = 0, lr = 1, wd = 0 (update = −F(g)), in float64.
 */
import { describe, expect, it } from "vitest";
import type { Hyper } from "../src/hyper.js";
import { gramNewtonSchulz, newtonSchulz, polar } from "../src/linalg/index.js";
import { rules } from "../src/rules/index.js";
import * as R from "./reference-linalg.js";

const T = R.toTensor;
const M = R.toMat;

/** F(g) for registry rule `name` with `hyper` (β = 0, lr = 1, wd = 0). */
function F(name: string, hyper: Hyper, g: R.Mat, dtype: "float64" | "float32" = "float64"): R.Mat {
  const rule = rules.get(name)!.create({ lr: 1, weightDecay: 0, ...(name === "muon" ? { momentum: 0, nesterov: false } : { beta: 0 }), ...hyper }, { label: name, params: [] });
  const value = T(R.zerosMat(g.length, g[0]!.length)).cast(dtype);
  const params = [{ path: "w", role: "x", value }];
  const [u] = rule.update({ w: T(g).cast(dtype) }, rule.init(params), params);
  return R.scale(M(u.w!.cast("float64")), -1);
}

/** max |F(L·G·Rᵀ) − L·F(G)·Rᵀ|. */
const gap = (f: (g: R.Mat) => R.Mat, g: R.Mat, l: R.Mat, r: R.Mat): number =>
  R.maxAbsDiff(f(R.matmul(R.matmul(l, g), R.transpose(r))), R.matmul(R.matmul(l, f(g)), R.transpose(r)));

const [m, n] = [12, 20];
const G = R.randMat(m, n, 1);
const P = R.permutation(m, 2);
const O = R.haar(m, 3);
const Q = R.haar(n, 4);

describe("T1: row-norm is S_m × O(n) equivariant, not O(m) × O(n)", () => {
  it("rownorm(P M Qᵀ) == P rownorm(M) Qᵀ; a random orthogonal O in place of P fails", () => {
    const f = (g: R.Mat) => F("rownorm", {}, g);
    expect(gap(f, G, P, Q)).toBeLessThan(1e-12);
    expect(gap(f, G, O, Q)).toBeGreaterThan(0.05);
  });

  it("col orientation (SwiGLU down): O(d) on the left, neuron permutation on the right", () => {
    const f = (g: R.Mat) => F("rownorm", { orientation: "col" }, g);
    const Pn = R.permutation(n, 5);
    expect(gap(f, G, O, Pn)).toBeLessThan(1e-12);
    expect(gap(f, G, O, Q)).toBeGreaterThan(0.05);
  });
});

describe("T2: polar, Muon and PolarGrad are O(m) × O(n) equivariant", () => {
  it("SVD-free kernels commute with O, Q in float64 (NS, Gram NS, invsqrt polar)", () => {
    for (const f of [
      (g: R.Mat) => M(newtonSchulz(T(g), { coefficients: "polar_express" })),
      (g: R.Mat) => M(gramNewtonSchulz(T(g))),
      (g: R.Mat) => M(polar(T(g), { impl: "invsqrt", left: true })),
    ]) expect(gap(f, G, O, Q)).toBeLessThan(1e-12);
  });

  it("muon and polargrad rules: < 1e-12 (polargrad 1e-10·ν) in float64, < 1e-3 in float32 against themselves", () => {
    for (const [name, hyper] of [["muon", {}], ["muon", { coefficients: "keller", scale: "moonshot" }], ["polargrad", {}], ["polargrad", { impl: "invsqrt" }]] as [string, Hyper][]) {
      expect(gap((g) => F(name, hyper, g), G, O, Q)).toBeLessThan((name === "polargrad" ? 1e-10 * R.nuclearNorm(G) : 1e-12)); // polargrad: ≈ 7e-12·ν observed
      const rel = gap((g) => F(name, hyper, g, "float32"), G, O, Q) / (name === "polargrad" ? R.nuclearNorm(G) : 1);
      expect(rel).toBeLessThan(1e-3);
    }
  });

  it("NS5 against the SVD polar, loosely: every Polar Express output σ in [0.84, 1.15] (not UVᵀ itself)", () => {
    const s = R.singularValues(F("muon", { scale: "none" }, G));
    expect(Math.min(...s)).toBeGreaterThan(0.84);
    expect(Math.max(...s)).toBeLessThan(1.15);
  });

  it("right_polar (uncentered) is O(m) × O(n) equivariant too", () => {
    const tall = R.transpose(G); // 20×12: the right Gram is the small side
    expect(gap((g) => F("right_polar", { impl: "invsqrt" }, g), tall, R.haar(n, 6), R.haar(m, 7))).toBeLessThan(1e-10 * R.nuclearNorm(G));
  });
});

describe("T3: hybrid is S_m × O(n) equivariant, not O(m) × O(n)", () => {
  it("both orders, both impls; a random O fails", () => {
    for (const hyper of [{}, { impl: "invsqrt" }, { order: "polar_then_row" }] as Hyper[]) {
      const f = (g: R.Mat) => F("hybrid", hyper, g);
      const scale = hyper.order === "polar_then_row" ? 1 : R.nuclearNorm(R.rownorm(G));
      expect(gap(f, G, P, Q) / scale).toBeLessThan(1e-10); // invsqrt: ≈ 9e-12 observed
      expect(gap(f, G, O, Q) / scale).toBeGreaterThan(1e-3);
    }
  });
});

describe("T7: centered row-norm (LM head, router)", () => {
  const E = 8;
  const W = R.randMat(E, n, 8);
  const f = (g: R.Mat) => F("rownorm", { center: true }, g);

  it("columns of the update sum to 0; shift W → W + 1cᵀ leaves it unchanged; perm × orth equivariant", () => {
    const U = f(W);
    expect(Math.max(...R.colSums(U).map(Math.abs))).toBeLessThan(1e-12);
    const c = R.randMat(1, n, 9)[0]!;
    const shifted = W.map((r) => r.map((x, j) => x + c[j]!));
    expect(R.maxAbsDiff(f(shifted), U)).toBeLessThan(1e-12);
    expect(gap(f, W, R.permutation(E, 10), Q)).toBeLessThan(1e-12);
    // Negative control: the uncentered map is not shift invariant.
    expect(R.maxAbsDiff(F("rownorm", {}, shifted), F("rownorm", {}, W))).toBeGreaterThan(0.05);
  });

  it("row norms after re-centering are ≈ 1, not exactly 1", () => {
    const norms = f(W).map((r) => Math.sqrt(r.reduce((s, x) => s + x * x, 0)));
    expect(Math.min(...norms)).toBeGreaterThan(0.9);
    expect(Math.max(...norms)).toBeLessThan(1.1);
    expect(norms.some((x) => Math.abs(x - 1) > 1e-3)).toBe(true);
  });
});

describe("T8: centered left-spectral (router)", () => {
  const E = 8;
  const W = R.randMat(E, n, 11);
  const f = (g: R.Mat) => F("left_polar", {}, g);

  it("column sums < 1e-12, shift invariance and perm × orth equivariance < 1e-8 (relative to ν)", () => {
    const U = f(W);
    const nu = R.nuclearNorm(R.center(W));
    expect(Math.max(...R.colSums(U).map(Math.abs))).toBeLessThan(1e-12 * nu);
    const c = R.randMat(1, n, 12)[0]!;
    expect(R.maxAbsDiff(f(W.map((r) => r.map((x, j) => x + c[j]!))), U) / nu).toBeLessThan(1e-8);
    expect(gap(f, W, R.permutation(E, 13), Q) / nu).toBeLessThan(1e-8);
    // Negative control: the uncentered ablation moves under the shift.
    const g = (x: R.Mat) => F("left_polar", { center: false }, x);
    expect(R.maxAbsDiff(g(W.map((r) => r.map((x, j) => x + c[j]!))), g(W)) / nu).toBeGreaterThan(1e-3);
  });
});

describe("T13: scale behaviour", () => {
  it("rownorm(cM) == rownorm(M) while ‖M_i‖ ≫ ε; PolarGrad (α = 1) is linear in c; Muon is invariant", () => {
    for (const c of [1e-3, 1e4]) {
      expect(R.maxAbsDiff(F("rownorm", {}, R.scale(G, c)), F("rownorm", {}, G))).toBeLessThan(1e-5);
      const pg = F("polargrad", {}, G);
      // ‖1e-3·G‖_F ≈ 0.015, so the NS ε = 1e-7 perturbs the normalisation by ≈ 7e-6 (observed 1.2e-5 relative).
      expect(R.maxAbsDiff(F("polargrad", {}, R.scale(G, c)), R.scale(pg, c)) / (c * R.nuclearNorm(G))).toBeLessThan(5e-5);
      expect(R.maxAbsDiff(F("polargrad", { nsEps: 0 }, R.scale(G, c)), R.scale(F("polargrad", { nsEps: 0 }, G), c)) / (c * R.nuclearNorm(G))).toBeLessThan(1e-12);
      // Polar Express normalises by 1.02‖X‖_F + 1e-6: at c = 1e-3 that ε is 7e-5 of the norm (observed 3.3e-4 max abs).
      expect(R.maxAbsDiff(F("muon", {}, R.scale(G, c)), F("muon", {}, G))).toBeLessThan(1e-3);
    }
  });
});
