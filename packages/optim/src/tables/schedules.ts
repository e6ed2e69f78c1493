import type { ScheduleSpec } from "../schedules.js";

/**
 * The reference runs' per-role schedules (OPTIMIZERS.md §1.9), over a run of `totalSteps`:
 * every matrix role (and the AdamW embedding/head baselines) is constant with no warmup, then
 * decays linearly to 0 over the last 40% (multiplier min(1, (1 − t/T)/0.4));
 * `other` (1-D AdamW) is a cosine to 0 at T after a linear warmup.
 */
export type RoleSchedule = "matrix" | "other";

/** Warmup of the `other` role: the reference's 100 steps, but at most a tenth of a short run. */
export const otherWarmup = (totalSteps: number): number => Math.min(100, Math.floor(totalSteps / 10));

export function roleSchedule(kind: RoleSchedule, totalSteps: number): ScheduleSpec {
  if (kind === "matrix") return { kind: "wsd", totalSteps, warmupSteps: 0, decayFraction: 0.4, floor: 0 };
  return { kind: "cosine", totalSteps, warmupSteps: otherWarmup(totalSteps), floor: 0 };
}
