import { describe, expect, it } from "vitest";
import type { Tensor } from "@equigrad/tensor";
import { applyUpdates } from "../src/apply.js";
import { resolveCoefficients, type Coefficients } from "../src/linalg/index.js";
import { slotsOf, type PerParamState } from "../src/per-param.js";
import { schedule } from "../src/schedules.js";
import { muon, type MuonOptions } from "../src/rules/muon.js";
import type { Param, Transform } from "../src/transform.js";
import { runOne } from "./helpers.js";
import * as R from "./reference-linalg.js";

const T = R.toTensor;
const M = R.toMat;

/** NS by its scalar map on the SVD: U φ(Σ/(f·‖X‖_F + ε)) Vᵀ, with the set's pre-normalisation. */
function refNS(x: R.Mat, c: Coefficients = "polar_express", steps = 5): R.Mat {
  const tr = resolveCoefficients(c, steps, x.length, x[0]!.length);
  const [f, eps] = c === "polar_express" ? [1.02, 1e-6] : [1, 1e-7];
  const d = f * R.frob(x) + eps;
  return R.spectralMap(x, (s) => R.nsScalar(tr, s / d), 0);
}

const run = (rule: Transform<PerParamState>, p0: Tensor, grads: Tensor[], meta?: unknown) => runOne(rule, p0, grads, "attn.q", meta);

const p0 = R.randMat(20, 8, 1); // tall: Keller's scale is √(20/8)
const gs = [2, 3, 4].map((s) => R.randMat(20, 8, s));
const o = { lr: 0.05, wd: 0.1, mu: 0.9 };

/** Muon by hand: momentum form, Nesterov, scale, decay with the unscaled lr. */
function byHand(form: "sgd" | "ema", nesterov: boolean, dir: (v: R.Mat) => R.Mat) {
  let p = p0;
  let b = R.zerosMat(20, 8);
  for (const g of gs) {
    b = form === "sgd" ? R.add(R.scale(b, o.mu), g) : R.add(R.scale(b, o.mu), R.scale(g, 1 - o.mu));
    const v = !nesterov ? b : form === "sgd" ? R.add(g, R.scale(b, o.mu)) : R.add(R.scale(g, 1 - o.mu), R.scale(b, o.mu));
    p = R.sub(R.scale(p, 1 - o.lr * o.wd), R.scale(dir(v), o.lr));
  }
  return { p, b };
}

describe("muon: three steps against the formula by hand (float64, NS by its scalar map on the SVD)", () => {
  const base: MuonOptions = { lr: o.lr, weightDecay: o.wd, momentum: o.mu };
  const cases: [string, MuonOptions, "sgd" | "ema", boolean, (v: R.Mat) => R.Mat][] = [
    ["defaults: SGD momentum + Nesterov, Polar Express, Keller scale √(rows/cols)", {}, "sgd", true, (v) => R.scale(refNS(v), Math.sqrt(20 / 8))],
    ["no Nesterov", { nesterov: false }, "sgd", false, (v) => R.scale(refNS(v), Math.sqrt(20 / 8))],
    ["torch.optim.Muon semantics: EMA (lerp) momentum and Nesterov, Keller's coefficients", { ema: true, coefficients: "keller" }, "ema", true, (v) => R.scale(refNS(v, "keller"), Math.sqrt(20 / 8))],
    ["Moonshot scale 0.2·√max(rows, cols)", { scale: "moonshot", coefficients: "keller" }, "sgd", true, (v) => R.scale(refNS(v, "keller"), 0.2 * Math.sqrt(20))],
    ["no scale, 7 steps of a user list", { scale: "none", coefficients: [[3, -3.2, 1.2], [2, -1.5, 0.5]], nsSteps: 7 }, "sgd", true, (v) => refNS(v, [[3, -3.2, 1.2], [2, -1.5, 0.5]], 7)],
  ];
  for (const [name, opts, form, nesterov, dir] of cases) {
    it(name, () => {
      const want = byHand(form, nesterov, dir);
      const got = run(muon({ ...base, ...opts }), T(p0), gs.map(T));
      expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-12);
      expect(R.maxAbsDiff(M(slotsOf("muon", got.state, "w").momentum_buffer!), want.b)).toBeLessThan(1e-14);
    });
  }
});

describe("T17: update-size conventions (converged polar: 12 steps of the safety-1.05 list)", () => {
  const one = (opts: MuonOptions, g: R.Mat) => R.scale(M(run(muon({ lr: 1, momentum: 0, nesterov: false, coefficients: "pe_safety_1.05", nsSteps: 12, ...opts }), T(R.zerosMat(g.length, g[0]!.length)), [T(g)]).p), -1);
  it("Moonshot: RMS(0.2·√max(A,B)·polar(M)) = 0.2 for wide and tall", () => {
    for (const g of [R.randMat(16, 40, 5), R.randMat(40, 16, 6)]) {
      const u = one({ scale: "moonshot" }, g);
      expect(Math.sqrt(u.flat().reduce((s, x) => s + x * x, 0) / (16 * 40))).toBeCloseTo(0.2, 10);
    }
  });
  it("Keller: spectral norm √max(1, A/B) (1 for wide, √2.5 for 40×16)", () => {
    expect(R.spectralNorm(one({}, R.randMat(16, 40, 7)))).toBeCloseTo(1, 10);
    expect(R.spectralNorm(one({}, R.randMat(40, 16, 8)))).toBeCloseTo(Math.sqrt(2.5), 10);
  });
});

describe("muon: per head, per expert, gate/up halves", () => {
  const one = (opts: MuonOptions, g: Tensor, meta?: unknown) => run(muon({ lr: 1, momentum: 0, nesterov: false, ...opts }), g.mul(0), [g], meta).p.mul(-1);

  it("q/k/v [H·hd, d]: each head block [hd, d] orthogonalized on its own (scale 1: wide)", () => {
    const [H, hd, d] = [3, 4, 10];
    const g = R.randMat(H * hd, d, 11);
    const got = M(one({}, T(g), { heads: { heads: H, headDim: hd, kind: "k" } }));
    for (let h = 0; h < H; h++) expect(R.maxAbsDiff(got.slice(h * hd, (h + 1) * hd), refNS(g.slice(h * hd, (h + 1) * hd)))).toBeLessThan(1e-13);
    // Negative control: the whole matrix differs.
    expect(R.maxAbsDiff(M(one({ perHead: false }, T(g), { heads: { heads: H, headDim: hd, kind: "k" } })), got)).toBeGreaterThan(1e-2);
  });

  it("o [d, H·hd]: each head block [d, hd] (tall: scale √(d/hd))", () => {
    const [H, hd, d] = [3, 4, 10];
    const g = R.randMat(d, H * hd, 12);
    const got = M(one({}, T(g), { heads: { heads: H, headDim: hd, kind: "o" } }));
    for (let h = 0; h < H; h++) {
      const block = (x: R.Mat) => x.map((r) => r.slice(h * hd, (h + 1) * hd));
      expect(R.maxAbsDiff(block(got), R.scale(refNS(block(g)), Math.sqrt(d / hd)))).toBeLessThan(1e-13);
    }
  });

  it("3-D [E, r, c]: one NS per expert, each with its own norm", () => {
    const A = R.randMat(6, 4, 13);
    const B = R.randMat(6, 4, 14, 50);
    const got = R.toMats(one({}, R.stackTensor([A, B])));
    expect(R.maxAbsDiff(got[0]!, R.scale(refNS(A), Math.sqrt(6 / 4)))).toBeLessThan(1e-13);
    expect(R.maxAbsDiff(got[1]!, R.scale(refNS(B), Math.sqrt(6 / 4)))).toBeLessThan(1e-13);
  });

  it("gpt-oss [E, d, 2r]: gate = columns 0::2 and up = 1::2 orthogonalized apart; OLMoE [E, 2r, d]: rows :r and r:", () => {
    const [d, r] = [8, 3];
    const X = R.randMat(d, 2 * r, 15);
    const gpt = R.toMats(one({ orientation: "gpt_oss_gate_up_pair" }, R.stackTensor([X])))[0]!;
    const cols = (x: R.Mat, k: number) => x.map((row) => row.filter((_, j) => j % 2 === k));
    for (const k of [0, 1]) expect(R.maxAbsDiff(cols(gpt, k), R.scale(refNS(cols(X, k)), Math.sqrt(d / r)))).toBeLessThan(1e-13);
    const Y = R.randMat(2 * r, d, 16);
    const ol = R.toMats(one({ orientation: "olmoe_gate_up_pair" }, R.stackTensor([Y])))[0]!;
    expect(R.maxAbsDiff(ol.slice(0, r), refNS(Y.slice(0, r)))).toBeLessThan(1e-13);
    expect(R.maxAbsDiff(ol.slice(r), refNS(Y.slice(r)))).toBeLessThan(1e-13);
  });

  it("bad layouts and hyperparameters fail naming the problem", () => {
    expect(() => muon().init([{ path: "q", role: "attn.q", value: T(R.zerosMat(12, 10)), meta: { heads: { heads: 5, headDim: 4, kind: "q" } } }])).toThrow(/heads·headDim = 5·4 = 20 rows/);
    expect(() => muon().init([{ path: "q", role: "attn.q", value: T(R.zerosMat(12, 10)), meta: { heads: { heads: 3, kind: "q" } } }])).toThrow(/meta.heads must be/);
    expect(() => muon({ scale: "rms" })).toThrow(/'scale' must be one of "keller", "moonshot", "none"/);
    expect(() => muon({ momentum: 1 })).toThrow(/momentum must be in \[0, 1\)/);
    expect(() => muon({ ns_steps: 3 })).toThrow(/did you mean 'nsSteps'/);
    expect(() => muon({ orientation: "gpt_oss_gate_up_pair" }).update({ w: T(R.zerosMat(4, 5)) }, muon().init([{ path: "w", role: "x", value: T(R.zerosMat(4, 5)) }]), [{ path: "w", role: "x", value: T(R.zerosMat(4, 5)) }])).toThrow(/odd column count/);
  });

  it("the scheduled lr multiplies both the step and the decay; learningRates reports the latest one", () => {
    const spec = { kind: "wsd", totalSteps: 4, warmupSteps: 0, decayFraction: 0.5 } as const;
    const mult = schedule(spec);
    const rule = muon({ lr: 0.1, weightDecay: 0.5, schedule: spec, scale: "none" });
    const g = R.randMat(4, 6, 17);
    const w = R.randMat(4, 6, 18);
    let params: Param[] = [{ path: "w", role: "x", value: T(w) }];
    let state = rule.init(params);
    let p = w;
    let b = R.zerosMat(4, 6);
    for (let k = 0; k < 4; k++) {
      const [u, s] = rule.update({ w: T(g) }, state, params);
      params = applyUpdates(params, u);
      state = s;
      const lr = 0.1 * mult(k);
      b = R.add(R.scale(b, 0.95), g);
      p = R.sub(R.scale(p, 1 - lr * 0.5), R.scale(refNS(R.add(g, R.scale(b, 0.95))), lr));
      expect(rule.learningRates!(state)).toEqual({ muon: lr });
    }
    expect(R.maxAbsDiff(M(params[0]!.value), p)).toBeLessThan(1e-13);
    expect(new Set([0, 1, 2, 3].map(mult)).size).toBeGreaterThan(1); // the schedule really varies
  });
});
