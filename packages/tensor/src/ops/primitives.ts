import { isFloat, type DType, type TypedArray } from "../core/dtype.js";
import { OpError, fmtShape } from "../core/errors.js";
import { broadcastShapes, numel, shapesEqual, type Shape } from "../core/shape.js";

/**
 * The primitive op set: every tensor operation is one of these, and each backend, the
 * autograd rules and the tracer speak exactly this vocabulary.
 */
export const UNARY_FLOAT_OPS = [
  "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "gelu_tanh", "gelu_erf", "silu", "reciprocal", "erf",
] as const;
export const UNARY_NUMERIC_OPS = ["neg", "abs", "sign", "relu", "square"] as const;
export const BINARY_ARITH_OPS = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"] as const;
export const COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"] as const;
export const LOGICAL_OPS = ["logical_and", "logical_or"] as const;
export const REDUCE_OPS = ["sum", "max", "min"] as const;
export const ARG_REDUCE_OPS = ["argmax", "argmin"] as const;

export type UnaryOp = (typeof UNARY_FLOAT_OPS)[number] | (typeof UNARY_NUMERIC_OPS)[number] | "logical_not";
export type BinaryOp = (typeof BINARY_ARITH_OPS)[number] | (typeof COMPARE_OPS)[number] | (typeof LOGICAL_OPS)[number];
export type ReduceOp = (typeof REDUCE_OPS)[number];
export type ArgReduceOp = (typeof ARG_REDUCE_OPS)[number];
export type RandomDist = "uniform" | "normal" | "bernoulli";

export type PrimitiveCall =
  | { op: UnaryOp }
  | { op: "pow_scalar"; exponent: number }
  | { op: BinaryOp }
  /** Reductions keep reduced dims as size 1; the frontend drops them with a reshape. */
  | { op: ReduceOp; axes: readonly number[] }
  | { op: ArgReduceOp; axis: number }
  | { op: "cumsum"; axis: number }
  /** Batched matmul over [..., m, k] x [..., k, n]; batch dims broadcast. */
  | { op: "matmul" }
  | { op: "where" }
  | { op: "cast"; dtype: DType }
  | { op: "copy" }
  | { op: "concat"; axis: number }
  /** out[..i..] = x[..idx[..i..]..] along `axis` (torch.gather / take_along_axis). */
  | { op: "gather"; axis: number }
  /** out = base; out[..idx[..i..]..] += src[..i..] along `axis` (torch.scatter_add). */
  | { op: "scatter_add"; axis: number }
  /** Zero padding: pads[d] = [before, after], both ≥ 0. */
  | { op: "pad"; pads: readonly (readonly [number, number])[] }
  | { op: "constant"; data: TypedArray; shape: Shape; dtype: DType }
  | { op: "full"; value: number; shape: Shape; dtype: DType }
  | { op: "arange"; start: number; step: number; shape: Shape; dtype: DType }
  /** Counter-based: element i is a function of (key, counter + i) only. */
  | { op: "random"; dist: RandomDist; key: readonly [number, number]; counter: number; p: number; shape: Shape; dtype: DType }
  // Fused composites: one kernel on a backend that has it, else their decomposition into
  // the primitives above runs (composite/fused.ts); the decomposition is the semantics.
  | { op: "softmax"; axis: number }
  | { op: "log_softmax"; axis: number }
  /** (x - mean) / sqrt(var + eps) over the last axis, no affine part. */
  | { op: "layer_norm"; eps: number }
  /** x / sqrt(mean(x²) + eps) over the last axis, no affine part. */
  | { op: "rms_norm"; eps: number }
  /**
   * softmax(q kᵀ · scale [+ causal mask]) v for q [B, Hq, Tq, D], k [B, Hkv, Tk, D],
   * v [B, Hkv, Tk, Dv] → [B, Hq, Tq, Dv]; query head h reads kv head ⌊h / (Hq/Hkv)⌋, and causal
   * queries are the last Tq of the Tk positions (composite/attention.ts).
   */
  | { op: "attention"; causal: boolean; scale: number }
  /**
   * The VJP of attention: inputs (q, k, v, out, dOut) → dq, dk, dv flattened and concatenated
   * into one 1-D tensor (dk, dv summed over the query heads that share a kv head).
   */
  | { op: "attention_grad"; causal: boolean; scale: number }
  /**
   * The VJPs of the activations: inputs (x, g) of one shape → g · f'(x), for f = gelu
   * (approximate "tanh": gelu_tanh, "none": gelu_erf) and silu.
   */
  | { op: "gelu_grad"; approximate: "tanh" | "none" }
  | { op: "silu_grad" }
  /**
   * The VJPs of the norms over the last axis: inputs (x, g) of one shape → dx. With
   * r = 1/sqrt(var + eps), y = (x − mean)·r: dx = r·(g − mean(g) − y·mean(g·y)) for layer_norm;
   * with r = 1/sqrt(mean(x²) + eps), y = x·r: dx = r·(g − y·mean(g·y)) for rms_norm.
   */
  | { op: "layer_norm_grad"; eps: number }
  | { op: "rms_norm_grad"; eps: number }
  /**
   * One AdamW step of one parameter, torch semantics (optim's adamw): inputs (p, g, m, v) of one
   * shape → [m', v', u] flattened and concatenated (1-D, 3·n), with
   *   m' = lerp(m, g, 1 − beta1),  v' = beta2·v + ((1 − beta2)·g)·g,
   *   u  = (m' / (√v' / bc2Sqrt + eps))·(−stepSize) + p·(−decay)   (the decay term only if decay ≠ 0).
   * One pass over memory instead of a dozen ops per parameter.
   */
  | { op: "adamw_update"; beta1: number; beta2: number; eps: number; stepSize: number; bc2Sqrt: number; decay: number }
  // View ops: no backend work, the result shares its input's buffer.
  | { op: "reshape"; shape: Shape }
  | { op: "permute"; perm: readonly number[] }
  | { op: "expand"; shape: Shape }
  | { op: "slice"; starts: readonly number[]; steps: readonly number[]; shape: Shape }
  | { op: "stop_gradient" };

export type PrimitiveName = PrimitiveCall["op"];
/** The call type of one primitive (ops that share a union member, like the reductions, narrow to it). */
export type CallOf<N extends PrimitiveName> = PrimitiveCall extends infer C ? (C extends { op: infer O } ? (N extends O ? C & { op: N } : never) : never) : never;

export type Kind = "unary" | "binary" | "reduce" | "source" | "view" | "fused" | "other";

export interface Meta {
  readonly shape: Shape;
  readonly dtype: DType;
}

const set = (xs: readonly string[]) => new Set<string>(xs);
const UNARY_FLOAT = set(UNARY_FLOAT_OPS);
const UNARY_NUMERIC = set(UNARY_NUMERIC_OPS);
const ARITH = set(BINARY_ARITH_OPS);
const COMPARE = set(COMPARE_OPS);
const LOGICAL = set(LOGICAL_OPS);
const VIEWS = set(["reshape", "permute", "expand", "slice", "stop_gradient"]);
const SOURCES = set(["constant", "full", "arange", "random"]);
/** The row-wise fused composites: one input, computed along one axis. */
export const FUSED_OPS = ["softmax", "log_softmax", "layer_norm", "rms_norm"] as const;
export type FusedOp = (typeof FUSED_OPS)[number];
/** The fused attention composites (several inputs; kind "fused" too). */
export const ATTENTION_OPS = ["attention", "attention_grad"] as const;
export type AttentionOp = (typeof ATTENTION_OPS)[number];
/** The fused elementwise VJPs of activations: inputs (x, g), output g · f'(x). */
export const ACTIVATION_GRAD_OPS = ["gelu_grad", "silu_grad"] as const;
export type ActivationGradOp = (typeof ACTIVATION_GRAD_OPS)[number];
/** The fused VJPs of the norms: inputs (x, g), output dx, row-wise over the last axis. */
export const NORM_GRAD_OPS = ["layer_norm_grad", "rms_norm_grad"] as const;
export type NormGradOp = (typeof NORM_GRAD_OPS)[number];
/** The fused optimizer updates: several same-shaped inputs, outputs packed into one 1-D tensor. */
export const OPTIMIZER_OPS = ["adamw_update"] as const;
export type OptimizerOp = (typeof OPTIMIZER_OPS)[number];
/** Every fused composite. */
export type FusedName = FusedOp | AttentionOp | ActivationGradOp | NormGradOp | OptimizerOp;
const FUSED = set([...FUSED_OPS, ...ATTENTION_OPS, ...ACTIVATION_GRAD_OPS, ...NORM_GRAD_OPS, ...OPTIMIZER_OPS]);

export function kindOf(op: PrimitiveName): Kind {
  if (UNARY_FLOAT.has(op) || UNARY_NUMERIC.has(op) || op === "logical_not" || op === "pow_scalar" || op === "cast" || op === "copy") return "unary";
  if (ARITH.has(op) || COMPARE.has(op) || LOGICAL.has(op) || op === "where") return "binary";
  if (op === "sum" || op === "max" || op === "min" || op === "argmax" || op === "argmin") return "reduce";
  if (VIEWS.has(op)) return "view";
  if (SOURCES.has(op)) return "source";
  if (FUSED.has(op)) return "fused";
  return "other";
}

const desc = (m: Meta) => `${fmtShape(m.shape)} ${m.dtype}`;

function arity(op: string, inputs: readonly Meta[], n: number): void {
  if (inputs.length !== n) throw new OpError(op, `expects ${n} input(s), got ${inputs.length}`);
}

function sameDType(op: string, inputs: readonly Meta[]): DType {
  const d = inputs[0]!.dtype;
  if (inputs.some((m) => m.dtype !== d)) throw new OpError(op, `inputs must share a dtype, got ${inputs.map(desc).join(" and ")}`);
  return d;
}

/**
 * Checks the q, k, v (and, for the gradient, out and dOut) operands of an attention primitive:
 * float and of one dtype, q [B, Hq, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv], Hkv | Hq,
 * and Tq ≤ Tk when causal. Returns [B, Hq, Tq].
 */
function attentionShapes(op: string, inputs: readonly Meta[], causal: boolean): [number, number, number] {
  const [q, k, v] = inputs as [Meta, Meta, Meta];
  const dtype = sameDType(op, inputs);
  if (!isFloat(dtype)) throw new OpError(op, `needs float inputs, got ${inputs.map(desc).join(", ")}`);
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) {
    throw new OpError(op, `q, k, v must be [batch, heads, time, head_dim], got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  const [b, hq, tq, d] = q.shape as [number, number, number, number];
  const [bk, hkv, tk, dk] = k.shape as [number, number, number, number];
  if (bk !== b || dk !== d || v.shape[0] !== b || v.shape[1] !== hkv || v.shape[2] !== tk) {
    throw new OpError(op, `k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} do not fit q ${fmtShape(q.shape)}`);
  }
  if (hkv === 0 || hq % hkv !== 0) throw new OpError(op, `query heads (${hq}) must be a multiple of kv heads (${hkv}): q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}`);
  if (causal && tq > tk) throw new OpError(op, `causal attention needs at least as many keys (${tk}) as queries (${tq})`);
  return [b, hq, tq];
}

/** Shape and dtype of a primitive's output; throws an OpError naming the op and operands. */
export function infer(call: PrimitiveCall, inputs: readonly Meta[]): Meta {
  const op = call.op;
  const x = inputs[0]!;
  switch (call.op) {
    case "matmul": {
      arity(op, inputs, 2);
      const [a, b] = inputs as [Meta, Meta];
      const dtype = sameDType(op, inputs);
      if (!isFloat(dtype) && dtype !== "int32") throw new OpError(op, `needs numeric inputs, got ${desc(a)} and ${desc(b)}`);
      if (a.shape.length < 2 || b.shape.length < 2) throw new OpError(op, `primitive needs rank ≥ 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
      const [m, k] = a.shape.slice(-2) as [number, number];
      const [k2, n] = b.shape.slice(-2) as [number, number];
      if (k !== k2) throw new OpError(op, `inner dimensions differ: a ${fmtShape(a.shape)} has ${k} columns, b ${fmtShape(b.shape)} has ${k2} rows`);
      let batch: number[];
      try {
        batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
      } catch {
        throw new OpError(op, `batch dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be broadcast together`);
      }
      return { shape: [...batch, m, n], dtype };
    }
    case "where": {
      arity(op, inputs, 3);
      const [c, a, b] = inputs as [Meta, Meta, Meta];
      if (c.dtype !== "bool") throw new OpError(op, `condition must be bool, got ${desc(c)}`);
      return { shape: broadcastShapes(op, c.shape, a.shape, b.shape), dtype: sameDType(op, [a, b]) };
    }
    case "pow_scalar":
      arity(op, inputs, 1);
      if (!isFloat(x.dtype)) throw new OpError(op, `needs a float input, got ${desc(x)}`);
      return x;
    case "cast":
      arity(op, inputs, 1);
      return { shape: x.shape, dtype: call.dtype };
    case "copy":
      arity(op, inputs, 1);
      return x;
    case "sum":
    case "max":
    case "min":
      arity(op, inputs, 1);
      if (x.dtype === "bool" && op !== "sum") throw new OpError(op, `needs a numeric input, got ${desc(x)}`);
      if (op !== "sum" && call.axes.some((a) => x.shape[a] === 0)) throw new OpError(op, `cannot reduce an empty axis of ${fmtShape(x.shape)}: ${op} has no identity`);
      return { shape: x.shape.map((d, i) => (call.axes.includes(i) ? 1 : d)), dtype: x.dtype === "bool" ? "int32" : x.dtype };
    case "argmax":
    case "argmin":
      arity(op, inputs, 1);
      if (x.shape[call.axis] === 0) throw new OpError(op, `cannot reduce an empty axis of ${fmtShape(x.shape)}`);
      return { shape: x.shape.map((d, i) => (i === call.axis ? 1 : d)), dtype: "int32" };
    case "cumsum":
      arity(op, inputs, 1);
      return { shape: x.shape, dtype: x.dtype === "bool" ? "int32" : x.dtype };
    case "concat": {
      if (inputs.length === 0) throw new OpError(op, "needs at least one input");
      if (x.shape.length === 0) throw new OpError(op, "zero-dimensional tensors cannot be concatenated (stack them instead)");
      const dtype = sameDType(op, inputs);
      let total = 0;
      for (const m of inputs) {
        const ok = m.shape.length === x.shape.length && m.shape.every((d, i) => i === call.axis || d === x.shape[i]);
        if (!ok) throw new OpError(op, `shapes ${inputs.map((i) => fmtShape(i.shape)).join(", ")} differ outside axis ${call.axis}`);
        total += m.shape[call.axis]!;
      }
      return { shape: x.shape.map((d, i) => (i === call.axis ? total : d)), dtype };
    }
    case "gather": {
      arity(op, inputs, 2);
      const idx = inputs[1]!;
      if (idx.dtype !== "int32") throw new OpError(op, `indices must be int32, got ${desc(idx)}`);
      if (idx.shape.length !== x.shape.length || idx.shape.some((d, i) => i !== call.axis && d > x.shape[i]!)) {
        throw new OpError(op, `indices ${fmtShape(idx.shape)} must have the rank of the input ${fmtShape(x.shape)} and no larger dims off axis ${call.axis}`);
      }
      return { shape: idx.shape, dtype: x.dtype };
    }
    case "scatter_add": {
      arity(op, inputs, 3);
      const [base, idx, src] = inputs as [Meta, Meta, Meta];
      if (idx.dtype !== "int32") throw new OpError(op, `indices must be int32, got ${desc(idx)}`);
      sameDType(op, [base, src]);
      if (!shapesEqual(idx.shape, src.shape) || idx.shape.length !== base.shape.length || idx.shape.some((d, i) => i !== call.axis && d > base.shape[i]!)) {
        throw new OpError(op, `indices ${fmtShape(idx.shape)} and source ${fmtShape(src.shape)} must match and fit in base ${fmtShape(base.shape)} off axis ${call.axis}`);
      }
      return base;
    }
    case "pad":
      arity(op, inputs, 1);
      if (call.pads.length !== x.shape.length || call.pads.some(([a, b]) => a < 0 || b < 0 || !Number.isInteger(a) || !Number.isInteger(b))) {
        throw new OpError(op, `pads ${JSON.stringify(call.pads)} must give [before, after] ≥ 0 for each of the ${x.shape.length} dims of ${fmtShape(x.shape)}`);
      }
      return { shape: x.shape.map((d, i) => d + call.pads[i]![0] + call.pads[i]![1]), dtype: x.dtype };
    case "constant":
      if (call.data.length !== numel(call.shape)) throw new OpError(op, `${call.data.length} values do not fill shape ${fmtShape(call.shape)}`);
      return call;
    case "full":
    case "arange":
    case "random":
      return call;
    case "reshape":
      arity(op, inputs, 1);
      if (numel(call.shape) !== numel(x.shape)) throw new OpError(op, `cannot reshape ${fmtShape(x.shape)} (${numel(x.shape)} elements) to ${fmtShape(call.shape)} (${numel(call.shape)} elements)`);
      return { shape: call.shape, dtype: x.dtype };
    case "permute": {
      arity(op, inputs, 1);
      const p = call.perm;
      if (p.length !== x.shape.length || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
        throw new OpError(op, `[${p}] is not a permutation of the ${x.shape.length} axes of ${fmtShape(x.shape)}`);
      }
      return { shape: p.map((i) => x.shape[i]!), dtype: x.dtype };
    }
    case "expand": {
      arity(op, inputs, 1);
      const s = call.shape;
      const off = s.length - x.shape.length;
      if (off < 0 || s.some((d) => !Number.isInteger(d) || d < 0) || x.shape.some((d, i) => d !== 1 && d !== s[off + i])) throw new OpError(op, `cannot expand ${fmtShape(x.shape)} to ${fmtShape(s)}`);
      return { shape: s, dtype: x.dtype };
    }
    case "slice":
      arity(op, inputs, 1);
      return { shape: call.shape, dtype: x.dtype };
    case "stop_gradient":
      arity(op, inputs, 1);
      return x;
    case "attention": {
      arity(op, inputs, 3);
      const [b, hq, tq] = attentionShapes(op, inputs, call.causal);
      return { shape: [b, hq, tq, inputs[2]!.shape[3]!], dtype: x.dtype };
    }
    case "attention_grad": {
      arity(op, inputs, 5);
      const [b, hq, tq] = attentionShapes(op, inputs, call.causal);
      const [k, v, out, dOut] = inputs.slice(1) as [Meta, Meta, Meta, Meta];
      const outShape = [b, hq, tq, v.shape[3]!];
      if (!shapesEqual(out.shape, outShape) || !shapesEqual(dOut.shape, outShape)) {
        throw new OpError(op, `out ${fmtShape(out.shape)} and its cotangent ${fmtShape(dOut.shape)} must both be ${fmtShape(outShape)}`);
      }
      return { shape: [numel(x.shape) + numel(k.shape) + numel(v.shape)], dtype: x.dtype };
    }
    case "gelu_grad":
    case "silu_grad":
    case "layer_norm_grad":
    case "rms_norm_grad": {
      arity(op, inputs, 2);
      const g = inputs[1]!;
      const dtype = sameDType(op, inputs);
      if (!isFloat(dtype)) throw new OpError(op, `needs float inputs, got ${inputs.map(desc).join(" and ")}`);
      if (!shapesEqual(x.shape, g.shape)) throw new OpError(op, `x ${fmtShape(x.shape)} and its cotangent ${fmtShape(g.shape)} must have one shape`);
      if ((op === "layer_norm_grad" || op === "rms_norm_grad") && x.shape.length === 0) throw new OpError(op, `needs rank ≥ 1, got ${desc(x)}`);
      return x;
    }
    case "adamw_update": {
      arity(op, inputs, 4);
      const dtype = sameDType(op, inputs);
      if (!isFloat(dtype)) throw new OpError(op, `needs float inputs, got ${inputs.map(desc).join(", ")}`);
      if (inputs.some((m) => !shapesEqual(m.shape, x.shape))) throw new OpError(op, `p, g, m, v must have one shape, got ${inputs.map(desc).join(", ")}`);
      return { shape: [3 * numel(x.shape)], dtype };
    }
    case "softmax":
    case "log_softmax":
    case "layer_norm":
    case "rms_norm":
      arity(op, inputs, 1);
      if (!isFloat(x.dtype)) throw new OpError(op, `needs a float input, got ${desc(x)}`);
      if (x.shape.length === 0) throw new OpError(op, `needs rank ≥ 1, got ${desc(x)}`);
      return x;
  }
  // Elementwise unary and binary ops.
  if (UNARY_FLOAT.has(op)) {
    arity(op, inputs, 1);
    if (!isFloat(x.dtype)) throw new OpError(op, `needs a float input, got ${desc(x)}`);
    return x;
  }
  if (UNARY_NUMERIC.has(op)) {
    arity(op, inputs, 1);
    if (x.dtype === "bool") throw new OpError(op, `needs a numeric input, got ${desc(x)}`);
    return x;
  }
  if (op === "logical_not") {
    arity(op, inputs, 1);
    if (x.dtype !== "bool") throw new OpError(op, `needs a bool input, got ${desc(x)}`);
    return x;
  }
  arity(op, inputs, 2);
  const dtype = sameDType(op, inputs);
  const shape = broadcastShapes(op, x.shape, inputs[1]!.shape);
  if (COMPARE.has(op)) return { shape, dtype: "bool" };
  if (LOGICAL.has(op)) {
    if (dtype !== "bool") throw new OpError(op, `needs bool inputs, got ${inputs.map(desc).join(" and ")}`);
    return { shape, dtype };
  }
  if (dtype === "bool") throw new OpError(op, `needs numeric inputs, got ${inputs.map(desc).join(" and ")}`);
  if ((op === "pow" || op === "div") && !isFloat(dtype)) throw new OpError(op, `needs float inputs, got ${inputs.map(desc).join(" and ")}`);
  return { shape, dtype };
}
