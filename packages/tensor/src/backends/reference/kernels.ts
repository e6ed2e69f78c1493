/** The reference backend's kernels: plain loops over strided views, arithmetic in float64. */
import { roundTo, type DType, type TypedArray } from "../../core/dtype.js";
import { OpError } from "../../core/errors.js";
import { numel, type Shape } from "../../core/shape.js";
import { elementOffsets } from "../../core/strided.js";
import type { View } from "../../backend/view.js";
import type { ActivationGradOp, ArgReduceOp, AttentionOp, BinaryOp, CallOf, FusedOp, NormGradOp, RandomDist, ReduceOp, UnaryOp } from "../../ops/primitives.js";
import { bernoulliFromWord, forEachRandomWords, normalFromWords, uniformFromWords } from "../../random/threefry.js";
import { BINARY, INT_BINARY, UNARY, erf, pow } from "./scalar.js";

/** Reads a view's elements (through its strides) as float64 numbers. */
export type Reader = (v: View) => { data: TypedArray; offsets: Int32Array };

export interface Out {
  data: TypedArray;
  dtype: DType;
  shape: Shape;
}

/** Stores every value with the output dtype's rounding (float32 rounds, int32 truncates). */
function store(out: Out, i: number, v: number): void {
  out.data[i] = roundTo(out.dtype, v);
}

export function unary(fn: (x: number) => number, x: { data: TypedArray; offsets: Int32Array }, out: Out): void {
  const { data, offsets } = x;
  for (let i = 0; i < offsets.length; i++) store(out, i, fn(data[offsets[i]!]!));
}

export function unaryOp(op: UnaryOp | "pow_scalar" | "copy" | "cast", exponent: number) {
  if (op === "pow_scalar") return (x: number) => pow(x, exponent);
  if (op === "copy" || op === "cast") return (x: number) => x;
  return UNARY[op];
}

export function binary(op: BinaryOp, a: { data: TypedArray; offsets: Int32Array }, b: { data: TypedArray; offsets: Int32Array }, inDType: DType, out: Out): void {
  const fn = (inDType === "int32" && INT_BINARY[op]) || BINARY[op];
  for (let i = 0; i < a.offsets.length; i++) store(out, i, fn(a.data[a.offsets[i]!]!, b.data[b.offsets[i]!]!));
}

export function where(c: { data: TypedArray; offsets: Int32Array }, a: { data: TypedArray; offsets: Int32Array }, b: { data: TypedArray; offsets: Int32Array }, out: Out): void {
  for (let i = 0; i < c.offsets.length; i++) {
    store(out, i, c.data[c.offsets[i]!] ? a.data[a.offsets[i]!]! : b.data[b.offsets[i]!]!);
  }
}

/** Maps each input element to its output slot (reduced axes collapse to index 0). */
function reduceSlots(shape: Shape, isReduced: (axis: number) => boolean): Int32Array {
  const outStrides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    outStrides[i] = isReduced(i) ? 0 : s;
    if (!isReduced(i)) s *= shape[i]!;
  }
  return elementOffsets({ shape, strides: outStrides, offset: 0 });
}

export function reduce(op: ReduceOp, x: { data: TypedArray; offsets: Int32Array }, shape: Shape, axes: readonly number[], out: Out): void {
  const slots = reduceSlots(shape, (a) => axes.includes(a));
  const n = numel(out.shape);
  const acc = new Float64Array(n).fill(op === "sum" ? 0 : op === "max" ? -Infinity : Infinity);
  for (let i = 0; i < x.offsets.length; i++) {
    const v = x.data[x.offsets[i]!]!;
    const j = slots[i]!;
    const a = acc[j]!;
    if (op === "sum") acc[j] = a + v;
    else if (a !== a) continue;
    else if (v !== v || (op === "max" ? v > a : v < a)) acc[j] = v;
  }
  for (let j = 0; j < n; j++) store(out, j, acc[j]!);
}

export function argReduce(op: ArgReduceOp, x: { data: TypedArray; offsets: Int32Array }, shape: Shape, axis: number, out: Out): void {
  const slots = reduceSlots(shape, (a) => a === axis);
  const n = numel(out.shape);
  const best = new Float64Array(n).fill(NaN);
  const seen = new Uint8Array(n);
  const pos = axisPositions(shape, axis);
  for (let i = 0; i < x.offsets.length; i++) {
    const v = x.data[x.offsets[i]!]!;
    const j = slots[i]!;
    const b = best[j]!;
    // First occurrence wins; NaN counts as the extreme (as in NumPy/torch).
    const better = !seen[j] || (b === b && (v !== v || (op === "argmax" ? v > b : v < b)));
    if (better) {
      best[j] = v;
      out.data[j] = pos[i]!;
      seen[j] = 1;
    }
  }
}

/** For each element in row-major order, its index along `axis`. */
function axisPositions(shape: Shape, axis: number): Int32Array {
  const strides = shape.map((_, i) => (i === axis ? 1 : 0));
  return elementOffsets({ shape, strides, offset: 0 });
}

export function cumsum(x: { data: TypedArray; offsets: Int32Array }, shape: Shape, axis: number, out: Out): void {
  const pos = axisPositions(shape, axis);
  const inner = numel(shape.slice(axis + 1));
  const acc = new Float64Array(x.offsets.length);
  for (let i = 0; i < x.offsets.length; i++) {
    const v = x.data[x.offsets[i]!]!;
    acc[i] = pos[i] === 0 ? v : acc[i - inner]! + v;
    store(out, i, acc[i]!);
  }
}

export function matmul(a: View, b: View, read: Reader, out: Out): void {
  const sa = a.shape, sb = b.shape;
  const r = sa.length;
  const [m, k] = [sa[r - 2]!, sa[r - 1]!];
  const n = sb[r - 1]!;
  const batch = numel(out.shape.slice(0, -2));
  const A = read(a), B = read(b);
  const acc = new Float64Array(n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = A.data[A.offsets[(bi * m + i) * k + p]!]!;
        const rowB = (bi * k + p) * n;
        for (let j = 0; j < n; j++) acc[j] += av * B.data[B.offsets[rowB + j]!]!;
      }
      for (let j = 0; j < n; j++) store(out, (bi * m + i) * n + j, acc[j]!);
    }
  }
}

export function concat(inputs: readonly View[], read: Reader, axis: number, out: Out): void {
  const outer = numel(out.shape.slice(0, axis));
  const inner = numel(out.shape.slice(axis + 1));
  const outRow = out.shape[axis]! * inner;
  let at = 0;
  for (const v of inputs) {
    const { data, offsets } = read(v);
    const row = v.shape[axis]! * inner;
    for (let o = 0; o < outer; o++) for (let i = 0; i < row; i++) store(out, o * outRow + at + i, data[offsets[o * row + i]!]!);
    at += row;
  }
}

/** Position in `target` (contiguous, shape `tshape`) of element i of `ishape`, with axis coordinate replaced by idx. */
function indexedOffsets(op: string, ishape: Shape, tshape: Shape, axis: number, idx: { data: TypedArray; offsets: Int32Array }): Int32Array {
  const tstrides: number[] = [];
  let s = 1;
  for (let i = tshape.length - 1; i >= 0; i--) (tstrides[i] = s), (s *= tshape[i]!);
  const base = elementOffsets({ shape: ishape, strides: tstrides.map((t, i) => (i === axis ? 0 : t)), offset: 0 });
  const len = tshape[axis]!;
  for (let i = 0; i < base.length; i++) {
    let j = idx.data[idx.offsets[i]!]!;
    if (j < 0) j += len;
    if (j < 0 || j >= len) throw new OpError(op, `index ${idx.data[idx.offsets[i]!]} is out of range for axis ${axis} of size ${len}`);
    base[i] += j * tstrides[axis]!;
  }
  return base;
}

export function gather(x: View, idx: View, read: Reader, axis: number, out: Out): void {
  const X = read({ ...x, shape: x.shape });
  const pos = indexedOffsets("gather", idx.shape, x.shape, axis, read(idx));
  for (let i = 0; i < pos.length; i++) store(out, i, X.data[X.offsets[pos[i]!]!]!);
}

export function scatterAdd(base: View, idx: View, src: View, read: Reader, axis: number, out: Out): void {
  const B = read(base);
  const acc = new Float64Array(B.offsets.length);
  for (let i = 0; i < acc.length; i++) acc[i] = B.data[B.offsets[i]!]!;
  const pos = indexedOffsets("scatter_add", idx.shape, base.shape, axis, read(idx));
  const S = read(src);
  // Sequential order of accumulation: deterministic.
  for (let i = 0; i < pos.length; i++) acc[pos[i]!] += S.data[S.offsets[i]!]!;
  for (let i = 0; i < acc.length; i++) store(out, i, acc[i]!);
}

export function pad(x: { data: TypedArray; offsets: Int32Array }, shape: Shape, pads: CallOf<"pad">["pads"], out: Out): void {
  const ostrides: number[] = [];
  let s = 1;
  for (let i = out.shape.length - 1; i >= 0; i--) (ostrides[i] = s), (s *= out.shape[i]!);
  const start = pads.reduce((acc, [before], i) => acc + before * ostrides[i]!, 0);
  const dst = elementOffsets({ shape, strides: ostrides, offset: start });
  out.data.fill(0); // other backends reuse memory: never assume a zeroed output
  for (let i = 0; i < dst.length; i++) store(out, dst[i]!, x.data[x.offsets[i]!]!);
}

export function random(dist: RandomDist, key: readonly [number, number], counter: number, p: number, out: Out): void {
  const float32 = out.dtype !== "float64";
  forEachRandomWords(key, counter, out.data.length, (i, w0, w1) =>
    store(out, i, dist === "normal" ? normalFromWords(w0, w1) : dist === "uniform" ? uniformFromWords(w0, w1, float32) : +bernoulliFromWord(w0, p)),
  );
}

export function fill(out: Out, value: (i: number) => number): void {
  for (let i = 0; i < out.data.length; i++) store(out, i, value(i));
}


/**
 * The fused composites in float64, one pass per statistic over each row along `axis`
 * (the last axis for the norms). Their definitions are the decompositions in composite/fused.ts.
 */
export function fusedRows(call: CallOf<FusedOp>, x: { data: TypedArray; offsets: Int32Array }, shape: Shape, out: Out): void {
  const axis = call.op === "softmax" || call.op === "log_softmax" ? call.axis : shape.length - 1;
  const slots = reduceSlots(shape, (a) => a === axis);
  const rows = numel(shape) / Math.max(shape[axis]!, 1);
  const n = shape[axis]!;
  const v = (i: number): number => x.data[x.offsets[i]!]!;
  const a = new Float64Array(rows).fill(call.op === "softmax" || call.op === "log_softmax" ? -Infinity : 0);
  const b = new Float64Array(rows);
  const len = x.offsets.length;
  if (call.op === "softmax" || call.op === "log_softmax") {
    for (let i = 0; i < len; i++) a[slots[i]!] = Math.max(a[slots[i]!]!, v(i));
    for (let i = 0; i < len; i++) b[slots[i]!] += Math.exp(v(i) - a[slots[i]!]!);
    for (let i = 0; i < len; i++) {
      const j = slots[i]!;
      store(out, i, call.op === "softmax" ? Math.exp(v(i) - a[j]!) / b[j]! : v(i) - a[j]! - Math.log(b[j]!));
    }
  } else if (call.op === "layer_norm") {
    for (let i = 0; i < len; i++) a[slots[i]!] += v(i) / n;
    for (let i = 0; i < len; i++) b[slots[i]!] += (v(i) - a[slots[i]!]!) ** 2 / n;
    for (let i = 0; i < len; i++) store(out, i, (v(i) - a[slots[i]!]!) / Math.sqrt(b[slots[i]!]! + call.eps));
  } else {
    for (let i = 0; i < len; i++) a[slots[i]!] += v(i) ** 2 / n;
    for (let i = 0; i < len; i++) store(out, i, v(i) / Math.sqrt(a[slots[i]!]! + call.eps));
  }
}

/**
 * Per query row of attention (composite/attention.ts): the keys it sees and its softmax
 * probabilities over them, in float64 (as the decomposition: max shift, exp, normalise).
 */
function attentionRows(call: CallOf<AttentionOp>, inputs: readonly View[], read: Reader) {
  const [qv, kv, vv] = inputs as [View, View, View];
  const [B, Hq, Tq, D] = qv.shape as [number, number, number, number];
  const [, Hkv, Tk] = kv.shape as [number, number, number];
  const Dv = vv.shape[3]!;
  const group = Hq / Hkv;
  const Q = read(qv), K = read(kv), V = read(vv);
  const q = (b: number, h: number, i: number, d: number) => Q.data[Q.offsets[((b * Hq + h) * Tq + i) * D + d]!]!;
  const k = (b: number, g: number, j: number, d: number) => K.data[K.offsets[((b * Hkv + g) * Tk + j) * D + d]!]!;
  const v = (b: number, g: number, j: number, e: number) => V.data[V.offsets[((b * Hkv + g) * Tk + j) * Dv + e]!]!;
  const p = new Float64Array(Tk);
  /** Fills p[0..n) with row (b, h, i)'s probabilities over keys 0..n-1 and returns n. */
  const probs = (b: number, h: number, i: number): number => {
    const g = Math.floor(h / group);
    const n = call.causal ? Tk - Tq + i + 1 : Tk;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += q(b, h, i, d) * k(b, g, j, d);
      p[j] = s * call.scale;
      max = Math.max(max, p[j]!);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += p[j] = Math.exp(p[j]! - max);
    for (let j = 0; j < n; j++) p[j]! /= sum;
    return n;
  };
  return { B, Hq, Hkv, Tq, Tk, D, Dv, group, q, k, v, p, probs };
}

/** softmax(q kᵀ · scale [+ causal mask]) v, in float64. */
export function attention(call: CallOf<"attention">, inputs: readonly View[], read: Reader, out: Out): void {
  const { B, Hq, Tq, Dv, group, v, p, probs } = attentionRows(call, inputs, read);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const n = probs(b, h, i);
        acc.fill(0);
        for (let j = 0; j < n; j++) for (let e = 0; e < Dv; e++) acc[e] += p[j]! * v(b, g, j, e);
        for (let e = 0; e < Dv; e++) store(out, ((b * Hq + h) * Tq + i) * Dv + e, acc[e]!);
      }
    }
  }
}

/** The attention VJP (inputs q, k, v, out, dOut) → concat(dq, dk, dv) flattened, in float64. */
export function attentionGrad(call: CallOf<"attention_grad">, inputs: readonly View[], read: Reader, out: Out): void {
  const { B, Hq, Hkv, Tq, Tk, D, Dv, group, q, k, v, p, probs } = attentionRows(call, inputs, read);
  const O = read(inputs[3]!), dO = read(inputs[4]!);
  const o = (b: number, h: number, i: number, e: number) => O.data[O.offsets[((b * Hq + h) * Tq + i) * Dv + e]!]!;
  const dout = (b: number, h: number, i: number, e: number) => dO.data[dO.offsets[((b * Hq + h) * Tq + i) * Dv + e]!]!;
  const nq = B * Hq * Tq * D, nk = B * Hkv * Tk * D;
  const dq = new Float64Array(nq), dk = new Float64Array(nk), dv = new Float64Array(B * Hkv * Tk * Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const n = probs(b, h, i);
        let delta = 0;
        for (let e = 0; e < Dv; e++) delta += dout(b, h, i, e) * o(b, h, i, e);
        const qRow = ((b * Hq + h) * Tq + i) * D;
        for (let j = 0; j < n; j++) {
          let dp = 0;
          for (let e = 0; e < Dv; e++) dp += dout(b, h, i, e) * v(b, g, j, e);
          const ds = p[j]! * (dp - delta) * call.scale;
          const kRow = ((b * Hkv + g) * Tk + j) * D;
          const vRow = ((b * Hkv + g) * Tk + j) * Dv;
          for (let d = 0; d < D; d++) {
            dq[qRow + d] += ds * k(b, g, j, d);
            dk[kRow + d] += ds * q(b, h, i, d);
          }
          for (let e = 0; e < Dv; e++) dv[vRow + e] += p[j]! * dout(b, h, i, e);
        }
      }
    }
  }
  let at = 0;
  for (const part of [dq, dk, dv]) for (let i = 0; i < part.length; i++) store(out, at++, part[i]!);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** d gelu / dx and d silu / dx in float64 (the formulas of the decompositions in composite/fused.ts). */
function activationDerivative(call: CallOf<ActivationGradOp>): (x: number) => number {
  if (call.op === "silu_grad") {
    return (x) => {
      const s = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
      return s * (1 + x * (1 - s));
    };
  }
  if (call.approximate === "tanh") {
    return (x) => {
      const x2 = x * x;
      const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x2));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x2);
    };
  }
  return (x) => 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
}

/** g · f'(x) elementwise (inputs of one shape). */
export function activationGrad(call: CallOf<ActivationGradOp>, x: { data: TypedArray; offsets: Int32Array }, g: { data: TypedArray; offsets: Int32Array }, out: Out): void {
  const d = activationDerivative(call);
  for (let i = 0; i < x.offsets.length; i++) store(out, i, g.data[g.offsets[i]!]! * d(x.data[x.offsets[i]!]!));
}

/** The VJP of layer_norm / rms_norm over the last axis, in float64, row by row. */
export function normGrad(call: CallOf<NormGradOp>, x: { data: TypedArray; offsets: Int32Array }, g: { data: TypedArray; offsets: Int32Array }, shape: Shape, out: Out): void {
  const n = shape[shape.length - 1]!;
  const rows = n === 0 ? 0 : x.offsets.length / n;
  const xs = new Float64Array(n), gs = new Float64Array(n);
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    for (let j = 0; j < n; j++) (xs[j] = x.data[x.offsets[base + j]!]!), (gs[j] = g.data[g.offsets[base + j]!]!);
    let mu = 0;
    if (call.op === "layer_norm_grad") {
      for (let j = 0; j < n; j++) mu += xs[j]! / n;
    }
    let v = 0;
    for (let j = 0; j < n; j++) v += (xs[j]! - mu) ** 2 / n;
    const r = 1 / Math.sqrt(v + call.eps);
    let mg = 0, mgy = 0;
    for (let j = 0; j < n; j++) {
      if (call.op === "layer_norm_grad") mg += gs[j]! / n;
      mgy += (gs[j]! * (xs[j]! - mu) * r) / n;
    }
    for (let j = 0; j < n; j++) store(out, base + j, r * (gs[j]! - mg - (xs[j]! - mu) * r * mgy));
  }
}
