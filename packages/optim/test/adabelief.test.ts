import { describe, expect, it } from "vitest";
import { ADABELIEF_DEFAULTS, adabelief, slotsOf, type AdaBeliefOptions } from "@equigrad/optim";
import { expectClose, param } from "./helpers.js";
import { noise, run } from "./extra-run.js";

interface Hand { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean; fixedDecay: boolean; rectify: boolean; sgd: boolean; amsgrad: boolean; oldM?: boolean }

/** adabelief_pytorch 0.2.1 by hand in float64, one coordinate at a time. `oldM` is a wrong variant (negative control). */
function handAdaBelief(p0: number[], grads: number[][], o: Hand) {
  const p = [...p0];
  const m = p.map(() => 0);
  const s = p.map(() => 0);
  const smax = p.map(() => 0);
  const rhoInf = 2 / (1 - o.b2) - 1;
  grads.forEach((g0, k) => {
    const t = k + 1;
    const bc1 = 1 - o.b1 ** t;
    const bc2 = 1 - o.b2 ** t;
    const rhoT = rhoInf - (2 * t * o.b2 ** t) / bc2;
    for (let i = 0; i < p.length; i++) {
      let g = g0[i]!;
      if (o.decoupled) p[i] = p[i]! * (1 - (o.fixedDecay ? o.wd : o.lr * o.wd));
      else g += o.wd * p[i]!;
      const mOld = m[i]!;
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g;
      const r = g - (o.oldM ? mOld : m[i]!);
      s[i] = o.b2 * s[i]! + (1 - o.b2) * r * r + o.eps;
      smax[i] = Math.max(smax[i]!, s[i]!);
      const sd = o.amsgrad ? smax[i]! : s[i]!;
      if (!o.rectify) p[i] = p[i]! - (o.lr / bc1) * (m[i]! / (Math.sqrt(sd) / Math.sqrt(bc2) + o.eps));
      else if (rhoT >= 5) {
        const step = Math.sqrt((bc2 * (rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) / bc1;
        p[i] = p[i]! - o.lr * step * (m[i]! / (Math.sqrt(s[i]!) + o.eps));
      } else if (o.sgd) p[i] = p[i]! - (o.lr * m[i]!) / bc1;
    }
  });
  return { p, m, s, smax };
}

const base: Hand = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-16, wd: 0, decoupled: true, fixedDecay: false, rectify: true, sgd: true, amsgrad: false };
const grads = (n: number, steps: number): number[][] => Array.from({ length: steps }, (_, t) => noise(n, 100 + t));

describe("adabelief against the formula by hand (float64)", () => {
  // β2 = 0.9: ρ∞ = 19 and ρ_t = 1, 1.95, 2.86, 3.74, 4.58, 5.39, … so steps 1–5 take the SGD (or no) step and 6–8 the adaptive one.
  const cases: [string, AdaBeliefOptions, Partial<Hand>, number][] = [
    ["defaults (rectified: ρ_t ≈ t, so SGD steps 1–5, adaptive 6–8)", { lr: 0.01 }, {}, 8],
    ["rectified with β2 = 0.9 (SGD branch, then adaptive)", { lr: 0.01, betas: [0.9, 0.9], weightDecay: 0.1 }, { b2: 0.9, wd: 0.1 }, 8],
    ["rectified without the SGD fallback", { lr: 0.01, betas: [0.9, 0.9], degeneratedToSgd: false }, { b2: 0.9, sgd: false }, 8],
    ["not rectified, eps 1e-8, decoupled decay", { lr: 0.01, rectify: false, eps: 1e-8, weightDecay: 0.2 }, { rectify: false, eps: 1e-8, wd: 0.2 }, 6],
    ["not rectified, fixed decay", { lr: 0.01, rectify: false, weightDecay: 0.05, fixedDecay: true }, { rectify: false, wd: 0.05, fixedDecay: true }, 6],
    ["not rectified, L2 decay into the gradient", { lr: 0.01, rectify: false, weightDecay: 0.05, decoupled: false }, { rectify: false, wd: 0.05, decoupled: false }, 6],
    ["not rectified, amsgrad", { lr: 0.01, rectify: false, amsgrad: true, betas: [0.5, 0.9] }, { rectify: false, amsgrad: true, b1: 0.5, b2: 0.9 }, 6],
  ];
  for (const [name, opts, o, steps] of cases) {
    it(name, () => {
      const p0 = noise(6, 7);
      const gs = grads(6, steps);
      const want = handAdaBelief(p0, gs, { ...base, ...o });
      const { params, state } = run(adabelief(opts), [param("w", "mlp.up", p0, [2, 3])], gs.map((g) => ({ w: g })));
      expectClose(params[0]!.value, want.p, 1e-12, 1e-15);
      const s = slotsOf("adabelief", state, "w");
      expectClose(s.exp_avg!, want.m);
      expectClose(s.exp_avg_var!, want.s);
      if (o.amsgrad) expectClose(s.max_exp_avg_var!, want.smax);
      // The parameter moved (a test of a frozen rule would pass the hand formula only by luck).
      expect(params[0]!.value.toArray().some((x, i) => x !== p0[i])).toBe(true);
    });
  }

  it("T23: with constant g and β1 = 0 the belief is 0, so s = ε·Σβ2^k ≈ ε·t", () => {
    const eps = 1e-8;
    const g = [0.7, -2, 3];
    const { state } = run(adabelief({ lr: 0.01, betas: [0, 0.999], eps }), [param("w", "bias", [0, 0, 0])], [1, 2, 3, 4, 5].map(() => ({ w: g })));
    const want = eps * ((1 - 0.999 ** 5) / (1 - 0.999));
    expectClose(slotsOf("adabelief", state, "w").exp_avg_var!, [want, want, want], 1e-12, 0);
    expect(Math.abs(want / (eps * 5) - 1)).toBeLessThan(3e-3);
  });

  it("T23: (g − m) uses the updated m (negative control: the old m gives another s and trajectory)", () => {
    const g = [0.7, -2, 3];
    const gs = [1, 2, 3, 4].map(() => g);
    const o: Hand = { ...base, rectify: false, eps: 1e-8 };
    const { params, state } = run(adabelief({ lr: 0.01, rectify: false, eps: 1e-8 }), [param("w", "bias", [0, 0, 0])], gs.map((x) => ({ w: x })));
    const right = handAdaBelief([0, 0, 0], gs, o);
    const wrong = handAdaBelief([0, 0, 0], gs, { ...o, oldM: true });
    expectClose(slotsOf("adabelief", state, "w").exp_avg_var!, right.s);
    expectClose(params[0]!.value, right.p);
    // Constant g: the residual is β1^t·g, so s is far below what the old m (residual β1^(t−1)·g) gives.
    expect(() => expectClose(slotsOf("adabelief", state, "w").exp_avg_var!, wrong.s, 1e-3)).toThrow();
  });

  it("defaults and bad input", () => {
    expect(ADABELIEF_DEFAULTS).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-16, weightDecay: 0, decoupled: true, fixedDecay: false, rectify: true, degeneratedToSgd: true });
    expect(() => adabelief({ eps: -1 })).toThrow(/adabelief: eps must be >= 0/);
    expect(() => adabelief({ decoupled: false, fixedDecay: true })).toThrow(/fixedDecay applies only to decoupled decay/);
    expect(() => adabelief({ rectified: true })).toThrow(/unknown hyperparameter 'rectified'/);
  });
});

describe("adabelief rectification switch", () => {
  it("without the SGD fallback nothing moves until ρ_t ≥ 5 (step 6 for β2 = 0.9), then it does", () => {
    const p0 = noise(3, 9);
    const gs = grads(3, 6);
    const { updates } = run(adabelief({ lr: 0.01, betas: [0.9, 0.9], degeneratedToSgd: false }), [param("w", "bias", p0)], gs.map((g) => ({ w: g })));
    for (let k = 0; k < 5; k++) expect(updates[k]!.w).toEqual([0, 0, 0]);
    expect(updates[5]!.w!.every((u) => u !== 0)).toBe(true);
  });
});
