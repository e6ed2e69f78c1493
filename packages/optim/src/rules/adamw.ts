import { adamwUpdate, lerp, zerosLike, type Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { initPerParam, slot, updateEach, type PerParamState } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  /** Multiplies lr (and so the decoupled decay) per step. */
  schedule?: ScheduleSpec | Schedule;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, schedule: { kind: "constant" } } as const;

/**
 * AdamW exactly as torch.optim.AdamW (single-tensor path), step t = count + 1:
 *   p ← p·(1 − lr_t·wd)                        decoupled decay, scaled by the scheduled lr
 *   m ← lerp(m, g, 1 − β1);  v ← β2·v + (1 − β2)·g²
 *   v_max ← max(v_max, v)                       amsgrad only: the max of raw v, as torch keeps it
 *   p ← p − (lr_t / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * Scalars (bias corrections, lr) are computed on the host in float64, as torch does.
 */
export function adamw(options: AdamWOptions | Hyper = {}): Transform<PerParamState> {
  const h = readHyper("adamw", options as Hyper, ADAMW_DEFAULTS);
  const [b1, b2] = h.betas as [number, number];
  check("adamw", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("adamw", h.eps >= 0, `eps must be >= 0, got ${h.eps}`);
  check("adamw", b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, `betas must be in [0, 1), got [${b1}, ${b2}]`);
  check("adamw", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  const lrAt = (count: number): number => h.lr * h.schedule(count);

  return {
    name: "adamw",
    init: (params) =>
      initPerParam("adamw", params, (p) => {
        const s: Record<string, Tensor> = { exp_avg: zerosLike(p.value), exp_avg_sq: zerosLike(p.value) };
        if (h.amsgrad) s.max_exp_avg_sq = zerosLike(p.value);
        return s;
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const t = state.count + 1;
      const lr = lrAt(state.count);
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      return updateEach("adamw", grads, state, params, (p, g, s) => {
        const [m0, v0] = [slot("adamw", s, p.path, "exp_avg"), slot("adamw", s, p.path, "exp_avg_sq")];
        let u: Tensor;
        const next: Record<string, Tensor> = {};
        if (!h.amsgrad) {
          // One fused pass (a kernel where the backend has one; the same ops otherwise).
          const r = adamwUpdate(p.value, g, m0, v0, { beta1: b1, beta2: b2, eps: h.eps, stepSize, bc2Sqrt, decay: lr * h.weightDecay });
          [next.exp_avg, next.exp_avg_sq, u] = [r.m, r.v, r.update];
        } else {
          const m = (next.exp_avg = lerp(m0, g, 1 - b1));
          const v = (next.exp_avg_sq = v0.mul(b2).add(g.mul(1 - b2).mul(g)));
          const vDen = (next.max_exp_avg_sq = slot("adamw", s, p.path, "max_exp_avg_sq").maximum(v));
          u = m.div(vDen.sqrt().div(bc2Sqrt).add(h.eps)).mul(-stepSize);
          if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        }
        return [u, next];
      });
    },
    learningRates: (state) => ({ adamw: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
