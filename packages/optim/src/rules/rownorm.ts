import type { Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { centerRows, orient, ORIENTATIONS, rowNormalize, unorient, type Orientation } from "../linalg/index.js";
import type { PerParamState } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Transform } from "../transform.js";
import { lauSuRule } from "./lau-su-momentum.js";
import { pickChoices } from "./choice.js";

export interface RowNormOptions {
  lr?: number;
  /** EMA momentum. */
  beta?: number;
  weightDecay?: number;
  /** In rownorm's denominator ‖W_i‖₂ + ε. */
  eps?: number;
  /** Π⊥ before and after (LM heads, routers: the shared logit shift). */
  center?: boolean;
  orientation?: Orientation;
  schedule?: ScheduleSpec | Schedule;
}

/** Lau–Su builder defaults (routing.py: lr_embed 1e-3, β 0.95, wd 0 for embeddings/heads/routers, ε 1e-8). */
export const ROWNORM_DEFAULTS = { lr: 1e-3, beta: 0.95, weightDecay: 0, eps: 1e-8, center: false, schedule: { kind: "constant" } } as const;

/** U = unorient(Π⊥? rownorm(Π⊥? orient(m))): RowNormM and its centered form (§1.3a). */
export function rowNormDirection(m: Tensor, o: { orientation: Orientation; center: boolean; eps: number }): Tensor {
  let W = orient(m, o.orientation);
  if (o.center) W = centerRows(W);
  let U = rowNormalize(W, o.eps);
  if (o.center) U = centerRows(U);
  return unorient(U, o.orientation, m.shape);
}

/**
 * Lau–Su RowNormM (OPTIMIZERS.md §1.3a): every unit (row after `orientation`) moves by lr in ℓ2.
 * Equivariant under unit permutations × O(n) on the right; with `center`, also invariant under the
 * shared shift W → W + 1cᵀ and its update has zero column sums.
 */
export function rownorm(options: RowNormOptions | Hyper = {}): Transform<PerParamState> {
  const [modes, rest] = pickChoices("rownorm", options as Hyper, { orientation: ORIENTATIONS }, { orientation: "row" });
  const h = readHyper("rownorm", rest, ROWNORM_DEFAULTS);
  check("rownorm", h.eps >= 0, `eps must be >= 0, got ${h.eps}`);
  const o = { orientation: modes.orientation, center: h.center, eps: h.eps };
  return lauSuRule("rownorm", h, false, (m) => ({ u: rowNormDirection(m, o) }));
}
