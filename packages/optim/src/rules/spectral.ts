/** The one-sided spectral direction (§1.3b/c) and the hyperparameters right_polar, left_polar and hybrid share. */
import type { Tensor } from "@equigrad/tensor";
import { check, readHyper, type Hyper } from "../hyper.js";
import { centerRows, orient, ORIENTATIONS, polarWithNu, unorient, type Coefficients, type InvSqrtMethod, type Orientation } from "../linalg/index.js";
import type { Schedule, ScheduleSpec } from "../schedules.js";
import { nuScale, type Direction } from "./lau-su-momentum.js";
import { pickCoefficients } from "./matrix-hyper.js";
import { pickChoices } from "./choice.js";

export interface SpectralOptions {
  lr?: number;
  beta?: number;
  weightDecay?: number;
  /** Exponent of the nuclear-norm scale ν^α (0: no scale). */
  alpha?: number;
  /** εI added to the Gram (invsqrt) and the floor of ν. */
  eps?: number;
  /** Added to ‖X‖_F in the Gram NS normalisation (gramns). */
  nsEps?: number;
  nsSteps?: number;
  center?: boolean;
  orientation?: Orientation;
  /** "gramns" (Gram Newton–Schulz) or "invsqrt" ((C + εI)^{-1/2}). */
  impl?: "gramns" | "invsqrt";
  /** The invsqrt iteration. */
  invsqrtMethod?: InvSqrtMethod;
  /** gramns only. */
  coefficients?: Coefficients;
  schedule?: ScheduleSpec | Schedule;
}

export const SPECTRAL_MODES = { orientation: ORIENTATIONS, impl: ["gramns", "invsqrt"], invsqrtMethod: ["polar_express", "newton_schulz"] } as const;

/** The settings a one-sided spectral direction reads. */
export interface SpectralSettings {
  readonly left: boolean;
  readonly center: boolean;
  readonly alpha: number;
  readonly eps: number;
  readonly nsEps: number;
  readonly nsSteps: number;
  readonly orientation: Orientation;
  readonly impl: "gramns" | "invsqrt";
  readonly invsqrtMethod: InvSqrtMethod;
  readonly coefficients: Coefficients;
}

/**
 * U = Π⊥? [max(ν, ε)^α · polar(M')] with M' = Π⊥? orient(m) and ν ≈ ‖M'‖_* (§1.3b/c). For a 3-D
 * expert stack ν is summed over the experts, one scale for the tensor (as hybrid.py does).
 */
export function spectralDirection(m: Tensor, s: SpectralSettings): Direction {
  let M = orient(m, s.orientation);
  if (s.center) M = centerRows(M);
  const { u, nu } = polarWithNu(M, { impl: s.impl, left: s.left, steps: s.nsSteps, eps: s.eps, nsEps: s.nsEps, invsqrtMethod: s.invsqrtMethod, coefficients: s.coefficients });
  const total = nu.sum();
  let U = s.alpha === 0 ? u : u.mul(nuScale(total, s.eps, s.alpha));
  if (s.center) U = centerRows(U);
  return { u: unorient(U, s.orientation, m.shape), nu: total };
}

/** Lau–Su defaults shared by the spectral rules (§1.4: β 0.95, wd 0, α 1, ε 1e-8, 5 steps, ns ε 1e-7). */
export const SPECTRAL_DEFAULTS = { lr: 1e-3, beta: 0.95, weightDecay: 0, alpha: 1, eps: 1e-8, nsEps: 1e-7, nsSteps: 5, center: false, schedule: { kind: "constant" } } as const;

/** Reads and checks the shared spectral hyperparameters (per-rule lr, impl and center defaults). */
export function readSpectral(rule: string, options: Hyper, defaults: { readonly impl: "gramns" | "invsqrt"; readonly center: boolean; readonly lr: number }) {
  const [modes, rest0] = pickChoices(rule, options, SPECTRAL_MODES, { orientation: "row", impl: defaults.impl, invsqrtMethod: "polar_express" });
  const [coefficients, rest] = pickCoefficients(rule, rest0, "pe_safety_1.05");
  const h = readHyper(rule, rest, { ...SPECTRAL_DEFAULTS, lr: defaults.lr, center: defaults.center });
  check(rule, h.eps >= 0 && h.nsEps >= 0, `eps and nsEps must be >= 0, got ${h.eps}, ${h.nsEps}`);
  check(rule, Number.isInteger(h.nsSteps) && h.nsSteps >= 1, `nsSteps must be a positive integer, got ${h.nsSteps}`);
  return { h, modes, coefficients };
}

