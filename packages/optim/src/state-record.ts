import { tidy, type Tensor } from "@equigrad/tensor";
import { isTensor, type Param, type State, type Transform } from "./transform.js";

/** Optimizer state flattened for a checkpoint: tensors and step counts under '/'-joined keys. */
export type StateRecord = Record<string, Tensor | number>;

/**
 * Flattens a state tree: object keys join with '/', arrays (a chain's parts) add nothing, so
 * keys read `adamw/count` and `adamw/blocks.0.attn.q.weight/exp_avg`: by label and path,
 * never by position. The tensors are the live state (no copies). Two leaves on one key fail.
 */
export function stateToRecord(state: State): StateRecord {
  const out: StateRecord = {};
  walk(state, "", (key, leaf) => {
    if (key in out) throw new Error(`stateToRecord: two state entries share the key '${key}' (two transforms in a chain with the same state names?)`);
    out[key] = leaf;
  });
  return out;
}

/**
 * Rebuilds the state that `transform.init(params)` lays out, filling it from a record. Fails
 * with one error listing missing keys, unexpected keys, shape mismatches and tensors stored
 * as numbers (or the reverse). A tensor of another dtype is cast to the state's dtype.
 */
export function stateFromRecord<S extends State>(transform: Transform<S>, params: readonly Param[], record: Readonly<StateRecord>): S {
  return tidy(() => {
    const template = transform.init(params);
    const problems: string[] = [];
    const used = new Set<string>();
    const fill = (s: State, key: string): State => {
      if (isTensor(s) || typeof s === "number") {
        const r = record[key];
        used.add(key);
        if (r === undefined) problems.push(`missing '${key}'`);
        else if (isTensor(s)) {
          if (!isTensor(r)) problems.push(`'${key}' should be a tensor of shape [${s.shape.join(", ")}], got ${typeof r}`);
          else if (r.shape.length !== s.shape.length || r.shape.some((d, i) => d !== s.shape[i])) {
            problems.push(`'${key}' has shape [${r.shape.join(", ")}], the parameter needs [${s.shape.join(", ")}]`);
          } else return s.assign(r.dtype === s.dtype ? r : r.cast(s.dtype));
        } else if (typeof r !== "number" || !Number.isFinite(r)) problems.push(`'${key}' should be a number, got ${isTensor(r) ? "a tensor" : String(r)}`);
        else return r;
        return s;
      }
      if (Array.isArray(s)) return s.map((x) => fill(x, key));
      return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, fill(v, key ? `${key}/${k}` : k)]));
    };
    const out = fill(template, "") as S;
    const extra = Object.keys(record).filter((k) => !used.has(k));
    if (extra.length > 0) problems.push(`unexpected ${extra.map((k) => `'${k}'`).join(", ")} (saved with another optimizer table?)`);
    if (problems.length > 0) throw new Error(`stateFromRecord: the record does not fit this optimizer:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return out;
  });
}

function walk(s: State, key: string, leaf: (key: string, v: Tensor | number) => void): void {
  if (isTensor(s) || typeof s === "number") leaf(key, s);
  else if (Array.isArray(s)) for (const x of s) walk(x, key, leaf);
  else for (const [k, v] of Object.entries(s)) walk(v, key ? `${key}/${k}` : k, leaf);
}
