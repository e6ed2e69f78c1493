import type { Tensor } from "@equigrad/tensor";
import type { Coefficients } from "./coefficients.js";
import { gramNewtonSchulz } from "./gram-newton-schulz.js";
import { invSqrtSym, type InvSqrtMethod } from "./inv-sqrt.js";
import { checkMatrix, nuclearScale, traceOfProduct } from "./matrix.js";
import { newtonSchulz } from "./newton-schulz.js";

/** How the polar factor is approximated. */
export type PolarImpl = "gramns" | "invsqrt" | "newton_schulz";

export interface PolarOptions {
  /** Default "gramns" (the Lau–Su training scripts' default). */
  impl?: PolarImpl;
  /** invsqrt only: form the small-side Gram on the left, (MMᵀ + εI)^{-1/2}M, instead of M(MᵀM + εI)^{-1/2}. */
  left?: boolean;
  /** Iteration count of every impl. Default 5. */
  steps?: number;
  /** NS impls: default "pe_safety_1.05" for gramns, "polar_express" for newton_schulz. */
  coefficients?: Coefficients;
  /** NS impls: added to ‖X‖_F (defaults as the kernel's). */
  nsEps?: number;
  /** invsqrt: εI added to the Gram. Default 1e-8. */
  eps?: number;
  /** invsqrt: the inverse-square-root iteration. Default "polar_express". */
  invsqrtMethod?: InvSqrtMethod;
}

/** polar(M) and ν ≈ ‖M‖_* per matrix (shape: the batch axes). */
export interface PolarResult {
  readonly u: Tensor;
  readonly nu: Tensor;
}

/**
 * ≈ polar(M) = UVᵀ together with ν ≈ ‖M‖_*. The invsqrt impl forms C = MᵀM (or MMᵀ with left),
 * R = (C + εI)^{-1/2}, u = MR (or RM) and ν = tr(CR), as Lau–Su's Right/LeftPolarGradM do; the NS
 * impls give ν = Σ(M ⊙ u), as their _GramNS classes do.
 */
export function polarWithNu(m: Tensor, opts: PolarOptions = {}): PolarResult {
  checkMatrix("polar", m);
  const impl = opts.impl ?? "gramns";
  const steps = opts.steps ?? 5;
  if (impl === "invsqrt") {
    const mt = m.transpose(-2, -1);
    const C = opts.left ? m.matmul(mt) : mt.matmul(m);
    const R = invSqrtSym(C, { method: opts.invsqrtMethod ?? "polar_express", steps, eps: opts.eps ?? 1e-8 });
    return { u: opts.left ? R.matmul(m) : m.matmul(R), nu: traceOfProduct(C, R) };
  }
  let u: Tensor;
  if (impl === "gramns") u = gramNewtonSchulz(m, { coefficients: opts.coefficients ?? "pe_safety_1.05", steps, ...(opts.nsEps !== undefined ? { eps: opts.nsEps } : {}) });
  else if (impl === "newton_schulz") u = newtonSchulz(m, { coefficients: opts.coefficients ?? "polar_express", steps, ...(opts.nsEps !== undefined ? { eps: opts.nsEps } : {}) });
  else throw new Error(`polar: unknown impl '${String(impl)}'; use "gramns", "invsqrt" or "newton_schulz"`);
  return { u, nu: nuclearScale(m, u) };
}

/** ≈ polar(M) = UVᵀ per matrix, by `opts.impl`. */
export const polar = (m: Tensor, opts: PolarOptions = {}): Tensor => polarWithNu(m, opts).u;
