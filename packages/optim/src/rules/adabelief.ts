import { zerosLike, type Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { initPerParam, slot, updateEach, type PerParamState } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";

export interface AdaBeliefOptions {
  lr?: number;
  betas?: readonly [number, number];
  /** Added into the state every step and to the denominator (1e-16 for Transformers, 1e-8 for CNNs). */
  eps?: number;
  weightDecay?: number;
  /** weight_decouple: p ← p(1 − lr·wd) (true) or L2 added to the gradient (false). */
  decoupled?: boolean;
  /** With decoupled decay: p ← p(1 − wd), not scaled by lr. */
  fixedDecay?: boolean;
  /** RAdam-style rectification of the early steps. */
  rectify?: boolean;
  /** While the variance is not yet tractable (ρ_t < 5): an SGD-with-momentum step (true) or none. */
  degeneratedToSgd?: boolean;
  amsgrad?: boolean;
  schedule?: ScheduleSpec | Schedule;
}

/** adabelief_pytorch 0.2.1's defaults. */
export const ADABELIEF_DEFAULTS = {
  lr: 1e-3, betas: [0.9, 0.999], eps: 1e-16, weightDecay: 0, decoupled: true, fixedDecay: false, rectify: true, degeneratedToSgd: true, amsgrad: false,
  schedule: { kind: "constant" },
} as const;

/**
 * AdaBelief (Zhuang et al. 2020, OPTIMIZERS.md §9.3) as adabelief_pytorch 0.2.1, step t = count + 1:
 *   decay:  p ← p(1 − lr_t·wd)  (fixedDecay: p(1 − wd); not decoupled: g ← g + wd·p)
 *   m ← β1·m + (1 − β1)·g
 *   s ← β2·s + (1 − β2)·(g − m)² + ε       the UPDATED m; ε goes into the state every step
 *   amsgrad: s_max ← max(s_max, s), used in place of s below
 *   plain:     p ← p − (lr_t/(1 − β1^t))·m / (√s/√(1 − β2^t) + ε)
 *   rectified: ρ∞ = 2/(1 − β2) − 1, ρ_t = ρ∞ − 2tβ2^t/(1 − β2^t);
 *              ρ_t ≥ 5: p ← p − lr_t·r_t·m/(√s + ε), r_t = √((1−β2^t)(ρ_t−4)(ρ_t−2)ρ∞/((ρ∞−4)(ρ∞−2)ρ_t))/(1−β1^t)
 *              else p ← p − lr_t·m/(1 − β1^t) with degeneratedToSgd, no step without it.
 * The rectified branch reads s itself (not s_max), as the reference code does.
 */
export function adabelief(options: AdaBeliefOptions | Hyper = {}): Transform<PerParamState> {
  const h = readHyper("adabelief", options as Hyper, ADABELIEF_DEFAULTS);
  const [b1, b2] = h.betas as [number, number];
  check("adabelief", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("adabelief", h.eps >= 0, `eps must be >= 0, got ${h.eps}`);
  check("adabelief", b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, `betas must be in [0, 1), got [${b1}, ${b2}]`);
  check("adabelief", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("adabelief", h.decoupled || !h.fixedDecay, "fixedDecay applies only to decoupled decay; set decoupled: true or fixedDecay: false");
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  const rhoInf = 2 / (1 - b2) - 1;

  return {
    name: "adabelief",
    init: (params) =>
      initPerParam("adabelief", params, (p) => {
        const s: Record<string, Tensor> = { exp_avg: zerosLike(p.value), exp_avg_var: zerosLike(p.value) };
        if (h.amsgrad) s.max_exp_avg_var = zerosLike(p.value);
        return s;
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const t = state.count + 1;
      const lr = lrAt(state.count);
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      // The step's form is the same for every parameter: host scalars in float64.
      const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
      const rectified = h.rectify && rhoT >= 5;
      const r = rectified ? Math.sqrt((bc2 * (rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) / bc1 : 0;
      const decay = h.weightDecay === 0 || !h.decoupled ? 0 : h.fixedDecay ? h.weightDecay : lr * h.weightDecay;
      return updateEach("adabelief", grads, state, params, (p, g0, s) => {
        const g = !h.decoupled && h.weightDecay !== 0 ? g0.add(p.value.mul(h.weightDecay)) : g0;
        const m = slot("adabelief", s, p.path, "exp_avg").mul(b1).add(g.mul(1 - b1));
        const res = g.sub(m);
        const v = slot("adabelief", s, p.path, "exp_avg_var").mul(b2).add(res.mul(res).mul(1 - b2)).add(h.eps);
        const next: Record<string, Tensor> = { exp_avg: m, exp_avg_var: v };
        let vDen = v;
        if (h.amsgrad) vDen = next.max_exp_avg_var = slot("adabelief", s, p.path, "max_exp_avg_var").maximum(v);
        let u: Tensor;
        if (!h.rectify) u = m.div(vDen.sqrt().div(Math.sqrt(bc2)).add(h.eps)).mul(-lr / bc1);
        else if (rectified) u = m.div(v.sqrt().add(h.eps)).mul(-lr * r);
        else u = h.degeneratedToSgd ? m.mul(-lr / bc1) : zerosLike(m);
        if (decay !== 0) u = p.value.mul(-decay).add(u);
        return [u, next];
      });
    },
    learningRates: (state) => ({ adabelief: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
