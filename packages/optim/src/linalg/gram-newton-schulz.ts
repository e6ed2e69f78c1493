import { contiguous, type Tensor } from "@equigrad/tensor";
import { normalisationOf, resolveCoefficients, type Coefficients } from "./coefficients.js";
import { checkMatrix, colsOf, frobenius, identityLike, rowsOf, transposeLast } from "./matrix.js";
import { newtonSchulz } from "./newton-schulz.js";

export interface GramNewtonSchulzOptions {
  /** Default "pe_safety_1.05" (gram_newton_schulz's default: the first 5 of that list). */
  coefficients?: Coefficients;
  /** Default 5. */
  steps?: number;
  /** ns_epsilon, added to ‖X‖_F: default 1e-7 (1e-6 and a factor 1.02 for "polar_express", as newtonSchulz). */
  eps?: number;
  /** Iterations at which X ← QX and the Gram is recomputed. Default [2]. */
  resets?: readonly number[];
}

/**
 * Gram Newton–Schulz (Dao-AILab/gram-newton-schulz): the same polynomial iteration as
 * `newtonSchulz`, but on the small m×m Gram R = XXᵀ of the wide orientation. Every X_k is Q_k·X_0
 * with Q_k a polynomial in R, so the loop updates Q ← PQ and R ← PRP (P = aI + bR + cR²) and
 * multiplies by the m×n X once at the end. At a reset, X ← QX and R is recomputed, which in the
 * original bounds fp16 drift. Square matrices gain nothing and take plain NS (as the original does).
 * Runs in the input's dtype (this framework has no fp16).
 */
export function gramNewtonSchulz(x: Tensor, opts: GramNewtonSchulzOptions = {}): Tensor {
  checkMatrix("gramNewtonSchulz", x);
  const coefficients = opts.coefficients ?? "pe_safety_1.05";
  const steps = opts.steps ?? 5;
  const norm = normalisationOf(coefficients);
  const eps = opts.eps ?? norm.eps;
  const resets = opts.resets ?? [2];
  if (rowsOf(x) === colsOf(x)) return newtonSchulz(x, { coefficients, steps, eps });
  const triples = resolveCoefficients(coefficients, steps, rowsOf(x), colsOf(x));
  const tall = rowsOf(x) > colsOf(x);
  let X = tall ? transposeLast(x) : contiguous(x);
  X = X.div(frobenius(X).mul(norm.factor).add(eps));
  const I = identityLike(X, rowsOf(X));
  let R = X.matmul(X.transpose(-2, -1));
  let Q: Tensor | null = null;
  triples.forEach(([a, b, c], i) => {
    if (i > 0 && resets.includes(i) && Q !== null) {
      X = Q.matmul(X);
      R = X.matmul(X.transpose(-2, -1));
      Q = null;
    }
    const Z = R.mul(b).add(R.matmul(R).mul(c));
    Q = Q === null ? Z.add(I.mul(a)) : Q.mul(a).add(Z.matmul(Q));
    const needR = i < triples.length - 1 && !resets.includes(i + 1);
    if (needR) {
      const RZ = R.mul(a).add(R.matmul(Z));
      R = RZ.mul(a).add(Z.matmul(RZ));
    }
  });
  const out = Q === null ? X : (Q as Tensor).matmul(X);
  return tall ? transposeLast(out) : out;
}
