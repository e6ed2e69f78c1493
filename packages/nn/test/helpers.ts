/** Plain-array reference math for the nn tests: independent of the tensor ops under test. */
import { expect } from "vitest";
import { gradcheck } from "@equigrad/autograd";
import { functionalCall, type Module } from "@equigrad/nn";
import { Rng, Tensor, tensor, tidy } from "@equigrad/tensor";

export type Mat = number[][];

/** A float64 tensor of standard normals (not kept: use inside tidy or let the test end). */
export const randn = (shape: number[], seed = 0, std = 1): Tensor => new Rng(seed, "nn-test").normal(shape, 0, std, "float64");

export const f64 = (values: number[], shape: number[]): Tensor => tensor(Float64Array.from(values), { dtype: "float64", shape });

export const ints = (values: number[], shape: number[] = [values.length]): Tensor => tensor(Int32Array.from(values), { shape });

export const mat = (t: Tensor): Mat => t.tolist() as Mat;

/** a [n, k] · bᵀ for b [m, k]: what Linear does with a torch-layout weight. */
export const matmulT = (a: Mat, b: Mat): Mat => a.map((row) => b.map((col) => row.reduce((s, v, i) => s + v * col[i]!, 0)));

export const addRow = (a: Mat, b: number[]): Mat => a.map((row) => row.map((v, i) => v + b[i]!));

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const silu = (x: number): number => x / (1 + Math.exp(-x));

/** erf to ~1e-15 by its Taylor series (|x| small) or the complementary continued fraction. */
export function erf(x: number): number {
  if (Math.abs(x) < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - erfcLarge(Math.abs(x)));
}
function erfcLarge(x: number): number {
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (x + f);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
}

export const rmsRow = (row: number[], w: number[], eps: number): number[] => {
  const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
  return row.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
};

export const layerNormRow = (row: number[], w: number[], b: number[], eps: number): number[] => {
  const mean = row.reduce((s, v) => s + v, 0) / row.length;
  const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
  return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!);
};

export const softmaxRow = (row: number[]): number[] => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Rotates pairs (i, i + D/2) of a head vector at position t (the "rotate half" RoPE). */
export function ropeVec(x: number[], t: number, theta: number): number[] {
  const d = x.length;
  const half = d / 2;
  const out = [...x];
  for (let i = 0; i < half; i++) {
    const a = t * theta ** ((-2 * i) / d);
    out[i] = x[i]! * Math.cos(a) - x[i + half]! * Math.sin(a);
    out[i + half] = x[i + half]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return out;
}

/**
 * Causal attention by loops: q [T][H][D], k and v [T][Hkv][D] of one sequence -> [T][H][D];
 * query head h reads kv head ⌊h / (H / Hkv)⌋.
 */
export function naiveAttention(q: number[][][], k: number[][][], v: number[][][]): number[][][] {
  const h = q[0]!.length;
  const hkv = k[0]!.length;
  const d = q[0]![0]!.length;
  return q.map((_, i) =>
    Array.from({ length: h }, (_, hh) => {
      const kh = Math.floor(hh / (h / hkv));
      const scores = Array.from({ length: i + 1 }, (_, j) => q[i]![hh]!.reduce((s, qv, c) => s + qv * k[j]![kh]![c]!, 0) / Math.sqrt(d));
      const p = softmaxRow(scores);
      return Array.from({ length: d }, (_, c) => p.reduce((s, pj, j) => s + pj * v[j]![kh]![c]!, 0));
    }),
  );
}

/** Splits each row [H·D] into H heads of D. */
export const heads = (rows: Mat, h: number): number[][][] => rows.map((r) => Array.from({ length: h }, (_, i) => r.slice((i * r.length) / h, ((i + 1) * r.length) / h)));

export function expectClose(actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number> | unknown[], tol = 1e-10): void {
  const flat = (v: Tensor | ArrayLike<number> | unknown[]): number[] => (v instanceof Tensor ? v.toArray() : (Array.from(v as ArrayLike<number>).flat(Infinity) as number[]));
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, "element count").toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    if (!(err <= tol * (1 + Math.abs(e[i]!)))) expect.fail(`element ${i}: got ${a[i]}, expected ${e[i]} (|error| ${err}, tol ${tol})`);
  }
}

/**
 * Gradcheck of `out` with respect to every parameter of `module` (float64), through
 * functionalCall; fails with the worst element's path and values.
 */
export function expectParamGradOk(module: Module, out: () => Tensor, opts: { atol?: number; rtol?: number } = {}): void {
  tidy(() => {
    const params = module.parameters();
    const paths = Object.keys(params);
    const f = (...ts: Tensor[]): Tensor => functionalCall(module, Object.fromEntries(paths.map((p, i) => [p, ts[i]!])), out);
    const r = gradcheck(f, paths.map((p) => params[p]!), { atol: 1e-6, rtol: 1e-5, ...opts });
    if (!r.ok) {
      const w = r.worst!;
      expect.fail(`gradcheck failed at '${paths[w.input]}' element ${w.index}: analytic ${w.analytic} vs numeric ${w.numeric} (excess ${w.error})`);
    }
  });
}
