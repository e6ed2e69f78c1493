import type { Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { centerRows, orient, polarWithNu, rowNormalize, unorient, nuclearScale } from "../linalg/index.js";
import type { PerParamState } from "../per-param.js";
import type { Transform } from "../transform.js";
import { lauSuRule, nuScale, type Direction } from "./lau-su-momentum.js";
import { pickCoefficients } from "./matrix-hyper.js";
import { pickChoices } from "./choice.js";
import { SPECTRAL_MODES, type SpectralOptions, type SpectralSettings } from "./spectral.js";

export interface HybridOptions extends SpectralOptions {
  order?: "row_then_polar" | "polar_then_row";
  /** Polar through the left Gram (routers). invsqrt only: Gram NS always iterates on the small Gram. */
  left?: boolean;
}

/** The scripts' defaults: row_then_polar, gramns, right Gram, α 1, β 0.95, ε 1e-8, wd 0; lr_muon-like 8e-4. */
export const HYBRID_DEFAULTS = { lr: 8e-4, beta: 0.95, weightDecay: 0, alpha: 1, eps: 1e-8, nsEps: 1e-7, nsSteps: 5, center: false, left: false, schedule: { kind: "constant" } } as const;

/**
 * §1.3d, with W = Π⊥? orient(m):
 *   row_then_polar: Wr = Π⊥? rownorm(W); u = polar(Wr); ν = Σ(Wr ⊙ u); U = max(ν,ε)^α·u
 *   polar_then_row: u = polar(W); ν = Σ(W ⊙ u); U = rownorm(max(ν,ε)^α·u)
 * then U ← Π⊥? U, unoriented. ν is summed over the experts of a 3-D stack (one scale per tensor).
 */
export function hybridDirection(m: Tensor, s: SpectralSettings & { order: "row_then_polar" | "polar_then_row" }): Direction {
  let W = orient(m, s.orientation);
  if (s.center) W = centerRows(W);
  const polarOf = (x: Tensor) => polarWithNu(x, { impl: s.impl, left: s.left, steps: s.nsSteps, eps: s.eps, nsEps: s.nsEps, invsqrtMethod: s.invsqrtMethod, coefficients: s.coefficients }).u;
  let U: Tensor;
  let nu: Tensor;
  if (s.order === "row_then_polar") {
    let Wr = rowNormalize(W, s.eps);
    if (s.center) Wr = centerRows(Wr);
    const u = polarOf(Wr);
    nu = nuclearScale(Wr, u).sum();
    U = s.alpha === 0 ? u : u.mul(nuScale(nu, s.eps, s.alpha));
  } else {
    const u = polarOf(W);
    nu = nuclearScale(W, u).sum();
    U = rowNormalize(s.alpha === 0 ? u : u.mul(nuScale(nu, s.eps, s.alpha)), s.eps);
  }
  if (s.center) U = centerRows(U);
  return { u: unorient(U, s.orientation, m.shape), nu };
}

/**
 * HybridPolarGradM (§1.3d): row normalisation and the polar factor composed. Equivariant under
 * unit permutations × O(n), not under a general left-orthogonal group.
 */
export function hybrid(options: HybridOptions | Hyper = {}): Transform<PerParamState> {
  const [modes, rest0] = pickChoices("hybrid", options as Hyper, { ...SPECTRAL_MODES, order: ["row_then_polar", "polar_then_row"] as const }, { orientation: "row", impl: "gramns", invsqrtMethod: "polar_express", order: "row_then_polar" });
  const [coefficients, rest] = pickCoefficients("hybrid", rest0, "pe_safety_1.05");
  const h = readHyper("hybrid", rest, HYBRID_DEFAULTS);
  check("hybrid", h.eps >= 0 && h.nsEps >= 0, `eps and nsEps must be >= 0, got ${h.eps}, ${h.nsEps}`);
  check("hybrid", Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  const s = { ...h, ...modes, coefficients };
  return lauSuRule("hybrid", h, true, (m) => hybridDirection(m, s));
}
