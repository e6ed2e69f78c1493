/**
 * Test helpers for the tensor package's forward tests: plain-JS float64 reference
 * implementations (written independently of the library), exact/approximate comparisons,
 * a seeded PRNG for test data, and builders of non-contiguous tensors.
 */
import { expect } from "vitest";
import { OpError, Tensor, currentBackendName, tensor, type DType } from "@equigrad/tensor";

/** A plain row-major n-d array: the tests' independent representation of a tensor. */
export interface Arr {
  shape: number[];
  data: number[];
}

// ---------------------------------------------------------------------------------------------
// Shapes and indices

export const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

export function rowMajorStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

/** Multi-index of flat position i in a row-major array of `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + idx[d]!;
  return f;
}

export const at = (a: Arr, idx: readonly number[]): number => a.data[ravel(idx, a.shape)]!;

/** Builds an Arr from a function of the multi-index. */
export function fromFn(shape: readonly number[], f: (idx: number[], flat: number) => number): Arr {
  const n = prod(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = f(unravel(i, shape), i);
  return { shape: [...shape], data };
}

/** NumPy broadcasting of two shapes, or null when they do not broadcast. */
export function broadcastPair(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element of `a` that broadcasting maps to output multi-index `idx`. */
function broadcastAt(a: Arr, idx: readonly number[]): number {
  const off = idx.length - a.shape.length;
  const own = a.shape.map((d, i) => (d === 1 ? 0 : idx[off + i]!));
  return at(a, own);
}

/** Naive broadcasting elementwise op. */
export function naiveBinary(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = broadcastPair(a.shape, b.shape);
  if (!shape) throw new Error(`naiveBinary: [${a.shape}] vs [${b.shape}]`);
  return fromFn(shape, (idx) => f(broadcastAt(a, idx), broadcastAt(b, idx)));
}

export function naiveTernary(c: Arr, a: Arr, b: Arr, f: (c: number, x: number, y: number) => number): Arr {
  const s1 = broadcastPair(c.shape, a.shape)!;
  const shape = broadcastPair(s1, b.shape)!;
  return fromFn(shape, (idx) => f(broadcastAt(c, idx), broadcastAt(a, idx), broadcastAt(b, idx)));
}

export const naiveUnary = (a: Arr, f: (x: number) => number): Arr => ({ shape: [...a.shape], data: a.data.map(f) });

/**
 * Naive reduction: visits every output position and folds the input elements that map to it,
 * in increasing index order along the reduced axes.
 */
export function naiveReduce(a: Arr, axes: readonly number[], keepdim: boolean, init: number, f: (acc: number, x: number) => number): Arr {
  const rank = a.shape.length;
  const ax = axes.map((x) => (x < 0 ? x + rank : x));
  const keptShape = a.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const redShape = ax.map((i) => a.shape[i]!);
  const out = fromFn(keptShape, (oidx) => {
    let acc = init;
    const n = prod(redShape);
    for (let r = 0; r < n; r++) {
      const ridx = unravel(r, redShape);
      const idx = [...oidx];
      ax.forEach((axis, j) => (idx[axis] = ridx[j]!));
      acc = f(acc, at(a, idx));
    }
    return acc;
  });
  if (!keepdim) out.shape = a.shape.filter((_, i) => !ax.includes(i));
  return out;
}

export const naiveSum = (a: Arr, axes: readonly number[], keepdim = false): Arr => naiveReduce(a, axes, keepdim, 0, (s, x) => s + x);
export const naiveMax = (a: Arr, axes: readonly number[], keepdim = false): Arr =>
  naiveReduce(a, axes, keepdim, -Infinity, (m, x) => (Number.isNaN(m) || Number.isNaN(x) ? NaN : x > m ? x : m));
export const naiveMin = (a: Arr, axes: readonly number[], keepdim = false): Arr =>
  naiveReduce(a, axes, keepdim, Infinity, (m, x) => (Number.isNaN(m) || Number.isNaN(x) ? NaN : x < m ? x : m));
export function naiveMean(a: Arr, axes: readonly number[], keepdim = false): Arr {
  const count = prod(axes.map((x) => a.shape[x < 0 ? x + a.shape.length : x]!));
  const s = naiveSum(a, axes, keepdim);
  return { shape: s.shape, data: s.data.map((v) => v / count) };
}

/** Permutes axes: out.shape[i] = a.shape[perm[i]]. */
export function naivePermute(a: Arr, perm: readonly number[]): Arr {
  const shape = perm.map((p) => a.shape[p]!);
  return fromFn(shape, (oidx) => {
    const idx = new Array<number>(perm.length);
    perm.forEach((p, i) => (idx[p] = oidx[i]!));
    return at(a, idx);
  });
}

/** Plain triple loop: [m, k] x [k, n], summing over p in increasing order. */
export function naiveMatmul2d(a: readonly number[], b: readonly number[], m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Batched matmul with broadcast batch dims (both operands rank ≥ 2). */
export function naiveBatchedMatmul(a: Arr, b: Arr): Arr {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const batch = broadcastPair(a.shape.slice(0, -2), b.shape.slice(0, -2))!;
  return fromFn([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    const pick = (x: Arr, r: number, c: number) => {
      const xb = x.shape.slice(0, -2);
      const off = bi.length - xb.length;
      return at(x, [...xb.map((d, q) => (d === 1 ? 0 : bi[off + q]!)), r, c]);
    };
    let s = 0;
    for (let p = 0; p < k; p++) s += pick(a, i, p) * pick(b, p, j);
    return s;
  });
}

/** Softmax over the last axis of a row-major [rows, n] array (max-shifted). */
export function naiveSoftmaxRows(x: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, r * n + n);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

/** log Σ exp over the last axis of [rows, n]. */
export function naiveLogSumExpRows(x: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, r * n + n);
    const m = Math.max(...row);
    if (m === -Infinity || m === Infinity) {
      out.push(m);
      continue;
    }
    out.push(m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
  }
  return out;
}

/** Python's slice.indices(len) followed by range(): the selected positions. */
export function pythonSlice(len: number, start: number | undefined, stop: number | undefined, step = 1): number[] {
  let lo: number, hi: number;
  if (step > 0) {
    lo = start === undefined ? 0 : start < 0 ? Math.max(0, start + len) : Math.min(start, len);
    hi = stop === undefined ? len : stop < 0 ? Math.max(0, stop + len) : Math.min(stop, len);
  } else {
    lo = start === undefined ? len - 1 : start < 0 ? Math.max(-1, start + len) : Math.min(start, len - 1);
    hi = stop === undefined ? -1 : stop < 0 ? Math.max(-1, stop + len) : Math.min(stop, len - 1);
  }
  const out: number[] = [];
  if (step > 0) for (let i = lo; i < hi; i += step) out.push(i);
  else for (let i = lo; i > hi; i += step) out.push(i);
  return out;
}

/**
 * erf by composite Simpson integration of 2/√π e^{-t²} over [0, x] (independent of the
 * library's series): accurate to ~1e-13 on |x| ≤ 6.
 */
export function erfRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === 0) return 0;
  const n = 4000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}

// ---------------------------------------------------------------------------------------------
// Test data

/** mulberry32: a tiny seeded PRNG for test data (not the library's RNG). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values uniform in [lo, hi), rounded to float32 when asked (so float32 tensors hold them exactly). */
export function randArr(shape: readonly number[], seed: number, lo = -2, hi = 2, f32 = false): Arr {
  const r = prng(seed);
  return fromFn(shape, () => {
    const v = lo + (hi - lo) * r();
    return f32 ? Math.fround(v) : v;
  });
}

export function randInts(shape: readonly number[], seed: number, lo: number, hi: number): Arr {
  const r = prng(seed);
  return fromFn(shape, () => lo + Math.floor((hi - lo) * r()));
}

/** A contiguous tensor holding an Arr. */
export const T = (a: Arr, dtype: DType = "float64"): Tensor => mk(a.data, a.shape, dtype);

/** A contiguous tensor from a flat list and a shape. */
export function mk(data: readonly number[], shape: readonly number[], dtype: DType = "float64"): Tensor {
  const typed = dtype === "int32" ? Int32Array.from(data) : dtype === "bool" ? Uint8Array.from(data) : dtype === "float32" ? Float32Array.from(data) : Float64Array.from(data);
  return tensor(typed, { dtype, shape });
}

export const isRowMajor = (t: Tensor): boolean => {
  const s = rowMajorStrides(t.shape);
  return t.shape.every((d, i) => d <= 1 || t.strides[i] === s[i]);
};

/**
 * Tensors with the values of `a` but different memory layouts: contiguous, a transposed
 * view, a stepped slice of a larger buffer (with an offset), and a flipped view. All but the
 * first are checked to really be non-contiguous. Needs rank ≥ 1 and every dim ≥ 2.
 */
export function layouts(a: Arr, dtype: DType = "float64"): { name: string; t: Tensor }[] {
  const rank = a.shape.length;
  const out: { name: string; t: Tensor }[] = [{ name: "contiguous", t: mk(a.data, a.shape, dtype) }];
  if (rank >= 2) {
    // Store the transpose of the last two axes, then transpose it back: same values, swapped strides.
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    const stored = naivePermute(a, perm);
    out.push({ name: "transposed", t: mk(stored.data, stored.shape, dtype).transpose(-2, -1) });
  }
  {
    // Interleave with junk along the last axis (and one leading junk row): slice [1:, ::2]-style.
    const last = a.shape[rank - 1]!;
    const bigShape = [...a.shape.slice(0, -1), 2 * last + 1];
    const big = fromFn(bigShape, (idx) => {
      const j = idx[rank - 1]!;
      return j >= 1 && (j - 1) % 2 === 0 ? at(a, [...idx.slice(0, -1), (j - 1) / 2]) : 12345;
    });
    const spec = a.shape.map(() => null as null | [number, number?, number?]);
    spec[rank - 1] = [1, undefined, 2];
    out.push({ name: "stepped slice", t: mk(big.data, big.shape, dtype).slice(...spec) });
  }
  {
    // Store reversed along axis 0, then flip: negative stride and a non-zero offset.
    const rev = fromFn(a.shape, (idx) => at(a, [a.shape[0]! - 1 - idx[0]!, ...idx.slice(1)]));
    out.push({ name: "flipped", t: mk(rev.data, rev.shape, dtype).flip(0) });
  }
  for (const { name, t } of out.slice(1)) if (isRowMajor(t) && t.offset === 0) throw new Error(`layouts: ${name} is contiguous`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparisons

const values = (x: Tensor | ArrayLike<number>): number[] => (x instanceof Tensor ? x.toArray() : Array.from(x));

function fmt(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

/** Exact equality, element by element (NaN equals NaN; +0 equals -0 unless signedZero). */
export function expectExact(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, signedZero = false): void {
  const a = values(actual);
  const e = Array.from(expected);
  expect(a.length, "number of elements").toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const ok = Number.isNaN(e[i]!) ? Number.isNaN(a[i]!) : signedZero ? Object.is(a[i], e[i]) : a[i] === e[i];
    if (!ok) expect.fail(`element ${i}: got ${fmt(a[i]!)}, expected ${fmt(e[i]!)}\n  actual:   [${a.map(fmt).join(", ")}]\n  expected: [${e.map(fmt).join(", ")}]`);
  }
}

/** |a - e| ≤ atol + rtol·|e| per element; NaN and ±inf must match exactly. */
export function expectClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tol: { rtol?: number; atol?: number } = {}): void {
  const { rtol = 1e-12, atol = 1e-12 } = tol;
  const a = values(actual);
  const e = Array.from(expected);
  expect(a.length, "number of elements").toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const x = a[i]!, y = e[i]!;
    const ok = Number.isNaN(y) ? Number.isNaN(x) : !Number.isFinite(y) ? x === y : Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok) expect.fail(`element ${i}: got ${x}, expected ${y} (rtol ${rtol}, atol ${atol})\n  actual:   [${a.join(", ")}]\n  expected: [${e.join(", ")}]`);
  }
}

/** Shape (and dtype) check plus exact values. */
export function expectTensor(t: Tensor, shape: readonly number[], dtype: DType, data: ArrayLike<number>): void {
  expect(t.shape).toEqual(shape);
  expect(t.dtype).toBe(dtype);
  expectExact(t, data);
}

/** The call throws an OpError whose message starts with `op:` and contains every fragment. */
export function expectOpError(fn: () => unknown, op: string, ...fragments: string[]): OpError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${op} to throw`).toBeInstanceOf(OpError);
  const msg = (err as Error).message;
  expect(msg.startsWith(`${op}:`), `message "${msg}" should start with "${op}:"`).toBe(true);
  for (const f of fragments) expect(msg).toContain(f);
  return err as OpError;
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(", ")}]`;

/** One unit in the last place of the float32 nearest to x. */
export const ulp32 = (x: number): number => (x === 0 || !Number.isFinite(x) ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(Math.fround(x)))) - 23));

/**
 * Float32 results of ops that float32 backends compute with their own approximations
 * (transcendentals): the reference rounds the float64 result once, so it must match exactly;
 * other backends must be within `ulps` of it, or `atol` absolutely (near zeros of the function).
 */
export function expectFloat32(actual: Tensor, expected64: ArrayLike<number>, tol: { ulps?: number; atol?: number } = {}): void {
  const rounded = Array.from(expected64, Math.fround);
  if (currentBackendName() === "reference") return expectExact(actual, rounded);
  const { ulps = 4, atol = 2 ** -24 } = tol;
  const a = actual.toArray();
  rounded.forEach((e, i) => {
    const ok = Number.isNaN(e) ? Number.isNaN(a[i]!) : a[i] === e || Math.abs(a[i]! - e) <= Math.max(ulps * ulp32(e), atol);
    if (!ok) expect.fail(`element ${i}: got ${a[i]}, expected ${e} within ${ulps} ulp or ${atol}`);
  });
}
