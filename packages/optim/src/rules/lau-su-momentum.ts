import { zeros, zerosLike, type Tensor } from "@equigrad/tensor";
import { check } from "../hyper.js";
import { initPerParam, slot, updateEach, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";
import { checkMatrixParam } from "./matrix-hyper.js";

/** A rule's direction U = F(m) and, for ν-scaled rules, the 0-d ν it used. */
export interface Direction {
  readonly u: Tensor;
  readonly nu?: Tensor;
}

/** The scalars every Lau–Su rule shares. */
export interface LauSuScalars {
  readonly lr: number;
  readonly beta: number;
  readonly weightDecay: number;
  readonly schedule: Schedule;
}

/** Checks the shared scalars, naming the rule. */
export function checkLauSu(rule: string, h: LauSuScalars): void {
  check(rule, h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check(rule, h.beta >= 0 && h.beta < 1, `beta must be in [0, 1), got ${h.beta}`);
  check(rule, h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
}

/**
 * The mechanics every Lau–Su optimizer shares (OPTIMIZERS.md §1.2), around a direction F:
 *   m ← β·m + (1−β)·g            EMA momentum from 0, no bias correction, no Nesterov
 *   p ← p·(1 − lr_t·wd)          decoupled decay, before the step
 *   p ← p − lr_t·F(m)
 * so the update is −lr_t·wd·p − lr_t·F(m). State per parameter: `exp_avg`, and `nu` (0-d float32,
 * the latest ν, for logging) when `hasNu`.
 */
export function lauSuRule(rule: string, h: LauSuScalars, hasNu: boolean, direction: (m: Tensor, p: Param) => Direction): Transform<PerParamState> {
  checkLauSu(rule, h);
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  return {
    name: rule,
    init: (params) =>
      initPerParam(rule, params, (p): Slots => {
        checkMatrixParam(rule, p.path, p.value.shape);
        return hasNu ? { exp_avg: zerosLike(p.value), nu: zeros([], { dtype: "float32" }) } : { exp_avg: zerosLike(p.value) };
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach(rule, grads, state, params, (p, g, s) => {
        const m = slot(rule, s, p.path, "exp_avg").mul(h.beta).add(g.mul(1 - h.beta));
        const d = direction(m, p);
        let u = d.u.mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        const next: Slots = hasNu ? { exp_avg: m, nu: (d.nu ?? zeros([], { dtype: "float32" })).cast("float32") } : { exp_avg: m };
        return [u, next];
      });
    },
    learningRates: (state) => ({ [rule]: lrAt(Math.max(state.count - 1, 0)) }),
  };
}

/** max(ν, ε)^α as a 0-d tensor (the shared step scale of the ν-scaled rules). */
export const nuScale = (nu: Tensor, eps: number, alpha: number): Tensor => nu.maximum(eps).pow(alpha);
