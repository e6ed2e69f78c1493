/** Shared test helpers: float64 parameters, closeness checks, the torch fixture. */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { tensor, type Tensor } from "@equigrad/tensor";
import { applyUpdates, type Param, type State, type Transform } from "@equigrad/optim";

export const f64 = (data: number[], shape: number[] = [data.length]): Tensor => tensor(Float64Array.from(data), { shape, dtype: "float64" });

export const param = (path: string, role: string, data: number[], shape: number[] = [data.length]): Param => ({ path, role, value: f64(data, shape) });

/** A parameter of the given shape whose values do not matter (partition tests). */
export const shaped = (path: string, role: string, shape: number[]): Param => param(path, role, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape);

/** Elementwise |a − b| ≤ atol + rtol·|b|. */
export function expectClose(actual: Tensor | number[], expected: readonly number[], rtol = 1e-12, atol = 1e-15): void {
  const a = Array.isArray(actual) ? actual : actual.toArray();
  expect(a.length).toBe(expected.length);
  a.forEach((x, i) => {
    const e = expected[i]!;
    if (!(Math.abs(x - e) <= atol + rtol * Math.abs(e))) throw new Error(`element ${i}: got ${x}, expected ${e} (|diff| ${Math.abs(x - e)})`);
  });
}

/** torch.optim trajectories in float64, written by fixtures/torch-reference.py (torch 2.11). */
export interface TorchRun {
  grads: Record<string, number[]>[];
  params: Record<string, number[]>[];
  state: Record<string, Record<string, number[] | number>>;
}
export interface TorchFixture {
  p0: Record<string, number[]>;
  adamw: TorchRun;
  adamw_amsgrad_betas: TorchRun;
  adamw_scheduled: TorchRun & { lrs: number[] };
  sgd_momentum: TorchRun;
  sgd_nesterov: TorchRun;
  sgd_plain: TorchRun;
  clip: Record<string, { grads: number[][]; norm: number; clipped: number[][] }>;
}
export const torchFixture: TorchFixture = JSON.parse(readFileSync(new URL("./fixtures/torch-reference.json", import.meta.url), "utf8"));

export const SHAPES: Record<string, number[]> = { w: [2, 3], b: [2] };

/** Runs `rule` on one parameter "w" (of `role`) from `p0` over `grads`; the parameter and state after the last step. */
export function runOne<S extends State>(rule: Transform<S>, p0: Tensor, grads: readonly Tensor[], role: string, meta?: unknown): { p: Tensor; state: S } {
  let params: Param[] = [{ path: "w", role, value: p0, meta }];
  let state = rule.init(params);
  for (const g of grads) {
    const [u, s] = rule.update({ w: g }, state, params);
    params = applyUpdates(params, u);
    state = s;
  }
  return { p: params[0]!.value, state };
}
