import { describe, expect, it } from "vitest";
import { LANTON_DEFAULTS, lanton, partition, slotsOf } from "@equigrad/optim";
import { newtonSchulz } from "../src/linalg/index.js";
import { expectClose, f64, param } from "./helpers.js";
import { mat, noise, run } from "./extra-run.js";
import { singularValues } from "./svd-reference-extra.js";

/** The reconstruction with the sign LMO (dual norm ℓ1) by hand, for a group of layers. */
function handSign(w0: number[][], grads: number[][][], o: { lr: number; b1: number; b2: number; eps: number; kappa: number; wd: number }) {
  const w = w0.map((x) => [...x]);
  const b = w0.map((x) => x.map(() => 0));
  const H = w0.map(() => 0);
  const ratios: number[][] = [];
  for (const g of grads) {
    w0.forEach((_, l) => {
      b[l] = b[l]!.map((x, i) => x * o.b1 + g[l]![i]! * (1 - o.b1));
      const dual = g[l]!.reduce((a, x, i) => a + Math.abs(x - b[l]![i]!), 0);
      H[l] = H[l]! * o.b2 + dual * dual * (1 - o.b2);
    });
    const loud = Math.max(...H);
    const r = H.map((x) => Math.min(Math.max(Math.sqrt(loud / (x + o.eps)), 1), o.kappa));
    w0.forEach((_, l) => {
      w[l] = w[l]!.map((x, i) => x * (1 - o.lr * o.wd) - o.lr * r[l]! * Math.sign(b[l]![i]!));
    });
    ratios.push(r);
  }
  return { w, b, H, ratios };
}

const ack = { acknowledgeReconstruction: true };

describe("LANTON (labelled reconstruction, float64)", () => {
  it("refuses to run unless the reconstruction is acknowledged, saying why", () => {
    expect(() => lanton()).toThrow(/lanton: this rule is a reconstruction, not the paper's Algorithm 1.*Set acknowledgeReconstruction: true/);
    expect(() => partition([{ match: { roles: ["mlp.up"] }, rule: "lanton" }], [param("w", "mlp.up", [1, 2, 3, 4], [2, 2])])).toThrow(/acknowledgeReconstruction/);
    expect(LANTON_DEFAULTS.acknowledgeReconstruction).toBe(false);
  });

  it("sign LMO: 4 steps for a quiet and a noisy layer match the formula by hand; the quiet one gets the larger lr", () => {
    const o = { lr: 0.01, b1: 0.9, b2: 0.9, eps: 1e-8, kappa: 5, wd: 0.1 };
    const w0 = [noise(6, 1), noise(4, 2)];
    // Layer 0: the same gradient every step (low noise); layer 1: a fresh random one (high noise).
    const g0 = noise(6, 3);
    const gs = [0, 1, 2, 3].map((t) => [g0.map((x) => x + 0.01 * Math.sin(t + x)), noise(4, 10 + t).map((x) => 3 * x)]);
    const want = handSign(w0, gs, o);
    const { params, state } = run(
      lanton({ ...ack, lmo: "sign", lr: o.lr, betas: [o.b1, o.b2], maxRatio: o.kappa, weightDecay: o.wd }),
      [param("a", "embed", w0[0]!, [2, 3]), param("b", "lm_head", w0[1]!, [2, 2])],
      gs.map((g) => ({ a: g[0]!, b: g[1]! })),
    );
    expectClose(params[0]!.value, want.w[0]!, 1e-13, 1e-16);
    expectClose(params[1]!.value, want.w[1]!, 1e-13, 1e-16);
    const sa = slotsOf("lanton", state, "a");
    const sb = slotsOf("lanton", state, "b");
    expectClose(sa.noise!, [want.H[0]!], 1e-13, 0);
    expectClose(sb.noise!, [want.H[1]!], 1e-13, 0);
    expectClose(sa.lr_ratio!, [want.ratios[3]![0]!], 1e-13, 0);
    // The noisy layer is the reference (ratio 1); the quiet one is boosted, capped at κ.
    expect(sb.lr_ratio!.item()).toBe(1);
    expect(sa.lr_ratio!.item()).toBeGreaterThan(1);
    expect(sa.lr_ratio!.item()).toBeLessThanOrEqual(5);
  });

  it("negative control: layers with equal noise get equal ratios of 1 — plain D-Muon, NS5·0.2√max(m, n)", () => {
    const g = noise(12, 30);
    const perm = [...g].reverse(); // the same multiset of entries: same ℓ1 noise for the sign LMO
    const r = run(lanton({ ...ack, lmo: "sign", lr: 0.1 }), [param("a", "mlp.up", new Array(12).fill(0), [3, 4]), param("b", "mlp.up", new Array(12).fill(0), [3, 4])], [{ a: g, b: perm }]);
    expect(slotsOf("lanton", r.state, "a").lr_ratio!.item()).toBe(1);
    expect(slotsOf("lanton", r.state, "b").lr_ratio!.item()).toBe(1);
    expectClose(r.updates[0]!.a!, g.map((x) => -0.1 * Math.sign(x)), 0, 0);
  });

  it("spectral: the dual norm is ≈ the nuclear norm (SVD); ratios in [1, κ]; update = −η·r·NS5(B)·0.2√max(m, n)", () => {
    const gA = noise(12, 40);
    const gB = noise(12, 41).map((x) => 10 * x);
    const { state, updates } = run(lanton({ ...ack, lr: 0.1, betas: [0.9, 0.5], maxRatio: 3 }), [param("a", "attn.q", new Array(12).fill(0), [3, 4]), param("b", "attn.k", new Array(12).fill(0), [3, 4])], [{ a: gA, b: gB }]);
    // Step 1: B = 0.1·G, D = 0.9·G, H = 0.5·‖D‖_*².
    const nuc = (g: number[]) => singularValues(mat(g.map((x) => 0.9 * x), 3, 4)).reduce((a, s) => a + s, 0);
    const Ha = slotsOf("lanton", state, "a").noise!.item();
    expect(Math.abs(Math.sqrt(Ha / 0.5) / nuc(gA) - 1)).toBeLessThan(0.1);
    // B is 10× louder: √(H_b/H_a) ≈ 10, capped at κ = 3.
    expect(slotsOf("lanton", state, "a").lr_ratio!.item()).toBe(3);
    expect(slotsOf("lanton", state, "b").lr_ratio!.item()).toBe(1);
    const sb = singularValues(mat(updates[0]!.b!, 3, 4)).map((s) => s / (0.1 * 0.2 * 2));
    for (const s of sb) {
      expect(s).toBeGreaterThan(0.68);
      expect(s).toBeLessThan(1.21);
    }
    const sa = singularValues(mat(updates[0]!.a!, 3, 4)).map((s) => s / (3 * 0.1 * 0.2 * 2));
    for (const s of sa) {
      expect(s).toBeGreaterThan(0.68);
      expect(s).toBeLessThan(1.21);
    }
    // Exactly the D-Muon direction of B = 0.1·G, scaled by −η·r.
    expectClose(updates[0]!.a!, newtonSchulz(f64(gA.map((x) => 0.1 * x), [3, 4]), { coefficients: "keller", steps: 5 }).mul(-0.1 * 3 * 0.4).toArray(), 1e-13, 1e-16);
    expectClose(updates[0]!.b!, newtonSchulz(f64(gB.map((x) => 0.1 * x), [3, 4]), { coefficients: "keller", steps: 5 }).mul(-0.1 * 0.4).toArray(), 1e-13, 1e-16);
  });

  it("bad input", () => {
    expect(() => lanton({ ...ack, lmo: "rownorm" })).toThrow(/lanton: 'lmo' must be one of "spectral", "sign"/);
    expect(() => lanton({ ...ack, maxRatio: 0.5 })).toThrow(/maxRatio must be >= 1/);
    expect(() => lanton(ack).init([param("b", "bias", [1, 2])])).toThrow(/lanton: the spectral LMO takes matrices/);
  });
});
