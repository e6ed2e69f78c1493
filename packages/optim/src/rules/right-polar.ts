import type { Hyper } from "../hyper.js";
import type { PerParamState } from "../per-param.js";
import type { Transform } from "../transform.js";
import { lauSuRule } from "./lau-su-momentum.js";
import { readSpectral, spectralDirection, type SpectralOptions, type SpectralSettings } from "./spectral.js";

/** Defaults: the Lau–Su scripts' (`--right_optimizer_impl gramns`, β 0.95, α 1, ε 1e-8, 5 steps, ns ε 1e-7, wd 0). */
export const RIGHT_POLAR_DEFAULTS = { lr: 1e-3, impl: "gramns", center: false } as const;

/**
 * RightPolarGradM, the one-sided (right) spectral update (§1.3b): ν^α·M(MᵀM + εI)^{-1/2}, the
 * Gram on the small (column) side. Equivariant under O(m) × O(n) (and shift-invariant with `center`).
 */
export function rightPolar(options: SpectralOptions | Hyper = {}): Transform<PerParamState> {
  const { h, modes, coefficients } = readSpectral("right_polar", options as Hyper, RIGHT_POLAR_DEFAULTS);
  const s: SpectralSettings = { ...h, ...modes, coefficients, left: false };
  return lauSuRule("right_polar", h, true, (m) => spectralDirection(m, s));
}
