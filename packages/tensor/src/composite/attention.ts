import { OpError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../tensor.js";
import { where } from "../ops/elementwise.js";
import { causalMask } from "../ops/indexing.js";
import { softmax } from "./softmax.js";

export interface AttentionOptions {
  causal?: boolean;
  /** Defaults to 1/sqrt(head_dim). */
  scale?: number;
}

/**
 * softmax(q kᵀ · scale [+ causal mask]) v for q [B, Hq, Tq, D], k and v [B, Hkv, Tk, D].
 * Grouped-query attention when Hkv divides Hq: query head h reads kv head ⌊h / (Hq/Hkv)⌋.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { causal = true } = opts;
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new OpError("attention", `q, k, v must be [batch, heads, time, head_dim], got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  const [b, hq, tq, d] = q.shape as [number, number, number, number];
  const [bk, hkv, tk, dk] = k.shape as [number, number, number, number];
  if (bk !== b || dk !== d || v.shape[0] !== b || v.shape[1] !== hkv || v.shape[2] !== tk) {
    throw new OpError("attention", `k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} do not fit q ${fmtShape(q.shape)}`);
  }
  if (hq % hkv !== 0) throw new OpError("attention", `query heads (${hq}) must be a multiple of kv heads (${hkv}): q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}`);
  if (causal && tq > tk) throw new OpError("attention", `causal attention needs at least as many keys (${tk}) as queries (${tq})`);
  const group = hq / hkv;
  const repeat = (t: Tensor): Tensor =>
    group === 1 ? t : t.unsqueeze(2).expand(b, hkv, group, tk, t.shape[3]!).reshape(b, hq, tk, t.shape[3]!);
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  let scores = q.matmul(repeat(k).transpose(-2, -1)).mul(scale);
  if (causal) {
    // Queries are the last tq positions of the tk keys.
    const mask = causalMask(tk).slice([tk - tq, tk]);
    scores = where(mask, scores, -Infinity);
  }
  return softmax(scores, -1).matmul(repeat(v));
}
