/**
 * Host-side routing for mixture-of-experts: the choice of experts is data-dependent, so it
 * is made on plain arrays read back from the device (there is no top-k primitive).
 */

/**
 * Indices of the k largest values in each row of a row-major [n, e] array, largest first;
 * among equal values the lower index wins, so the choice is deterministic.
 */
export function topK(values: ArrayLike<number>, n: number, e: number, k: number): Int32Array {
  if (!(k >= 1 && k <= e)) throw new Error(`topK: k must be in [1, ${e}], got ${k}`);
  const out = new Int32Array(n * k);
  const taken = new Uint8Array(e);
  for (let r = 0; r < n; r++) {
    taken.fill(0);
    const row = r * e;
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let c = 0; c < e; c++) {
        if (taken[c]) continue;
        // Strictly greater: a later equal value never displaces an earlier one. NaN never wins.
        if (best < 0 || values[row + c]! > values[row + best]!) best = c;
      }
      taken[best] = 1;
      out[r * k + j] = best;
    }
  }
  return out;
}

/** Token assignments grouped by expert, as the dispatch gathers and scatters them. */
export interface DispatchPlan {
  /** Assignment ids (token·k + slot) sorted by expert, stable within an expert. */
  order: Int32Array;
  /** The token of each entry of `order`. */
  tokens: Int32Array;
  /** Assignments per expert; expert i owns order[offsets[i] .. offsets[i] + counts[i]). */
  counts: number[];
  offsets: number[];
}

export function dispatchPlan(indices: Int32Array, k: number, e: number): DispatchPlan {
  const counts = new Array<number>(e).fill(0);
  for (const i of indices) counts[i]!++;
  const offsets = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
  const next = [...offsets];
  const order = new Int32Array(indices.length);
  const tokens = new Int32Array(indices.length);
  indices.forEach((ex, a) => {
    const at = next[ex]!++;
    order[at] = a;
    tokens[at] = Math.floor(a / k);
  });
  return { order, tokens, counts, offsets };
}

/** Router health, for metrics. */
export interface RouterStats {
  /** Tokens routed in the last forward pass. */
  tokens: number;
  /** Fraction of the token·k assignments each expert received (sums to 1). */
  load: number[];
  /** Coefficient of variation of the load (std / mean): 0 when perfectly balanced. */
  cv: number;
  /** Fraction of experts whose load is below 0.1 / E. */
  deadFraction: number;
  /** Largest load. */
  maxLoad: number;
  /** Entropy of the load distribution in nats (ln E when balanced). */
  entropy: number;
}

export function routerStats(counts: readonly number[], tokens: number): RouterStats {
  const e = counts.length;
  const total = counts.reduce((a, b) => a + b, 0);
  const load = counts.map((c) => (total ? c / total : 0));
  const mean = 1 / e;
  const std = Math.sqrt(load.reduce((s, l) => s + (l - mean) ** 2, 0) / e);
  return {
    tokens,
    load,
    cv: std / mean,
    deadFraction: load.filter((l) => l < 0.1 / e).length / e,
    maxLoad: Math.max(...load),
    entropy: -load.reduce((s, l) => s + (l > 0 ? l * Math.log(l) : 0), 0),
  };
}
