import type { Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { frobenius, polar, type PolarImpl } from "../linalg/index.js";
import { initPerParam, nextPerParam, type PerParamState, type Slots } from "../per-param.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import { byPath, gradOf, type Grads, type Param, type Transform, type Updates } from "../transform.js";
import { pickChoices } from "./choice.js";

export const SWAN_IMPLS = ["invsqrt", "newton_schulz", "gramns"] as const;

export interface SwanOptions {
  lr?: number;
  /** Decoupled: W ← W(1 − lr·wd). */
  weightDecay?: number;
  /** Added to each row's standard deviation (a constant row then maps to 0, not NaN). */
  eps?: number;
  /** ΔW ← (‖G̃‖_F/‖ΔW‖_F)·ΔW. */
  rescale?: boolean;
  /**
   * Whitening: "invsqrt" forms (G̃G̃ᵀ + εI)^{-1/2}G̃ with the coupled Newton–Schulz inverse square
   * root, the paper's formula; "newton_schulz" / "gramns" take the polar factor by the odd polynomial.
   */
  impl?: (typeof SWAN_IMPLS)[number];
  nsSteps?: number;
  schedule?: ScheduleSpec | Schedule;
}

/** Not confirmed by the paper's text (OPTIMIZERS.md §12 item 5): NS steps, rescale and lr are our choice. */
export const SWAN_DEFAULTS = { lr: 1e-3, weightDecay: 0, eps: 1e-8, rescale: false, nsSteps: 10, schedule: { kind: "constant" } } as const;

/** GradNorm: each row minus its mean, divided by its standard deviation (population, over the n input columns) + ε. */
export function gradNorm(g: Tensor, eps: number): Tensor {
  const centred = g.sub(g.mean(-1, true));
  return centred.div(centred.square().mean(-1, true).sqrt().add(eps));
}

/**
 * SWAN (Ma et al., ICML 2025, OPTIMIZERS.md §9.4): stateless, from the raw gradient of each matrix.
 *   G̃ = GradNorm(G)                       row standardisation over the input columns
 *   ΔW = (G̃G̃ᵀ)^{-1/2} G̃ ≡ polar(G̃)        GradWhitening
 *   rescale: ΔW ← (‖G̃‖_F/‖ΔW‖_F)·ΔW
 *   W ← W(1 − lr·wd) − lr·ΔW
 * Matrices [out, in] (rows = output neurons); experts [E, out, in] per slice. Equivariant under
 * row permutations and under right-orthogonal maps that preserve the all-ones vector.
 */
export function swan(options: SwanOptions | Hyper = {}): Transform<PerParamState> {
  const [{ impl }, rest] = pickChoices("swan", options as Hyper, { impl: SWAN_IMPLS }, { impl: "invsqrt" });
  const h = readHyper("swan", rest, SWAN_DEFAULTS);
  check("swan", h.lr >= 0, `lr must be >= 0, got ${h.lr}`);
  check("swan", h.weightDecay >= 0, `weightDecay must be >= 0, got ${h.weightDecay}`);
  check("swan", h.eps >= 0, `eps must be >= 0, got ${h.eps}`);
  check("swan", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  const lrAt = (count: number): number => h.lr * h.schedule(count);
  const whiten = (x: Tensor): Tensor =>
    impl === "invsqrt"
      ? // The small-side Gram: (G̃G̃ᵀ)^{-1/2}G̃ for wide G̃, G̃(G̃ᵀG̃)^{-1/2} for tall (equal in exact arithmetic).
        polar(x, { impl: "invsqrt", left: x.shape[x.ndim - 2]! <= x.shape[x.ndim - 1]!, invsqrtMethod: "newton_schulz", steps: h.nsSteps })
      : polar(x, { impl: impl as PolarImpl, steps: h.nsSteps });

  return {
    name: "swan",
    init: (params) =>
      initPerParam("swan", params, (p): Slots => {
        const r = p.value.ndim;
        if (r !== 2 && r !== 3) throw new Error(`swan: takes matrices [out, in] or experts [E, out, in], but '${p.path}' has shape [${p.value.shape.join(", ")}]; give it another rule (adamw)`);
        return {};
      }),
    update(grads: Grads, state: PerParamState, params: readonly Param[]): [Updates, PerParamState] {
      const lr = lrAt(state.count);
      const updates: Updates = {};
      const slots: Record<string, Slots> = {};
      for (const p of byPath(params).values()) {
        const gt = gradNorm(gradOf(grads, p.path, "swan"), h.eps);
        let dw = whiten(gt);
        if (h.rescale) dw = dw.mul(frobenius(gt).div(frobenius(dw)));
        let u = dw.mul(-lr);
        if (h.weightDecay !== 0) u = p.value.mul(-lr * h.weightDecay).add(u);
        updates[p.path] = u;
        slots[p.path] = {};
      }
      return [updates, nextPerParam(state, slots)];
    },
    learningRates: (state) => ({ swan: lrAt(Math.max(state.count - 1, 0)) }),
  };
}
