import type { Hyper } from "../hyper.js";
import type { PerParamState } from "../per-param.js";
import type { Transform } from "../transform.js";
import { lauSuRule } from "./lau-su-momentum.js";
import { readSpectral, spectralDirection, type SpectralOptions, type SpectralSettings } from "./spectral.js";

/** Defaults for routers (§1.4–1.5): invsqrt, centered, lr_router 5e-4, β 0.95, α 1, ε 1e-8, wd 0. */
export const LEFT_POLAR_DEFAULTS = { lr: 5e-4, impl: "invsqrt", center: true } as const;

/**
 * LeftPolarGradM, the (centered) left-spectral update for routers (§1.3c):
 * Π⊥[ν^α (Π⊥m (Π⊥m)ᵀ + εI)^{-1/2} Π⊥m], the Gram on the small (row, E ≤ d) side.
 * `center: false` is the "left_uncentered" ablation.
 */
export function leftPolar(options: SpectralOptions | Hyper = {}): Transform<PerParamState> {
  const { h, modes, coefficients } = readSpectral("left_polar", options as Hyper, LEFT_POLAR_DEFAULTS);
  const s: SpectralSettings = { ...h, ...modes, coefficients, left: true };
  return lauSuRule("left_polar", h, true, (m) => spectralDirection(m, s));
}
