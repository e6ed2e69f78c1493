import type { Tensor } from "@equigrad/tensor";
import { newtonSchulz } from "../linalg/index.js";

/** Scion's norm choices (LIONS-EPFL scion.py); "auto" is Spectral for matrices, BiasRMS below. */
export const LMO_NAMES = ["spectral", "col_norm", "row_norm", "sign", "bias_rms", "auto"] as const;
export type LmoName = (typeof LMO_NAMES)[number];

export interface LmoOptions {
  /** Divide by the layer's input dimension as scion.py does (its default differs per norm). */
  readonly normalized: boolean;
  /** col_norm / row_norm: work on the transpose ([V, d] embeddings stored row per token). */
  readonly transpose: boolean;
  /** spectral: scale by max(1, s) (scion.py's `max=True`, an MLP's input layer). */
  readonly max: boolean;
  /** spectral: Newton–Schulz steps (Keller's coefficients). */
  readonly nsSteps: number;
}

/** scion.py's defaults of `normalized` per norm. */
export const LMO_NORMALIZED_DEFAULT: Readonly<Record<Exclude<LmoName, "auto" | "bias_rms">, boolean>> = { spectral: true, col_norm: false, row_norm: true, sign: true };

const EPS = 1e-8;
const T = (x: Tensor): Tensor => x.transpose(-2, -1);

/**
 * The +direction of the linear minimization oracle of a unit ball (OPTIMIZERS.md §3): the LMO of
 * −d is −lmoDirection(d). Matrices are the last two axes [d_out, d_in]; a leading axis (3-D
 * experts) is a batch. With g = [d_out, d_in]:
 * - spectral: NS5(g)·s, s = √(d_out/d_in) normalized, else √d_out; max(1, s) with `max`
 * - col_norm: g / (RMS over rows of each column (× d_in if normalized) + 1e-8)
 * - row_norm: g / (‖row‖₂ (× √d_in if normalized) + 1e-8)
 * - sign: sign(g)/d_in normalized, else sign(g)
 * - bias_rms: g / (RMS(g) over axis 0 + 1e-8)
 */
export function lmoDirection(name: LmoName, g: Tensor, o: LmoOptions): Tensor {
  if (name === "auto") return lmoDirection(g.ndim >= 2 ? "spectral" : "bias_rms", g, o);
  if (name === "bias_rms") {
    const rms = g.ndim === 0 ? g.abs() : g.square().mean(0, true).sqrt();
    return g.div(rms.add(EPS));
  }
  if (g.ndim < 2) throw new Error(`scion: the '${name}' LMO needs a matrix [d_out, d_in] (or experts [E, d_out, d_in]), got shape [${g.shape.join(", ")}]; use "bias_rms" (or "auto") for vectors`);
  const dOut = g.shape[g.ndim - 2]!;
  const dIn = g.shape[g.ndim - 1]!;
  if (name === "spectral") {
    let s = Math.sqrt(o.normalized ? dOut / dIn : dOut);
    if (o.max) s = Math.max(1, s);
    return newtonSchulz(g, { coefficients: "keller", steps: o.nsSteps }).mul(s);
  }
  if (name === "sign") return o.normalized ? g.sign().mul(1 / dIn) : g.sign();
  const x = o.transpose ? T(g) : g;
  const rows = x.shape[x.ndim - 2]!;
  const cols = x.shape[x.ndim - 1]!;
  let out: Tensor;
  if (name === "col_norm") {
    let rms = x.square().sum(-2, true).sqrt().mul(1 / Math.sqrt(rows));
    if (o.normalized) rms = rms.mul(cols);
    out = x.div(rms.add(EPS));
  } else {
    let norm = x.square().sum(-1, true).sqrt();
    if (o.normalized) norm = norm.mul(Math.sqrt(cols));
    out = x.div(norm.add(EPS));
  }
  return o.transpose ? T(out) : out;
}
