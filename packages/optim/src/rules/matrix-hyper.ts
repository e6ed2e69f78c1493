import type { Hyper } from "../hyper.js";
import { isCoefficients, type Coefficients } from "../linalg/index.js";

/**
 * The non-numeric hyperparameters of the matrix rules: string modes (`orientation`, `impl`,
 * `order`, `scale`, ...) and `coefficients` (a set name or a list of [a, b, c] triples), which
 * `readHyper` does not type. They are checked here and taken out of `given`; the rest goes on to
 * `readHyper`, which still reports unknown keys (listing the string keys as known too).
 */
export function pickModes<C extends Record<string, readonly string[]>>(
  rule: string,
  given: Hyper | undefined,
  modes: C,
  defaults: { [K in keyof C]: C[K][number] },
): [{ [K in keyof C]: C[K][number] }, Hyper] {
  const rest: Record<string, unknown> = { ...(given ?? {}) };
  const out: Record<string, string> = {};
  for (const [k, allowed] of Object.entries(modes)) {
    const v = rest[k] ?? defaults[k];
    delete rest[k];
    if (typeof v !== "string" || !allowed.includes(v)) throw new Error(`${rule}: '${k}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return [out as { [K in keyof C]: C[K][number] }, rest];
}

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
