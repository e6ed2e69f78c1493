import { tidy, type Tensor } from "@equigrad/tensor";
import type { Parameter } from "./parameter.js";

export interface LoadStateOptions {
  /** Fail on missing or unexpected keys (default true); shape mismatches always fail. */
  strict?: boolean;
}

const fmt = (s: readonly number[]): string => `[${s.join(", ")}]`;

/**
 * Loads `state` into `params` in place (`assign`: tensors that optimizers hold keep
 * pointing at the parameters). Values are cast to each parameter's dtype.
 */
export function loadState(params: Map<string, Parameter>, state: Record<string, Tensor>, opts: LoadStateOptions = {}): void {
  const { strict = true } = opts;
  const problems: string[] = [];
  const missing = [...params.keys()].filter((k) => !(k in state));
  const unexpected = Object.keys(state).filter((k) => !params.has(k));
  if (strict && missing.length) problems.push(`missing keys: ${missing.join(", ")}`);
  if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.join(", ")}`);
  for (const [path, p] of params) {
    const v = state[path];
    if (!v) continue;
    if (v.ndim !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(`'${path}': checkpoint has shape ${fmt(v.shape)}, the model expects ${fmt(p.shape)}`);
    }
  }
  if (problems.length) throw new Error(`loadStateDict: ${problems.join("; ")}`);
  tidy(() => {
    for (const [path, p] of params) {
      const v = state[path];
      if (v) p.value.assign(v.dtype === p.value.dtype ? v : v.cast(p.value.dtype));
    }
  });
}
