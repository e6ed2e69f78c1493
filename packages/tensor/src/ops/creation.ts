import { assertDType, roundTo, typedArray, type DType, type TypedArray } from "../core/dtype.js";
import { OpError } from "../core/errors.js";
import { assertShape, type Shape } from "../core/shape.js";
import { apply } from "../dispatch.js";
import type { NestedArray, Tensor } from "../tensor.js";

export interface CreateOptions {
  dtype?: DType;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: Shape, depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new OpError("tensor", "ragged nested array: deeper than its first element");
    out.push(typeof data === "boolean" ? (data ? 1 : 0) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new OpError("tensor", `ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  for (const d of data) flatten(d, shape, depth + 1, out);
}

/** A tensor from a typed array, used as is (a copy is written to the backend). */
export function fromTypedArray(data: TypedArray, shape: Shape, dtype: DType): Tensor {
  assertShape("tensor", shape);
  return apply({ op: "constant", data, shape, dtype }, []);
}

/**
 * A tensor from nested arrays, a typed array or a number. The dtype defaults to float32
 * (bool for booleans, int32 for an Int32Array).
 */
export function tensor(data: NestedArray | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const dtype = opts.dtype ?? (data instanceof Int32Array ? "int32" : data instanceof Float64Array ? "float64" : data instanceof Uint8Array ? "bool" : "float32");
    assertDType(dtype);
    const shape = opts.shape ?? [data.length];
    const arr = typedArray(dtype, data.length);
    for (let i = 0; i < data.length; i++) arr[i] = roundTo(dtype, data[i]!);
    return fromTypedArray(arr, shape, dtype);
  }
  const shape = inferShape(data);
  const flat: number[] = [];
  flatten(data, shape, 0, flat);
  const isBool = (v: NestedArray): boolean => (Array.isArray(v) ? (v.length > 0 && isBool(v[0]!)) : typeof v === "boolean");
  const dtype = opts.dtype ?? (isBool(data) ? "bool" : "float32");
  assertDType(dtype);
  const arr = typedArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) arr[i] = roundTo(dtype, flat[i]!);
  return fromTypedArray(arr, opts.shape ?? shape, dtype);
}

export function full(shape: Shape, value: number | boolean, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  assertDType(dtype);
  assertShape("full", shape);
  return apply({ op: "full", shape: [...shape], value: roundTo(dtype, Number(value)), dtype }, []);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => full(shape, 1, opts);
export const zerosLike = (t: Tensor): Tensor => full(t.shape, 0, { dtype: t.dtype });
export const onesLike = (t: Tensor): Tensor => full(t.shape, 1, { dtype: t.dtype });
export const fullLike = (t: Tensor, value: number): Tensor => full(t.shape, value, { dtype: t.dtype });

/** [start, stop) in steps of `step`; `arange(n)` is 0..n-1. int32 unless an argument or `dtype` says float. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new OpError("arange", "step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  return apply({ op: "arange", start, step, shape: [n], dtype }, []);
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const rows = arange(n).reshape(n, 1);
  return rows.eq(arange(m).reshape(1, m)).cast(opts.dtype ?? "float32");
}
