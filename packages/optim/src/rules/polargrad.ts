import { zeros, zerosLike, type Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { polarWithNu, type Coefficients, type InvSqrtMethod, type PolarImpl } from "../linalg/index.js";
import { initPerParam, slot, updateEach, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import type { Grads, Param, Transform, Updates } from "../transform.js";
import { checkLauSu, nuScale } from "./lau-su-momentum.js";
import { lerp } from "./lerp.js";
import { checkMatrixParam, pickCoefficients } from "./matrix-hyper.js";
import { pickChoices } from "./choice.js";

export interface PolarGradOptions {
  lr?: number;
  beta?: number;
  weightDecay?: number;
  /** ν^α; 0 gives Muon's direction with EMA momentum. */
  alpha?: number;
  /** Polar of the gradient first, then momentum of the polar factors. */
  polarFirst?: boolean;
  eps?: number;
  nsEps?: number;
  nsSteps?: number;
  impl?: PolarImpl;
  invsqrtMethod?: InvSqrtMethod;
  coefficients?: Coefficients;
  schedule?: ScheduleSpec | Schedule;
}

/** polar_grad.py's defaults (lr 0.02, β 0.95, wd 0, momentum-first) with α 1; QDWH is not available, so Gram NS (5 steps). */
export const POLARGRAD_DEFAULTS = { lr: 0.02, beta: 0.95, weightDecay: 0, alpha: 1, polarFirst: false, eps: 1e-8, nsEps: 1e-7, nsSteps: 5, schedule: { kind: "constant" } } as const;

/**
 * PolarGrad (OPTIMIZERS.md §4), with ν^α as Lau–Su generalise it:
 *   momentum-first: m ← lerp(m, g, 1−β); u = polar(m); ν = ‖m‖_*; step = max(ν,ε)^α·u
 *   polar-first:    u = polar(g); ν = ‖g‖_*; m ← lerp(m, u, 1−β); step = max(ν,ε)^α·m
 *   p ← p(1 − lr_t·wd) − lr_t·step
 * A 3-D stack shares one ν (summed over experts). The latest ν is kept in slot `nu`.
 */
export function polargrad(options: PolarGradOptions | Hyper = {}): Transform<PerParamState> {
  const [modes, rest0] = pickChoices("polargrad", options as Hyper, { impl: ["gramns", "invsqrt", "newton_schulz"], invsqrtMethod: ["polar_express", "newton_schulz"] } as const, { impl: "gramns", invsqrtMethod: "polar_express" });
  const [coefficients0, rest] = pickCoefficients("polargrad", rest0, "pe_safety_1.05");
  const h = readHyper("polargrad", rest, POLARGRAD_DEFAULTS);
  checkLauSu("polargrad", h);
  check("polargrad", h.eps >= 0 && h.nsEps >= 0, `eps and nsEps must be >= 0, got ${h.eps}, ${h.nsEps}`);
  check("polargrad", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  // newton_schulz without explicit coefficients uses Keller's, as polar_grad.py's method='ns' does.
  const coefficients = modes.impl === "newton_schulz" && (options as Hyper).coefficients === undefined ? "keller" : coefficients0;
  const polarOf = (x: Tensor) => {
    // invsqrt: the Gram on the small side, so it is nonsingular for full-rank x.
    const r = polarWithNu(x, { impl: modes.impl, left: x.shape[x.ndim - 2]! < x.shape[x.ndim - 1]!, steps: h.nsSteps, eps: h.eps, nsEps: h.nsEps, invsqrtMethod: modes.invsqrtMethod, coefficients });
    return { u: r.u, nu: r.nu.sum() };
  };
  const lrAt = (count: number): number => h.lr * h.schedule(count);

  return {
    name: "polargrad",
    init: (params) =>
      initPerParam("polargrad", params, (p): Slots => {
        checkMatrixParam("polargrad", p.path, p.value.shape);
        return { exp_avg: zerosLike(p.value), nu: zeros([], { dtype: "float32" }) };
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      return updateEach("polargrad", grads, state, params, (p, g, s) => {
        const old = slot("polargrad", s, p.path, "exp_avg");
        let m: Tensor;
        let step: Tensor;
        let nu: Tensor;
        if (h.polarFirst) {
          const r = polarOf(g);
          nu = r.nu;
          m = lerp(old, r.u, 1 - h.beta);
          step = m;
        } else {
          m = lerp(old, g, 1 - h.beta);
          const r = polarOf(m);
          nu = r.nu;
          step = r.u;
        }
        if (h.alpha !== 0) step = step.mul(nuScale(nu, h.eps, h.alpha));
        let u = step.mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        return [u, { exp_avg: m, nu: nu.cast("float32") }];
      });
    },
    learningRates: (state) => ({ polargrad: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
