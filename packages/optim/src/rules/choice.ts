import type { Hyper } from "../hyper.js";

/**
 * String-valued hyperparameters (modes, norm names) that `readHyper` does not type. `pickChoices`
 * takes them out of `given`, checks each against its allowed values and returns the rest for
 * `readHyper`, so unknown keys are still reported there.
 */
export function pickChoices<C extends Record<string, readonly string[]>>(
  rule: string,
  given: Hyper | undefined,
  choices: C,
  defaults: { [K in keyof C]: C[K][number] },
): [{ [K in keyof C]: C[K][number] }, Hyper] {
  const rest: Record<string, unknown> = { ...(given ?? {}) };
  for (const k of Object.keys(rest)) {
    const near = Object.keys(choices).find((c) => c !== k && squash(c) === squash(k));
    if (near !== undefined) throw new Error(`${rule}: unknown hyperparameter '${k}' (did you mean '${near}'?)`);
  }
  const out: Record<string, string> = {};
  for (const [k, allowed] of Object.entries(choices)) {
    const v = rest[k] ?? defaults[k];
    delete rest[k];
    if (typeof v !== "string" || !allowed.includes(v)) throw new Error(`${rule}: '${k}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return [out as { [K in keyof C]: C[K][number] }, rest];
}

const squash = (s: string): string => s.replace(/[_-]/g, "").toLowerCase();
