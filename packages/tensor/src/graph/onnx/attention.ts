import { numel } from "../../core/shape.js";
import type { CallOf } from "../../ops/primitives.js";
import { attr, type GraphBuilder, type Val } from "./builder.js";

/**
 * attention and its VJP as MatMul/Softmax graphs. Grouped-query heads need no repeat: the
 * query heads of one kv head are contiguous, so q [B, Hq, Tq, D] reshapes to
 * [B, Hkv, g·Tq, D] and every matmul runs against k, v [B, Hkv, Tk, ·] directly (the VJP's
 * sum over a group's heads falls out of the matmul's inner dimension).
 */

interface Dims {
  b: number; hq: number; hkv: number; g: number; tq: number; tk: number; d: number; dv: number;
}

function dims(q: Val, k: Val, v: Val): Dims {
  const [b, hq, tq, d] = q.shape as [number, number, number, number];
  const [, hkv, tk] = k.shape as [number, number, number, number];
  return { b, hq, hkv, g: hq / hkv, tq, tk, d, dv: v.shape[3]! };
}

const reshape = (b: GraphBuilder, x: string, shape: readonly number[], out?: string) =>
  b.op("Reshape", [x, b.i64(shape)], shape.includes(0) ? [attr.int("allowzero", 1)] : [], out);
/**
 * The softmax scale. ORT's MatMulScaleFusion folds a MatMul's 1-element Mul/Div constant into
 * FusedMatMul's alpha, a float attribute: fine (and faster) for float32, but it would round a
 * float64 scale to float32, so float64 scales by a [Tk] vector, which the fusion leaves alone
 * (except when Tk = 1: a float64 attention_grad with one key is then only float32-accurate).
 */
const scaleConst = (b: GraphBuilder, dtype: Val["dtype"], scale: number, tk: number): string =>
  dtype === "float64" ? b.initializer("float64", [tk], new Float64Array(tk).fill(scale), "scale") : b.scalar(dtype, scale);
const transposeLast = (b: GraphBuilder, x: string) => b.op("Transpose", [x], [attr.ints("perm", [0, 1, 3, 2])]);

/**
 * P = softmax(q kᵀ·scale, masked) in the grouped layout [B, Hkv, g·Tq, Tk], and q grouped.
 * Memoized per (q, k, causal, scale): attention_grad of the same operands reuses the forward's P
 * (one QKᵀ matmul, mask and softmax fewer per layer, for keeping P alive until the backward).
 */
function probabilities(b: GraphBuilder, q: Val, k: Val, n: Dims, causal: boolean, scale: number): { p: string; qg: string } {
  const key = `attention:${q.name}:${k.name}:${causal}:${scale}`;
  const hit = b.memo.get(key) as { p: string; qg: string } | undefined;
  if (hit) return hit;
  const made = computeProbabilities(b, q, k, n, causal, scale);
  b.memo.set(key, made);
  return made;
}

function computeProbabilities(b: GraphBuilder, q: Val, k: Val, n: Dims, causal: boolean, scale: number): { p: string; qg: string } {
  const qg = reshape(b, q.name, [n.b, n.hkv, n.g * n.tq, n.d]);
  let s = b.op("Mul", [b.op("MatMul", [qg, transposeLast(b, k.name)]), scaleConst(b, q.dtype, scale, n.tk)]);
  if (causal) {
    // Row r of a group is query t = r mod Tq at position t + Tk − Tq; it sees keys ≤ that position.
    // Added as 0 / −∞ rather than selected with Where: ORT's broadcast Add over the trailing
    // [g·Tq, Tk] is several times faster than its broadcast Where, and x + 0 = x exactly.
    const mask = q.dtype === "float64" ? new Float64Array(n.g * n.tq * n.tk) : new Float32Array(n.g * n.tq * n.tk);
    for (let r = 0; r < n.g * n.tq; r++) for (let j = 0; j < n.tk; j++) if (j > (r % n.tq) + n.tk - n.tq) mask[r * n.tk + j] = -Infinity;
    s = b.op("Add", [s, b.initializer(q.dtype, [n.g * n.tq, n.tk], mask, "causal_mask")]);
  }
  return { p: b.op("Softmax", [s], [attr.int("axis", -1)]), qg };
}

export function lowerAttention(b: GraphBuilder, call: CallOf<"attention">, q: Val, k: Val, v: Val, out?: string): string {
  const n = dims(q, k, v);
  const { p } = probabilities(b, q, k, n, call.causal, call.scale);
  return reshape(b, b.op("MatMul", [p, v.name]), [n.b, n.hq, n.tq, n.dv], out);
}

/**
 * dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS K·scale, dK = dSᵀ Q·scale;
 * returned flat and concatenated as [dq, dk, dv].
 */
export function lowerAttentionGrad(b: GraphBuilder, call: CallOf<"attention_grad">, ins: readonly Val[], out?: string): string {
  const [q, k, v, o, dO] = ins as [Val, Val, Val, Val, Val];
  const n = dims(q, k, v);
  const { p, qg } = probabilities(b, q, k, n, call.causal, call.scale);
  const dOg = reshape(b, dO.name, [n.b, n.hkv, n.g * n.tq, n.dv]);
  const og = reshape(b, o.name, [n.b, n.hkv, n.g * n.tq, n.dv]);
  const dv = b.op("MatMul", [transposeLast(b, p), dOg]);
  const dp = b.op("MatMul", [dOg, transposeLast(b, v.name)]);
  const delta = b.op("ReduceSum", [b.op("Mul", [dOg, og]), b.i64([-1])], [attr.int("keepdims", 1)]);
  let dq: string, dk: string;
  if (q.dtype === "float32") {
    // The scale after the matmuls, where ORT folds it into FusedMatMul's alpha: one pass fewer
    // over the [B, Hkv, g·Tq, Tk] scores than scaling dS.
    const ds = b.op("Mul", [p, b.op("Sub", [dp, delta])]);
    dq = b.op("Mul", [b.op("MatMul", [ds, k.name]), b.scalar("float32", call.scale)]);
    dk = b.op("Mul", [b.op("MatMul", [transposeLast(b, ds), qg]), b.scalar("float32", call.scale)]);
  } else {
    const ds = b.op("Mul", [b.op("Mul", [p, b.op("Sub", [dp, delta])]), scaleConst(b, q.dtype, call.scale, n.tk)]);
    dq = b.op("MatMul", [ds, k.name]);
    dk = b.op("MatMul", [transposeLast(b, ds), qg]);
  }
  const flat = (x: string, m: Val) => reshape(b, x, [numel(m.shape)]);
  return b.op("Concat", [flat(dq, q), flat(dk, k), flat(dv, v)], [attr.int("axis", 0)], out);
}
