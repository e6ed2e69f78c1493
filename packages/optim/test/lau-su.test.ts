import { describe, expect, it } from "vitest";
import type { Tensor } from "@equigrad/tensor";
import { step } from "../src/apply.js";
import { stateFromRecord, stateToRecord } from "../src/state-record.js";
import { slotsOf, type PerParamState } from "../src/per-param.js";
import { hybrid } from "../src/rules/hybrid.js";
import { leftPolar } from "../src/rules/left-polar.js";
import { rightPolar } from "../src/rules/right-polar.js";
import { rownorm } from "../src/rules/rownorm.js";
import { rules } from "../src/rules/index.js";
import type { Param, Transform } from "../src/transform.js";
import { runOne } from "./helpers.js";
import * as R from "./reference-linalg.js";

const T = R.toTensor;
const M = R.toMat;

const run = (rule: Transform<PerParamState>, p0: Tensor, grads: Tensor[], meta?: unknown) => runOne(rule, p0, grads, "embed", meta);

/** The Lau–Su mechanics by hand (§1.2) around a reference direction F on plain matrices. */
function byHand(p0: R.Mat, grads: R.Mat[], o: { lr: number; beta: number; wd: number }, F: (m: R.Mat) => R.Mat) {
  let p = p0;
  let m = R.zerosMat(p0.length, p0[0]!.length);
  for (const g of grads) {
    m = R.add(R.scale(m, o.beta), R.scale(g, 1 - o.beta));
    p = R.scale(p, 1 - o.lr * o.wd);
    p = R.sub(p, R.scale(F(m), o.lr));
  }
  return { p, m };
}

/** ν^α·polar(X) with ν = Σσ, on the range of X (the SVD reference). */
const nuPolar = (x: R.Mat, alpha: number): R.Mat => R.scale(R.polar(x), R.nuclearNorm(x) ** alpha);

const lrs = { lr: 0.05, beta: 0.9, wd: 0.1 };
const hyper = { lr: lrs.lr, beta: lrs.beta, weightDecay: lrs.wd };

describe("rownorm: three steps against the formula by hand (float64)", () => {
  const p0 = R.randMat(10, 6, 1);
  const gs = [2, 3, 4].map((s) => R.randMat(10, 6, s));

  it("plain (embedding): p ← p(1 − lr·wd) − lr·rownorm(m), m the EMA of g; exp_avg is m", () => {
    const want = byHand(p0, gs, lrs, (m) => R.rownorm(m));
    const got = run(rownorm(hyper), T(p0), gs.map(T));
    expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-14);
    expect(R.maxAbsDiff(M(slotsOf("rownorm", got.state, "w").exp_avg!), want.m)).toBeLessThan(1e-15);
    expect(got.state.count).toBe(3);
  });

  it("centered (LM head): Π⊥ rownorm(Π⊥ m)", () => {
    const want = byHand(p0, gs, lrs, (m) => R.center(R.rownorm(R.center(m))));
    expect(R.maxAbsDiff(M(run(rownorm({ ...hyper, center: true }), T(p0), gs.map(T)).p), want.p)).toBeLessThan(1e-14);
  });

  it("col orientation (SwiGLU down): rownorm of mᵀ, transposed back; ε is the hyperparameter", () => {
    const want = byHand(p0, gs, lrs, (m) => R.transpose(R.rownorm(R.transpose(m), 0.3)));
    expect(R.maxAbsDiff(M(run(rownorm({ ...hyper, orientation: "col", eps: 0.3 }), T(p0), gs.map(T)).p), want.p)).toBeLessThan(1e-14);
  });

  it("gpt-oss pair layout on a 3-D expert stack normalises [gate_j, up_j] jointly per expert", () => {
    const [E, d, r] = [2, 3, 4];
    const g = R.stackTensor([R.randMat(d, 2 * r, 7), R.randMat(d, 2 * r, 8)]);
    const got = run(rownorm({ lr: 1, beta: 0, weightDecay: 0, orientation: "gpt_oss_gate_up_pair" }), R.stackTensor([R.zerosMat(d, 2 * r), R.zerosMat(d, 2 * r)]), [g]).p;
    const gm = R.toMats(g);
    const um = R.toMats(got);
    for (let e = 0; e < E; e++)
      for (let j = 0; j < r; j++) {
        const row = [...gm[e]!.map((x) => x[2 * j]!), ...gm[e]!.map((x) => x[2 * j + 1]!)];
        const n = Math.sqrt(row.reduce((s, x) => s + x * x, 0)) + 1e-8;
        const urow = [...um[e]!.map((x) => x[2 * j]!), ...um[e]!.map((x) => x[2 * j + 1]!)];
        urow.forEach((x, i) => expect(x).toBeCloseTo(-row[i]! / n, 14));
      }
  });
});

describe("right_polar, left_polar: against SVD polar and ν = Σσ", () => {
  const p0 = R.randMat(20, 8, 11); // tall V×d: the right Gram is the small side
  const gs = [12, 13].map((s) => R.randMat(20, 8, s));

  it("right, invsqrt and gramns, α = 1 and 0.5: ν^α·polar(m) step by step", () => {
    for (const impl of ["invsqrt", "gramns"] as const) {
      for (const alpha of [1, 0.5]) {
        const want = byHand(p0, gs, lrs, (m) => nuPolar(m, alpha));
        const got = run(rightPolar({ ...hyper, impl, alpha, nsSteps: 12, eps: 1e-14 }), T(p0), gs.map(T));
        expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-10);
        const nu = slotsOf("right_polar", got.state, "w").nu!;
        expect(nu.dtype).toBe("float32");
        expect(nu.shape).toEqual([]);
        expect(Math.abs(nu.item() - R.nuclearNorm(want.m)) / R.nuclearNorm(want.m)).toBeLessThan(1e-6);
      }
    }
  });

  it("right, centered: Π⊥[‖Π⊥m‖_*·polar(Π⊥m)]", () => {
    const want = byHand(p0, gs, lrs, (m) => R.center(nuPolar(R.center(m), 1)));
    expect(R.maxAbsDiff(M(run(rightPolar({ ...hyper, center: true, impl: "invsqrt", nsSteps: 12, eps: 1e-14 }), T(p0), gs.map(T)).p), want.p)).toBeLessThan(1e-10);
  });

  it("left (router defaults: centered, invsqrt) on a wide E×d matrix", () => {
    const r0 = R.randMat(6, 16, 21);
    const rg = [22, 23].map((s) => R.randMat(6, 16, s));
    const want = byHand(r0, rg, lrs, (m) => R.center(nuPolar(R.center(m), 1)));
    const got = run(leftPolar({ ...hyper, nsSteps: 12, eps: 1e-12 }), T(r0), rg.map(T));
    expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-8);
  });

  it("left, uncentered at the defaults (5 Polar Express steps, ε = 1e-8) is within 0.2 of the exact step", () => {
    const r0 = R.randMat(6, 16, 21);
    const g = R.randMat(6, 16, 22);
    const want = byHand(r0, [g], { ...lrs, lr: 1 }, (m) => nuPolar(m, 1));
    const got = run(leftPolar({ ...hyper, lr: 1, center: false }), T(r0), [T(g)]);
    const rel = R.frob(R.sub(M(got.p), want.p)) / R.frob(R.sub(want.p, R.scale(r0, 1 - lrs.wd)));
    expect(rel).toBeLessThan(0.2);
  });

  it("T5: left and right agree on full-rank square and rank-deficient M (invsqrt, ε damped), ν too", () => {
    const one = (rule: Transform<PerParamState>, g: R.Mat) => run(rule, T(R.zerosMat(g.length, g[0]!.length)), [T(g)]);
    const h1 = { lr: 1, beta: 0, weightDecay: 0, impl: "invsqrt", nsSteps: 10, eps: 1e-12, center: false };
    for (const g of [R.randMat(9, 9, 31), R.matmul(R.randMat(9, 3, 32), R.randMat(3, 14, 33))]) {
      const l = one(leftPolar(h1), g);
      const r = one(rightPolar(h1), g);
      expect(R.maxAbsDiff(M(l.p), M(r.p))).toBeLessThan(1e-7 * R.nuclearNorm(g));
      expect(R.maxAbsDiff(M(l.p), R.scale(nuPolar(g, 1), -1))).toBeLessThan(1e-7 * R.nuclearNorm(g));
      const nl = slotsOf("left_polar", l.state, "w").nu!.item();
      const nr = slotsOf("right_polar", r.state, "w").nu!.item();
      expect(Math.abs(nl - nr) / nr).toBeLessThan(1e-6);
    }
  });

  it("3-D expert stacks: polar per expert, one ν summed over experts", () => {
    const A = R.randMat(10, 4, 41);
    const B = R.randMat(10, 4, 42, 3);
    const got = run(rightPolar({ lr: 1, beta: 0, weightDecay: 0, impl: "invsqrt", nsSteps: 12, eps: 1e-14 }), R.stackTensor([R.zerosMat(10, 4), R.zerosMat(10, 4)]), [R.stackTensor([A, B])]);
    const nu = R.nuclearNorm(A) + R.nuclearNorm(B);
    const out = R.toMats(got.p);
    expect(R.maxAbsDiff(out[0]!, R.scale(R.polar(A), -nu))).toBeLessThan(1e-9);
    expect(R.maxAbsDiff(out[1]!, R.scale(R.polar(B), -nu))).toBeLessThan(1e-9);
  });
});

describe("hybrid", () => {
  const p0 = R.randMat(12, 7, 51);
  const gs = [52, 53].map((s) => R.randMat(12, 7, s));

  it("row_then_polar (gramns and invsqrt): ‖rownorm(m)‖_*·polar(rownorm(m)); ν kept", () => {
    for (const impl of ["gramns", "invsqrt"] as const) {
      const want = byHand(p0, gs, lrs, (m) => nuPolar(R.rownorm(m, 1e-14), 1));
      const got = run(hybrid({ ...hyper, impl, nsSteps: 12, eps: 1e-14 }), T(p0), gs.map(T));
      expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-10);
      expect(slotsOf("hybrid", got.state, "w").nu!.item()).toBeCloseTo(R.nuclearNorm(R.rownorm(want.m, 1e-14)), 4);
    }
  });

  it("polar_then_row: rownorm(ν·polar(m)) (ν cancels inside rownorm)", () => {
    const want = byHand(p0, gs, lrs, (m) => R.rownorm(R.polar(m), 1e-14));
    expect(R.maxAbsDiff(M(run(hybrid({ ...hyper, order: "polar_then_row", nsSteps: 12, eps: 1e-14 }), T(p0), gs.map(T)).p), want.p)).toBeLessThan(1e-10);
  });

  it("router form (left Gram, centered): Π⊥[ν·polar(Π⊥ rownorm(Π⊥m))]", () => {
    const r0 = R.randMat(5, 12, 54);
    const rg = [55, 56].map((s) => R.randMat(5, 12, s));
    const want = byHand(r0, rg, lrs, (m) => {
      const wr = R.center(R.rownorm(R.center(m), 1e-12));
      return R.center(nuPolar(wr, 1));
    });
    const got = run(hybrid({ ...hyper, left: true, center: true, impl: "invsqrt", nsSteps: 12, eps: 1e-12 }), T(r0), rg.map(T));
    expect(R.maxAbsDiff(M(got.p), want.p)).toBeLessThan(1e-8);
  });

  it("T4: rank-1 M = a·bᵀ: row_then_polar with α = 1 returns rownorm(M) exactly", () => {
    const g = R.outer(R.randMat(1, 9, 57)[0]!, R.randMat(1, 6, 58)[0]!);
    for (const impl of ["gramns", "invsqrt"] as const) {
      const got = run(hybrid({ lr: 1, beta: 0, weightDecay: 0, impl, nsSteps: 12, eps: 1e-14 }), T(R.zerosMat(9, 6)), [T(g)]).p;
      // invsqrt: the right Gram of a rank-1 matrix is singular; ε = 1e-14 damping leaves ≈ 3e-8 (observed).
      expect(R.maxAbsDiff(M(got), R.scale(R.rownorm(g, 1e-14), -1))).toBeLessThan(impl === "gramns" ? 1e-10 : 1e-7);
    }
  });

  it("3-D: ν is one scalar summed over the experts", () => {
    const A = R.randMat(6, 4, 61);
    const B = R.randMat(6, 4, 62);
    const got = run(hybrid({ lr: 1, beta: 0, weightDecay: 0, nsSteps: 12, eps: 1e-14 }), R.stackTensor([R.zerosMat(6, 4), R.zerosMat(6, 4)]), [R.stackTensor([A, B])]);
    const nu = R.nuclearNorm(R.rownorm(A, 1e-14)) + R.nuclearNorm(R.rownorm(B, 1e-14));
    const out = R.toMats(got.p);
    expect(R.maxAbsDiff(out[0]!, R.scale(R.polar(R.rownorm(A, 1e-14)), -nu))).toBeLessThan(1e-10);
    expect(R.maxAbsDiff(out[1]!, R.scale(R.polar(R.rownorm(B, 1e-14)), -nu))).toBeLessThan(1e-10);
  });
});

describe("hyperparameters and registry", () => {
  it("every rule is registered with ranks [2, 3] and reports its lr (scheduled)", () => {
    for (const name of ["rownorm", "right_polar", "left_polar", "hybrid", "muon", "polargrad"]) {
      const spec = rules.get(name);
      expect(spec?.ranks).toEqual([2, 3]);
      const t = spec!.create({ lr: 0.3, schedule: { kind: "constant" } }, { label: name, params: [] });
      expect(t.learningRates!(t.init([]))).toEqual({ [name]: 0.3 });
    }
  });

  it("bad hyperparameters fail naming the problem", () => {
    expect(() => rownorm({ weight_decay: 0.1 })).toThrow(/unknown hyperparameter 'weight_decay' \(did you mean 'weightDecay'\?\)/);
    expect(() => rownorm({ orientation: "rows" })).toThrow(/'orientation' must be one of "row", "col"/);
    expect(() => rightPolar({ impl: "qdwh" })).toThrow(/'impl' must be one of "gramns", "invsqrt"/);
    expect(() => hybrid({ order: "row" })).toThrow(/'order' must be one of "row_then_polar", "polar_then_row"/);
    expect(() => hybrid({ coefficients: [[1, 2]] })).toThrow(/'coefficients' must be/);
    expect(() => rownorm({ beta: 1 })).toThrow(/beta must be in \[0, 1\)/);
    expect(() => rightPolar({ nsSteps: 0 })).toThrow(/nsSteps must be a positive integer/);
    expect(() => rownorm().init([{ path: "b", role: "bias", value: T([[1]]).reshape([1]) }])).toThrow(/'b' has shape \[1\].*adamw/);
  });
});

describe("in the training loop", () => {
  it("float32 parameters: in-place `step` keeps dtypes and shapes, ν is a 0-d float32 slot, and state survives a record round trip", () => {
    for (const name of ["rownorm", "right_polar", "left_polar", "hybrid", "muon", "polargrad"]) {
      const rule = rules.get(name)!.create({ lr: 0.01 }, { label: name, params: [] });
      const params: Param[] = [{ path: "a.weight", role: "embed", value: T(R.randMat(6, 10, 71)).cast("float32") }, { path: "e.weight", role: "moe.expert.up", value: R.stackTensor([R.randMat(4, 6, 72), R.randMat(4, 6, 73)]).cast("float32") }];
      let state = rule.init(params);
      for (const seed of [74, 75, 76]) {
        const grads = { "a.weight": T(R.randMat(6, 10, seed)).cast("float32"), "e.weight": R.stackTensor([R.randMat(4, 6, seed + 10), R.randMat(4, 6, seed + 20)]).cast("float32") };
        state = step(rule, params, grads, state).state;
      }
      expect(params.every((p) => p.value.dtype === "float32" && p.value.toArray().every(Number.isFinite))).toBe(true);
      const rec = stateToRecord(state);
      expect(rec.count).toBe(3);
      if (name !== "rownorm" && name !== "muon") {
        const nu = rec["a.weight/nu"] as Tensor;
        expect(nu.shape).toEqual([]);
        expect(nu.dtype).toBe("float32");
        expect(nu.item()).toBeGreaterThan(0);
      }
      const back = stateToRecord(stateFromRecord(rule, params, rec));
      for (const [k, v] of Object.entries(rec)) expect(typeof v === "number" ? back[k] : (back[k] as Tensor).toArray()).toEqual(typeof v === "number" ? v : v.toArray());
    }
  });
});
