import { zerosLike } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { initPerParam, nextPerParam, slot, slotsOf, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import { byPath, gradOf, type Grads, type Param, type Transform, type Updates } from "../transform.js";
import { pickChoices } from "./choice.js";
import { LMO_NAMES, LMO_NORMALIZED_DEFAULT, lmoDirection, type LmoName, type LmoOptions } from "./lmo.js";

export interface ScionOptions {
  lr?: number;
  /**
   * EMA momentum d ← β·d + (1 − β)·g; 0 (the default) uses g itself. scion.py's `momentum`
   * argument is 1 − β: its recommended momentum=0.1 is beta 0.9.
   */
  beta?: number;
  /** The ball radius ρ (scion.py's group `scale`). */
  radius?: number;
  norm?: LmoName;
  /** Default per norm as scion.py: spectral true, col_norm false, row_norm true, sign true. */
  normalized?: boolean;
  transpose?: boolean;
  max?: boolean;
  nsSteps?: number;
  /** uScion: W ← W − γ·ρ·lmo(d), no Frank–Wolfe contraction. */
  unconstrained?: boolean;
  schedule?: ScheduleSpec | Schedule;
}

/** scion.py's class defaults (norm 'Auto', momentum 1.0 = none, scale 1, constrained). */
export const SCION_DEFAULTS = { lr: 1e-3, beta: 0, radius: 1, transpose: false, max: false, nsSteps: 5, unconstrained: false, schedule: { kind: "constant" } } as const;

/**
 * Scion (Pethick et al. 2025, OPTIMIZERS.md §3): a step along the LMO of a norm ball of radius ρ.
 *   d ← β·d + (1 − β)·g                     (beta > 0 only)
 *   u = ρ·lmoDirection(d)
 *   constrained:   W ← (1 − γ)·W − γ·u        Frank–Wolfe: a convex combination, so W started in
 *                                             the ball stays there (the decay rate is the lr γ)
 *   unconstrained: W ← W − γ·u
 * γ = lr·schedule(t). Starting parameters inside the ball (scion.py's `init`) is the model's job.
 */
export function scion(options: ScionOptions | Hyper = {}): Transform<PerParamState> {
  const [{ norm }, rest0] = pickChoices("scion", options as Hyper, { norm: LMO_NAMES }, { norm: "auto" });
  const { normalized: givenNormalized, ...rest } = rest0 as Record<string, unknown>;
  const h = readHyper("scion", rest, SCION_DEFAULTS);
  check("scion", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("scion", h.beta >= 0 && h.beta < 1, `beta must be in [0, 1), got ${h.beta}`);
  check("scion", h.radius > 0, `radius must be > 0, got ${h.radius}`);
  check("scion", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  check("scion", givenNormalized === undefined || typeof givenNormalized === "boolean", `'normalized' must be a boolean, got ${JSON.stringify(givenNormalized)}`);
  check("scion", !h.transpose || norm === "col_norm" || norm === "row_norm", `transpose applies only to "col_norm" and "row_norm", not "${norm}"`);
  check("scion", !h.max || norm === "spectral" || norm === "auto", `max applies only to "spectral", not "${norm}"`);
  check("scion", givenNormalized === undefined || norm !== "bias_rms", `"bias_rms" has no normalized form; drop 'normalized'`);
  const normalizedFor = (n: LmoName): boolean => (givenNormalized as boolean | undefined) ?? (n === "auto" || n === "bias_rms" ? true : LMO_NORMALIZED_DEFAULT[n]);
  const lmo: LmoOptions = { normalized: normalizedFor(norm), transpose: h.transpose, max: h.max, nsSteps: h.nsSteps };
  const lrAt = (count: number): number => h.lr * h.schedule(count);

  return {
    name: "scion",
    init: (params) =>
      initPerParam("scion", params, (p): Slots => {
        const rank = p.value.ndim;
        if (norm !== "bias_rms" && norm !== "auto" && (rank < 2 || rank > 3)) {
          throw new Error(`scion: the '${norm}' LMO takes matrices [d_out, d_in] or experts [E, d_out, d_in], but '${p.path}' has shape [${p.value.shape.join(", ")}]; give vectors "bias_rms" or "auto"`);
        }
        if (norm === "auto" && rank > 3) throw new Error(`scion: 'auto' takes ranks 0–3, but '${p.path}' has shape [${p.value.shape.join(", ")}]`);
        return h.beta > 0 ? { momentum_buffer: zerosLike(p.value) } : {};
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      const updates: Updates = {};
      const slots: Record<string, Slots> = {};
      for (const p of byPath(params).values()) {
        let d = gradOf(grads, p.path, "scion");
        if (h.beta > 0) {
          d = slot("scion", slotsOf("scion", state, p.path), p.path, "momentum_buffer").mul(h.beta).add(d.mul(1 - h.beta));
          slots[p.path] = { momentum_buffer: d };
        } else slots[p.path] = {};
        let u = lmoDirection(norm, d, lmo).mul(-lr * h.radius);
        if (!h.unconstrained) u = p.value.mul(-lr).add(u);
        updates[p.path] = u;
      }
      return [updates, nextPerParam(state, slots)];
    },
    learningRates: (state) => ({ scion: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
