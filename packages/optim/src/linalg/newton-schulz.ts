import { contiguous, type Tensor } from "@equigrad/tensor";
import { normalisationOf, resolveCoefficients, type Coefficients } from "./coefficients.js";
import { checkMatrix, colsOf, frobenius, rowsOf, transposeLast } from "./matrix.js";

export interface NewtonSchulzOptions {
  /** Default "keller". */
  coefficients?: Coefficients;
  /** Default 5. */
  steps?: number;
  /** Added to ‖X‖_F before dividing: default 1e-7 (Keller), 1e-6 for "polar_express" (Lau–Su). */
  eps?: number;
}

/**
 * ≈ polar(X) = UVᵀ by the odd polynomial iteration X ← aX + (bA + cA²)X with A = XXᵀ, per matrix
 * of a batch. The input is divided by its Frobenius norm first (times 1.02 for Lau–Su's Polar
 * Express set). Tall matrices run on their transpose, copied to a fresh buffer, so the wide work is
 * the same bytes either way and NS(Gᵀ) equals NS(G)ᵀ bit for bit.
 */
export function newtonSchulz(x: Tensor, opts: NewtonSchulzOptions = {}): Tensor {
  checkMatrix("newtonSchulz", x);
  const coefficients = opts.coefficients ?? "keller";
  const norm = normalisationOf(coefficients);
  const eps = opts.eps ?? norm.eps;
  const triples = resolveCoefficients(coefficients, opts.steps ?? 5, rowsOf(x), colsOf(x));
  const tall = rowsOf(x) > colsOf(x);
  let X = tall ? transposeLast(x) : contiguous(x);
  X = X.div(frobenius(X).mul(norm.factor).add(eps));
  for (const [a, b, c] of triples) {
    const A = X.matmul(X.transpose(-2, -1));
    const B = A.mul(b).add(A.matmul(A).mul(c));
    X = X.mul(a).add(B.matmul(X));
  }
  return tall ? transposeLast(X) : X;
}
