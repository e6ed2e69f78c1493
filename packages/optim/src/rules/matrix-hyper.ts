import type { Hyper } from "../hyper.js";
import { isCoefficients, type Coefficients } from "../linalg/index.js";

// String modes of the matrix rules (`orientation`, `impl`, `order`, `scale`, ...) are checked by
// choice.ts's `pickChoices`; `coefficients` (a set name or [a, b, c] triples) is checked here.

/** Takes `coefficients` out of `given` (default `fallback`), checked. */
export function pickCoefficients(rule: string, given: Hyper, fallback: Coefficients): [Coefficients, Hyper] {
  const { coefficients, ...rest } = given as Record<string, unknown>;
  const c = coefficients ?? fallback;
  if (!isCoefficients(c)) {
    throw new Error(`${rule}: 'coefficients' must be "keller", "polar_express", "pe_safety_1.05", "root" or a non-empty list of [a, b, c] number triples, got ${JSON.stringify(c)}`);
  }
  return [c, rest];
}

/** Throws unless the parameter is a matrix or a 3-D stack of expert matrices. */
export function checkMatrixParam(rule: string, path: string, shape: readonly number[]): void {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new Error(`${rule}: parameter '${path}' has shape [${shape.join(", ")}]; this rule takes 2-D matrices or 3-D expert stacks [E, r, c] (give 1-D parameters to adamw in the partition table)`);
  }
}
