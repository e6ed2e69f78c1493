/** Test helpers for the extra rules: run a transform over gradient lists, seeded float64 data. */
import type { Tensor } from "@equigrad/tensor";
import { applyUpdates, type Param, type State, type Transform } from "@equigrad/optim";
import { f64 } from "./helpers.js";

/** Runs `opt` from `p0` over `grads` (each a map path → flat values), applying every update. */
export function run<S extends State>(opt: Transform<S>, p0: readonly Param[], grads: readonly Record<string, number[]>[]): { params: Param[]; state: S; updates: Record<string, number[]>[] } {
  let params = [...p0];
  let state = opt.init(params);
  const updates: Record<string, number[]>[] = [];
  for (const g of grads) {
    const gt: Record<string, Tensor> = Object.fromEntries(params.map((p) => [p.path, f64(g[p.path]!, [...p.value.shape])]));
    const [u, s] = opt.update(gt, state, params);
    updates.push(Object.fromEntries(Object.entries(u).map(([k, v]) => [k, v.toArray()])));
    params = applyUpdates(params, u);
    state = s;
  }
  return { params, state, updates };
}

/** A deterministic pseudo-random list in (−1, 1) (an LCG, so tests need no RNG state). */
export function noise(n: number, seed: number): number[] {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

/** Row-major m×n float64 matrix helpers for hand references. */
export type Mat = number[][];
export const mat = (flat: readonly number[], m: number, n: number): Mat => Array.from({ length: m }, (_, i) => flat.slice(i * n, (i + 1) * n));
export const flat = (a: Mat): number[] => a.flat();
export const transpose = (a: Mat): Mat => a[0]!.map((_, j) => a.map((r) => r[j]!));
export const matmul = (a: Mat, b: Mat): Mat => a.map((r) => b[0]!.map((_, j) => r.reduce((s, x, k) => s + x * b[k]![j]!, 0)));
export const frob = (a: Mat): number => Math.sqrt(a.flat().reduce((s, x) => s + x * x, 0));
export const scale = (a: Mat, c: number): Mat => a.map((r) => r.map((x) => x * c));
export const addM = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((x, j) => x + b[i]![j]!));
