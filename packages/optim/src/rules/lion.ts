import { zerosLike } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { initPerParam, slot, updateEach, type PerParamState } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";

export interface LionOptions {
  lr?: number;
  /** β1 interpolates the update direction, β2 tracks the momentum. */
  betas?: readonly [number, number];
  weightDecay?: number;
  schedule?: ScheduleSpec | Schedule;
}

/** google/automl lion_pytorch.py defaults. */
export const LION_DEFAULTS = { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0, schedule: { kind: "constant" } } as const;

/**
 * Lion (Chen et al. 2023, OPTIMIZERS.md §9.2), as lion_pytorch.py:
 *   p ← p·(1 − lr_t·wd)
 *   c = β1·m + (1 − β1)·g;   p ← p − lr_t·sign(c)
 *   m ← β2·m + (1 − β2)·g
 * Every entry of the step has magnitude lr_t exactly (0 where c = 0). One state tensor.
 */
export function lion(options: LionOptions | Hyper = {}): Transform<PerParamState> {
  const h = readHyper("lion", options as Hyper, LION_DEFAULTS);
  const [b1, b2] = h.betas as [number, number];
  check("lion", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("lion", b1 >= 0 && b1 <= 1 && b2 >= 0 && b2 < 1, `betas must be in [0, 1] × [0, 1), got [${b1}, ${b2}]`);
  check("lion", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  const lrAt = (count: number): number => h.lr * h.schedule(count);

  return {
    name: "lion",
    init: (params) => initPerParam("lion", params, (p) => ({ exp_avg: zerosLike(p.value) })),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach("lion", grads, state, params, (p, g, s) => {
        const m = slot("lion", s, p.path, "exp_avg");
        let u = m.mul(b1).add(g.mul(1 - b1)).sign().mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        return [u, { exp_avg: m.mul(b2).add(g.mul(1 - b2)) }];
      });
    },
    learningRates: (state) => ({ lion: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
