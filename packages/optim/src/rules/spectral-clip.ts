import { eye, where, type Tensor } from "@equigrad/tensor";
import { newtonSchulz } from "../linalg/index.js";

const T = (x: Tensor): Tensor => x.transpose(-2, -1);

/**
 * SPECTRA's soft spectral clip (mlolab/llm-spectral-clipping `clip_sigvals`, OPTIMIZERS.md §7):
 *   H_c(X) = (I + XXᵀ/c²)^{-1/2} X,   each singular value σ ↦ σ/√(1 + σ²/c²) < c.
 * On the wide orientation: α = 1 + min(Gershgorin bound, ‖XXᵀ‖_F)/c² bounds the spectrum of
 * A = I + XXᵀ/c², and the coupled Newton–Schulz iteration Y₀ = A/α, Z₀ = I,
 * T = ½(3I − ZY), Y ← YT, Z ← TZ runs `steps` times (no early exit); the result is Z X/√α.
 * Vectors (rank ≤ 1): g/√(1 + (‖g‖/c)²) when ‖g‖ > c, else g.
 * Batches [..., m, n] are separate matrices, each with its own bound (the reference takes one
 * bound, the max over the batch; a per-matrix bound is tighter and changes nothing else).
 */
export function spectralClip(x: Tensor, c: number, steps: number): Tensor {
  if (!(c > 0)) throw new Error(`spectralClip: c must be > 0, got ${c}`);
  if (x.ndim <= 1) {
    const norm = x.square().sum().sqrt();
    return x.mul(where(norm.gt(c), norm.div(c).square().add(1).rsqrt(), 1));
  }
  const tall = x.shape[x.ndim - 2]! > x.shape[x.ndim - 1]!;
  const X = tall ? T(x) : x;
  const m = X.shape[X.ndim - 2]!;
  const G = X.matmul(T(X));
  const bound = G.abs().sum(-1, true).max(-2, true).minimum(G.square().sum([-2, -1], true).sqrt());
  const alpha = bound.div(c * c).add(1);
  const I = eye(m, m, { dtype: x.dtype });
  let Y = I.add(G.div(c * c)).div(alpha);
  let Z: Tensor = I;
  for (let k = 0; k < steps; k++) {
    const Tk = I.mul(3).sub(Z.matmul(Y)).mul(0.5);
    Y = Y.matmul(Tk);
    Z = Tk.matmul(Z);
  }
  const out = Z.matmul(X).div(alpha.sqrt());
  return tall ? T(out) : out;
}

/** SPECTRA's `normalize` mode: Muon's NS5 (Keller's coefficients) for matrices, g/(‖g‖ + 1e-7) for vectors. */
export function spectralNormalize(x: Tensor, steps: number): Tensor {
  if (x.ndim <= 1) return x.div(x.square().sum().sqrt().add(1e-7));
  return newtonSchulz(x, { coefficients: "keller", steps, eps: 1e-7 });
}
