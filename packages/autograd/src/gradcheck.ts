import { Rng, Tensor, fromTypedArray, tidy, type TypedArray } from "@equigrad/tensor";
import { valueAndGrad } from "./grad.js";
import { noGrad } from "./tape.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random projection that turns f's output into a scalar. */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| - (atol + rtol·|numeric|) excess, and where it happened. */
  worst: { input: number; index: number; analytic: number; numeric: number; error: number } | null;
  maxAbsError: number;
}

/**
 * Compares autograd with central finite differences in float64. f's output is projected on a
 * fixed random tensor w (L = Σ w·f(x)), so every Jacobian entry takes part in the check.
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 1234 } = opts;
  for (const x of inputs) {
    if (x.dtype !== "float64") throw new Error(`gradcheck: inputs must be float64, got ${x.dtype} [${x.shape}]; finite differences are meaningless in float32`);
  }
  return tidy(() => {
    const probe = noGrad(() => f(...inputs));
    const w = new Rng(seed, "gradcheck").normal(probe.shape, 0, 1, "float64");
    const loss = (...xs: Tensor[]): Tensor => f(...xs).mul(w).sum();
    const [, analytic] = valueAndGrad(loss, { argnums: inputs.map((_, i) => i) })(...inputs) as [Tensor, Tensor[]];
    let worst = null as GradcheckResult["worst"];
    let maxAbsError = 0;
    inputs.forEach((x, xi) => {
      const base = x.data() as Float64Array;
      const grad = analytic[xi]!.data();
      for (let j = 0; j < base.length; j++) {
        const at = (delta: number): number =>
          tidy(() => {
            const data = Float64Array.from(base);
            data[j]! += delta;
            const xs = inputs.map((t, k) => (k === xi ? fromTypedArray(data as TypedArray, x.shape, "float64") : t));
            return noGrad(() => loss(...xs)).item();
          });
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const a = grad[j]!;
        // A NaN or infinite derivative on either side is a failure (Inf - Inf would read as NaN and pass).
        const finite = Number.isFinite(a) && Number.isFinite(numeric);
        const abs = finite ? Math.abs(a - numeric) : Infinity;
        maxAbsError = Math.max(maxAbsError, abs);
        const error = finite ? abs - (atol + rtol * Math.abs(numeric)) : Infinity;
        if (!worst || error > worst.error) worst = { input: xi, index: j, analytic: a, numeric, error };
      }
    });
    return { ok: worst === null || worst.error <= 0, worst, maxAbsError };
  });
}
