import type { Tensor } from "@equigrad/tensor";
import { PE_SAFETY_105, resolveCoefficients } from "./coefficients.js";
import { checkMatrix, colsOf, frobenius, identityLike, rowsOf } from "./matrix.js";

export type InvSqrtMethod = "newton_schulz" | "polar_express";

export interface InvSqrtOptions {
  /** Default "polar_express" (Lau–Su's default backend). */
  method?: InvSqrtMethod;
  /** Default 5. */
  steps?: number;
  /** Added to the diagonal (and to the scale): default 1e-8. */
  eps?: number;
}

/**
 * (sym(A) + εI)^{-1/2} for symmetric PSD A (per matrix of a batch), as Lau–Su's
 * `symmetric_matrix_invsqrt` computes it with coupled iterations Y → A^{1/2}, Z → A^{-1/2}:
 * - newton_schulz: Y = A/‖A‖_F, Z = I; T = ½(3I − ZY); Y ← YT; Z ← TZ; result Z/√‖A‖_F.
 * - polar_express: s = 1.02‖A‖_F + ε, Y = A/s, Z = I; per (a,b,c) of the safety-1.05 list,
 *   R = sym(I − ZY), φ = (a+b+c)I − (b+2c)R + cR²; Y ← Yφ; Z ← φZ; result Z/√s.
 * With 5 steps, eigenvalues far below ‖A‖_F converge only partially (tested in linalg tests).
 */
export function invSqrtSym(a: Tensor, opts: InvSqrtOptions = {}): Tensor {
  checkMatrix("invSqrtSym", a);
  const n = rowsOf(a);
  if (colsOf(a) !== n) throw new Error(`invSqrtSym: expected square matrices, got shape [${a.shape.join(", ")}]`);
  const method = opts.method ?? "polar_express";
  const steps = opts.steps ?? 5;
  const eps = opts.eps ?? 1e-8;
  const I = identityLike(a, n);
  const A = a.add(a.transpose(-2, -1)).mul(0.5).add(I.mul(eps));
  const norm = frobenius(A);
  if (method === "newton_schulz") {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`invSqrtSym: steps must be a positive integer, got ${steps}`);
    let Y = A.div(norm);
    let Z: Tensor = I;
    for (let k = 0; k < steps; k++) {
      const T = I.mul(3).sub(Z.matmul(Y)).mul(0.5);
      Y = Y.matmul(T);
      Z = T.matmul(Z);
    }
    return Z.div(norm.sqrt());
  }
  if (method !== "polar_express") throw new Error(`invSqrtSym: unknown method '${String(method)}'; use "newton_schulz" or "polar_express"`);
  const s = norm.mul(1.02).add(eps);
  let Y = A.div(s);
  let Z: Tensor = I;
  for (const [ca, cb, cc] of resolveCoefficients(PE_SAFETY_105, steps, n, n)) {
    const D = I.sub(Z.matmul(Y));
    const R = D.add(D.transpose(-2, -1)).mul(0.5);
    const phi = I.mul(ca + cb + cc).add(R.mul(-cb - 2 * cc)).add(R.matmul(R).mul(cc));
    Y = Y.matmul(phi);
    Z = phi.matmul(Z);
  }
  return Z.div(s.sqrt());
}
