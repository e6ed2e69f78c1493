import { zerosLike } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { initPerParam, slot, updateEach, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";

export interface SgdOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  /** Coupled L2 (added to the gradient), as torch.optim.SGD does. */
  weightDecay?: number;
  nesterov?: boolean;
  schedule?: ScheduleSpec | Schedule;
}

/** torch.optim.SGD's defaults. */
export const SGD_DEFAULTS = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, schedule: { kind: "constant" } } as const;

/**
 * SGD as torch.optim.SGD:
 *   d ← g + wd·p
 *   b ← d on the first step, else μ·b + (1 − dampening)·d      (momentum only)
 *   d ← d + μ·b with Nesterov, else b
 *   p ← p − lr_t·d
 * Without momentum the state holds only the step count.
 */
export function sgd(options: SgdOptions | Hyper = {}): Transform<PerParamState> {
  const h = readHyper("sgd", options as Hyper, SGD_DEFAULTS);
  check("sgd", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("sgd", h.momentum >= 0, `momentum must be >= 0, got ${h.momentum}`);
  check("sgd", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("sgd", !h.nesterov || (h.momentum > 0 && h.dampening === 0), "nesterov needs momentum > 0 and dampening 0");
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  const mu = h.momentum;

  return {
    name: "sgd",
    init: (params) => initPerParam("sgd", params, (p): Slots => (mu !== 0 ? { momentum_buffer: zerosLike(p.value) } : {})),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach("sgd", grads, state, params, (p, g, s) => {
        let d = h.weightDecay !== 0 ? g.add(p.value.mul(h.weightDecay)) : g;
        if (mu === 0) return [d.mul(-lr), {}];
        // torch starts the buffer as a copy of the first direction, undamped.
        const old = slot("sgd", s, p.path, "momentum_buffer");
        const b = state.count === 0 ? d : old.mul(mu).add(d.mul(1 - h.dampening));
        d = h.nesterov ? d.add(b.mul(mu)) : b;
        return [d.mul(-lr), { momentum_buffer: b }];
      });
    },
    learningRates: (state) => ({ sgd: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
