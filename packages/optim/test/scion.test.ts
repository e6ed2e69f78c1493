import { describe, expect, it } from "vitest";
import { SCION_DEFAULTS, scion, slotsOf, type ScionOptions } from "@equigrad/optim";
import { lmoDirection, type LmoName, type LmoOptions } from "../src/rules/lmo.js";
import { expectClose, f64, param } from "./helpers.js";
import { flat, frob, mat, matmul, noise, run, scale, transpose, type Mat } from "./extra-run.js";
import { polarRef, singularValues, spectralNorm } from "./svd-reference-extra.js";

const opts = (o: Partial<LmoOptions> = {}): LmoOptions => ({ normalized: true, transpose: false, max: false, nsSteps: 5, ...o });
const lmo = (name: LmoName, g: Mat, o: Partial<LmoOptions> = {}): Mat => mat(lmoDirection(name, f64(flat(g), [g.length, g[0]!.length]), opts(o)).toArray(), g.length, g[0]!.length);
const rand = (m: number, n: number, seed: number): Mat => mat(noise(m * n, seed), m, n);

/** Keller's NS5 in plain float64 (transpose if tall, ÷(‖X‖_F + 1e-7)). */
function ns5(g: Mat, steps = 5): Mat {
  const tall = g.length > g[0]!.length;
  let x = scale(tall ? transpose(g) : g, 1 / (frob(g) + 1e-7));
  for (let k = 0; k < steps; k++) {
    const A = matmul(x, transpose(x));
    const B = A.map((r, i) => r.map((v, j) => -4.775 * v + 2.0315 * matmul(A, A)[i]![j]!));
    x = x.map((r, i) => r.map((v, j) => 3.4445 * v + matmul(B, x)[i]![j]!));
  }
  return tall ? transpose(x) : x;
}

describe("Scion LMOs (T18, float64)", () => {
  it("spectral: NS5(g)·√(d_out/d_in), spectral norm ≈ √(d_out/d_in) (NS5's σ window [0.68, 1.21])", () => {
    for (const [m, n] of [[4, 6], [6, 4], [5, 5]] as const) {
      const g = rand(m, n, m * 10 + n);
      const out = lmo("spectral", g);
      expectClose(flat(out), flat(scale(ns5(g), Math.sqrt(m / n))), 1e-12, 1e-14);
      const s = singularValues(out).map((x) => x / Math.sqrt(m / n));
      expect(Math.max(...s)).toBeLessThan(1.21);
      expect(Math.min(...s)).toBeGreaterThan(0.68);
      // Close to the exact polar factor in direction (NS5 is not exact: loose).
      const p = scale(polarRef(g), Math.sqrt(m / n));
      const cos = flat(out).reduce((a, x, i) => a + x * flat(p)[i]!, 0) / (frob(out) * frob(p));
      expect(cos).toBeGreaterThan(0.97);
    }
    const g = rand(2, 8, 3);
    expectClose(flat(lmo("spectral", g, { normalized: false })), flat(scale(ns5(g), Math.sqrt(2))), 1e-12, 1e-14);
    expectClose(flat(lmo("spectral", g, { max: true })), flat(ns5(g)), 1e-12, 1e-14); // max(1, √(2/8)) = 1
    expectClose(flat(lmo("spectral", g, { nsSteps: 2 })), flat(scale(ns5(g, 2), 0.5)), 1e-12, 1e-14);
  });

  it("sign: entries exactly ±1/d_in (normalized) or ±1, 0 where g = 0", () => {
    const g = rand(3, 5, 4);
    g[1]![2] = 0;
    const out = flat(lmo("sign", g));
    out.forEach((x, i) => expect(x).toBe(i === 7 ? 0 : Math.sign(flat(g)[i]!) / 5));
    expect(flat(lmo("sign", g, { normalized: false }))).toEqual(flat(g).map((x) => Math.sign(x) + 0));
  });

  it("col_norm: every column has RMS 1 (÷ d_in if normalized); transpose gives each row norm √d", () => {
    const g = rand(4, 3, 5);
    const colRms = (a: Mat): number[] => a[0]!.map((_, j) => Math.sqrt(a.reduce((s, r) => s + r[j]! ** 2, 0) / a.length));
    colRms(lmo("col_norm", g, { normalized: false })).forEach((r) => expect(Math.abs(r - 1)).toBeLessThan(1e-7));
    colRms(lmo("col_norm", g, { normalized: true })).forEach((r) => expect(Math.abs(r - 1 / 3)).toBeLessThan(1e-7));
    // Exactly the formula, eps included.
    const want = g.map((r) => r.map((x, j) => x / (Math.sqrt(g.reduce((s, q) => s + q[j]! ** 2, 0) / 4) + 1e-8)));
    expectClose(flat(lmo("col_norm", g, { normalized: false })), flat(want), 1e-14, 0);
    const emb = rand(5, 3, 6); // [V, d]: transpose makes each token row have norm √d
    lmo("col_norm", emb, { normalized: false, transpose: true }).forEach((r) => expect(Math.abs(Math.hypot(...r) - Math.sqrt(3))).toBeLessThan(1e-7));
  });

  it("row_norm: every row has norm 1 (1/√d_in if normalized); bias_rms has RMS 1", () => {
    const g = rand(3, 4, 7);
    lmo("row_norm", g, { normalized: false }).forEach((r) => expect(Math.abs(Math.hypot(...r) - 1)).toBeLessThan(1e-7));
    lmo("row_norm", g).forEach((r) => expect(Math.abs(Math.hypot(...r) - 0.5)).toBeLessThan(1e-7));
    const cols = transpose(lmo("row_norm", g, { normalized: false, transpose: true }));
    cols.forEach((c) => expect(Math.abs(Math.hypot(...c) - 1)).toBeLessThan(1e-7));
    const b = noise(6, 8);
    const out = lmoDirection("bias_rms", f64(b), opts()).toArray();
    expect(Math.abs(Math.sqrt(out.reduce((s, x) => s + x * x, 0) / 6) - 1)).toBeLessThan(1e-7);
    expect(lmoDirection("auto", f64(b), opts()).toArray()).toEqual(out);
  });

  it("3-D experts are separate matrices", () => {
    const a = rand(3, 4, 11);
    const b = rand(3, 4, 12);
    const both = lmoDirection("spectral", f64([...flat(a), ...flat(b)], [2, 3, 4]), opts()).toArray();
    expectClose(both, [...flat(lmo("spectral", a)), ...flat(lmo("spectral", b))], 1e-12, 1e-14);
    const cn = lmoDirection("col_norm", f64([...flat(a), ...flat(b)], [2, 3, 4]), opts({ normalized: false })).toArray();
    expectClose(cn, [...flat(lmo("col_norm", a, { normalized: false })), ...flat(lmo("col_norm", b, { normalized: false }))], 1e-14, 0);
  });
});

/** Scion by hand in float64 with the sign LMO (normalized): exact arithmetic to compare against. */
function handScionSign(w0: Mat, grads: Mat[], o: { lr: number; beta: number; radius: number; unconstrained: boolean }): Mat {
  let w = w0;
  let d = w0.map((r) => r.map(() => 0));
  const dIn = w0[0]!.length;
  for (const g of grads) {
    d = o.beta > 0 ? d.map((r, i) => r.map((x, j) => x * o.beta + g[i]![j]! * (1 - o.beta))) : g;
    w = w.map((r, i) => r.map((x, j) => (o.unconstrained ? x : x * (1 - o.lr)) - o.lr * o.radius * (Math.sign(d[i]![j]!) / dIn)));
  }
  return w;
}

describe("Scion updates (float64)", () => {
  const gs = [0, 1, 2, 3, 4].map((t) => rand(3, 4, 40 + t));
  for (const unconstrained of [false, true]) {
    it(`sign LMO with momentum, ${unconstrained ? "unconstrained" : "constrained (Frank–Wolfe)"}: 5 steps by hand`, () => {
      const w0 = rand(3, 4, 39);
      const o: ScionOptions = { lr: 0.05, beta: 0.9, radius: 2, norm: "sign", unconstrained };
      const { params, state } = run(scion(o), [param("w", "lm_head", flat(w0), [3, 4])], gs.map((g) => ({ w: flat(g) })));
      expectClose(params[0]!.value, flat(handScionSign(w0, gs, { lr: 0.05, beta: 0.9, radius: 2, unconstrained })), 1e-13, 1e-15);
      // The momentum buffer is the EMA of the gradients.
      let d = gs[0]!.map((r) => r.map(() => 0));
      for (const g of gs) d = d.map((r, i) => r.map((x, j) => x * 0.9 + g[i]![j]! * 0.1));
      expectClose(slotsOf("scion", state, "w").momentum_buffer!, flat(d), 1e-13, 1e-16);
    });
  }

  it("spectral LMO, constrained, no momentum: W ← (1 − γ)W − γρ·NS5(g)·√(d_out/d_in)", () => {
    const w0 = rand(4, 2, 50);
    const g2 = [rand(4, 2, 51), rand(4, 2, 52)];
    let w = w0;
    for (const g of g2) w = w.map((r, i) => r.map((x, j) => x * (1 - 0.1) - 0.1 * 3 * Math.sqrt(2) * ns5(g)[i]![j]!));
    const { params, state } = run(scion({ lr: 0.1, radius: 3, norm: "spectral" }), [param("w", "mlp.up", flat(w0), [4, 2])], g2.map((g) => ({ w: flat(g) })));
    expectClose(params[0]!.value, flat(w), 1e-12, 1e-14);
    expect(Object.keys(slotsOf("scion", state, "w"))).toEqual([]);
  });

  it("T18: constrained Scion started inside the ball stays inside: ‖W_t‖ ≤ ρ·max‖lmo‖ (spectral and ℓ∞); unconstrained leaves it", () => {
    const radius = 0.5;
    const steps = 25;
    const gs2 = Array.from({ length: steps }, (_, t) => rand(3, 5, 60 + t).map((r) => r.map((x) => x + 0.3))); // a drift so the weights keep moving one way
    // Spectral ball: start at half the radius (times the LMO's scale √(3/5)).
    const w0 = scale(polarRef(rand(3, 5, 59)), 0.5 * radius * Math.sqrt(3 / 5));
    const bound = radius * Math.max(...gs2.map((g) => spectralNorm(lmo("spectral", g))));
    for (const unconstrained of [false, true]) {
      let params = [param("w", "attn.q", flat(w0), [3, 5])];
      const opt = scion({ lr: 0.2, radius, norm: "spectral", unconstrained });
      let state = opt.init(params);
      let worst = 0;
      for (const g of gs2) {
        const [u, s] = opt.update({ w: f64(flat(g), [3, 5]) }, state, params);
        params = params.map((p) => ({ ...p, value: p.value.add(u.w!) }));
        state = s;
        worst = Math.max(worst, spectralNorm(mat(params[0]!.value.toArray(), 3, 5)));
      }
      if (unconstrained) expect(worst).toBeGreaterThan(2 * bound);
      else expect(worst).toBeLessThanOrEqual(bound * (1 + 1e-12));
    }
    // ℓ∞ ball of the sign LMO: entries stay within ρ/d_in.
    const start = rand(3, 5, 58).map((r) => r.map((x) => (x * radius) / 5));
    const { params } = run(scion({ lr: 0.2, radius, norm: "sign" }), [param("w", "lm_head", flat(start), [3, 5])], gs2.map((g) => ({ w: flat(g) })));
    expect(Math.max(...params[0]!.value.toArray().map(Math.abs))).toBeLessThanOrEqual((radius / 5) * (1 + 1e-12));
  });

  it("defaults and bad input", () => {
    expect(SCION_DEFAULTS).toMatchObject({ lr: 1e-3, beta: 0, radius: 1, nsSteps: 5, unconstrained: false });
    expect(() => scion({ norm: "frobenius" })).toThrow(/scion: 'norm' must be one of "spectral", "col_norm"/);
    expect(() => scion({ norm: "sign", transpose: true })).toThrow(/transpose applies only to "col_norm" and "row_norm"/);
    expect(() => scion({ norm: "bias_rms", normalized: false })).toThrow(/"bias_rms" has no normalized form/);
    expect(() => scion({ momentum: 0.1 })).toThrow(/unknown hyperparameter 'momentum'/);
    expect(() => scion({ Norm: "sign" })).toThrow(/unknown hyperparameter 'Norm' \(did you mean 'norm'\?\)/);
    expect(() => scion({ norm: "spectral" }).init([param("b", "bias", [1, 2])])).toThrow(/scion: the 'spectral' LMO takes matrices .* 'b' has shape \[2\]/);
    // auto: spectral for matrices, bias_rms for vectors.
    const { params } = run(scion({ lr: 1, unconstrained: true }), [param("b", "bias", [0, 0])], [{ b: [3, -1] }]);
    expectClose(params[0]!.value, [-3 / (Math.sqrt(5) + 1e-8), 1 / (Math.sqrt(5) + 1e-8)]);
  });
});
