/** Shared helpers of the autograd test suite. */
import { expect } from "vitest";
import { gradcheck, valueAndGrad, type GradcheckOptions } from "@equigrad/autograd";
import { Rng, Tensor, fromTypedArray, tidy, type Shape } from "@equigrad/tensor";

export interface ExpectGradOptions extends GradcheckOptions {
  /** Allow an input whose analytic gradient is identically zero (default false: such a check would be vacuous). */
  allowZeroGrad?: boolean;
}

/**
 * Fails with the full gradcheck report unless autograd agrees with central differences for
 * every element of every input. Also fails when an input gets an all-zero gradient (the
 * check would then be vacuous: the input is probably unused), unless allowZeroGrad.
 */
export function expectGradOk(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: ExpectGradOptions = {}): void {
  const { allowZeroGrad = false, ...gc } = opts;
  tidy(() => {
    const report = gradcheck(f, inputs, gc);
    if (!report.ok) {
      const w = report.worst!;
      expect.fail(
        `gradcheck failed: input ${w.input} [${inputs[w.input]!.shape}] element ${w.index}: ` +
          `analytic ${w.analytic} vs numeric ${w.numeric} (excess ${w.error}, max |error| ${report.maxAbsError})`,
      );
    }
    if (!allowZeroGrad) {
      const w = (probe: Tensor): Tensor => new Rng(99, "expectGradOk").normal(probe.shape, 0, 1, "float64");
      const loss = (...xs: Tensor[]): Tensor => {
        const y = f(...xs);
        return y.mul(w(y)).sum();
      };
      const [, grads] = valueAndGrad(loss, { argnums: inputs.map((_, i) => i) })(...inputs) as [Tensor, Tensor[]];
      grads.forEach((g, i) => {
        if (g.size > 0 && g.toArray().every((v) => v === 0)) expect.fail(`input ${i} [${inputs[i]!.shape}] got an all-zero gradient: the check is vacuous`);
      });
    }
  });
}

/** Standard normal float64 values (kept: they outlive the tidy scopes of the checks). */
export const randn = (shape: Shape, seed = 0, mean = 0, std = 1): Tensor => new Rng(seed, "test").normal(shape, mean, std, "float64").keep();

/** A float64 tensor from a JS array (kept). */
export const f64 = (values: ArrayLike<number>, shape: Shape = [values.length]): Tensor =>
  fromTypedArray(Float64Array.from(values), shape, "float64").keep();

/** Normal values pushed at least `margin` away from `at` (for ops with a kink there: relu, abs, sign). */
export function awayFrom(shape: Shape, seed = 0, at = 0, margin = 0.2): Tensor {
  const data = randn(shape, seed).data() as Float64Array;
  return f64(data.map((v) => (v - at >= 0 ? v + margin : v - margin)), shape);
}

/** Positive values in [lo, lo + width): for log, sqrt, rsqrt, fractional powers. */
export function positive(shape: Shape, seed = 0, lo = 0.5, width = 2): Tensor {
  return tidy(() => new Rng(seed, "positive").uniform(shape, lo, lo + width, "float64").keep());
}

/**
 * Pairwise distinct values (gaps ≥ 0.1 between any two) in a seeded random order: reductions
 * such as max / min and maximum / minimum have no ties within finite-difference reach.
 */
export function distinct(shape: Shape, seed = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.13);
  let s = seed * 2654435761 + 12345;
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return f64(values, shape);
}

/** Element-wise closeness of a tensor to expected values, with a readable failure. */
export function expectClose(actual: Tensor, expected: ArrayLike<number> | Tensor, tol = 1e-9): void {
  const a = actual.toArray();
  const e = expected instanceof Tensor ? expected.toArray() : Array.from(expected);
  expect(a.length, "element count").toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    if (!(err <= tol * (1 + Math.abs(e[i]!)))) expect.fail(`element ${i}: got ${a[i]}, expected ${e[i]} (|error| ${err}, tol ${tol})\n got: [${a}]\n expected: [${e}]`);
  }
}
