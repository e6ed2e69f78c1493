import { isFloat } from "../core/dtype.js";
import { OpError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../tensor.js";
import { where } from "../ops/elementwise.js";
import { causalMask } from "../ops/indexing.js";
import { concat } from "../ops/movement.js";
import { fused } from "./fused.js";
import { softmax } from "./softmax.js";

export interface AttentionOptions {
  causal?: boolean;
  /** Defaults to 1/sqrt(head_dim). */
  scale?: number;
}

/**
 * softmax(q kᵀ · scale [+ causal mask]) v for q [B, Hq, Tq, D], k [B, Hkv, Tk, D] and v [B, Hkv, Tk, Dv].
 * Grouped-query attention when Hkv divides Hq: query head h reads kv head ⌊h / (Hq/Hkv)⌋.
 * Causal queries are the last Tq of the Tk positions (a KV cache: Tq ≤ Tk).
 *
 * One fused op ("attention") where the backend has a kernel for it (the wasm backend's never
 * holds more than one query block × key block of scores per head), else its decomposition
 * below, which materialises the [B, Hq, Tq, Tk] scores.
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
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  // The fused op wants one float dtype and no empty operand; anything else (mixed or integer
  // dtypes, empty tensors) keeps the plain composite's promotion and edge-case behaviour.
  const fusable = isFloat(q.dtype) && k.dtype === q.dtype && v.dtype === q.dtype && q.size > 0 && k.size > 0 && v.size > 0;
  return fusable ? fused({ op: "attention", causal, scale }, q, k, v) : attentionDecomposition(q, k, v, causal, scale);
}

/** Repeats each kv head `group` times along the head axis: [B, Hkv, T, E] → [B, Hkv·group, T, E]. */
function repeatHeads(t: Tensor, group: number): Tensor {
  if (group === 1) return t;
  const [b, hkv, tk, e] = t.shape as [number, number, number, number];
  return t.unsqueeze(2).expand(b, hkv, group, tk, e).reshape(b, hkv * group, tk, e);
}

/** Sums each run of `group` consecutive heads: [B, Hkv·group, T, E] → [B, Hkv, T, E]. */
function sumHeadGroups(t: Tensor, group: number): Tensor {
  if (group === 1) return t;
  const [b, h, tk, e] = t.shape as [number, number, number, number];
  return t.reshape(b, h / group, group, tk, e).sum(2);
}

/** Scores q kᵀ · scale of every query head, with -inf above the (bottom-right aligned) diagonal when causal. */
function maskedScores(q: Tensor, kr: Tensor, causal: boolean, scale: number): Tensor {
  const scores = q.matmul(kr.transpose(-2, -1)).mul(scale);
  if (!causal) return scores;
  // Queries are the last tq positions of the tk keys.
  const [tq, tk] = [q.shape[2]!, kr.shape[2]!];
  return where(causalMask(tk).slice([tk - tq, tk]), scores, -Infinity);
}

/** The meaning of the "attention" primitive, in primitives. */
export function attentionDecomposition(q: Tensor, k: Tensor, v: Tensor, causal: boolean, scale: number): Tensor {
  const group = q.shape[1]! / k.shape[1]!;
  return softmax(maskedScores(q, repeatHeads(k, group), causal, scale), -1).matmul(repeatHeads(v, group));
}

/**
 * The meaning of the "attention_grad" primitive: given out = attention(q, k, v) and its
 * cotangent dOut, with P = softmax(S) and S the masked, scaled scores,
 *   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),  dQ = scale · dS K,  dK = scale · dSᵀ Q,
 * where dK and dV are summed over the query heads of each kv head; returns
 * concat(dq.flatten(), dk.flatten(), dv.flatten()).
 */
export function attentionGradDecomposition(q: Tensor, k: Tensor, v: Tensor, out: Tensor, dOut: Tensor, causal: boolean, scale: number): Tensor {
  const group = q.shape[1]! / k.shape[1]!;
  const kr = repeatHeads(k, group);
  const p = softmax(maskedScores(q, kr, causal, scale), -1);
  const dv = sumHeadGroups(p.transpose(-2, -1).matmul(dOut), group);
  const dp = dOut.matmul(repeatHeads(v, group).transpose(-2, -1));
  const ds = p.mul(dp.sub(dOut.mul(out).sum(-1, true)));
  const dq = ds.matmul(kr).mul(scale);
  const dk = sumHeadGroups(ds.transpose(-2, -1).matmul(q), group).mul(scale);
  return concat([dq.reshape(-1), dk.reshape(-1), dv.reshape(-1)]);
}
