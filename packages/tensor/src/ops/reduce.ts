import { OpError } from "../core/errors.js";
import { normalizeAxes, normalizeAxis } from "../core/shape.js";
import { apply } from "../dispatch.js";
import type { Tensor } from "../tensor.js";
import { cast, log, exp, stopGradient, where, sub, add } from "./elementwise.js";
import type { ReduceOp } from "./primitives.js";

/** Drops the reduced (size-1) axes unless keepdim. */
function finish(x: Tensor, r: Tensor, axes: number[], keepdim: boolean): Tensor {
  return keepdim ? r : r.reshape(x.shape.filter((_, i) => !axes.includes(i)));
}

function reduce(op: ReduceOp, x: Tensor, axis: number | number[] | undefined, keepdim: boolean): Tensor {
  const axes = normalizeAxes(op, axis, x.ndim);
  return finish(x, apply({ op, axes }, [x]), axes, keepdim);
}

export const sum = (x: Tensor, axis?: number | number[], keepdim = false): Tensor => reduce("sum", x, axis, keepdim);
export const max = (x: Tensor, axis?: number | number[], keepdim = false): Tensor => reduce("max", x, axis, keepdim);
export const min = (x: Tensor, axis?: number | number[], keepdim = false): Tensor => reduce("min", x, axis, keepdim);

export function mean(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  const axes = normalizeAxes("mean", axis, x.ndim);
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const xf = x.dtype === "float32" || x.dtype === "float64" ? x : cast(x, "float32");
  return sum(xf, axes, keepdim).div(count);
}

/** Mean of squared deviations (biased, as layer norm uses it; `correction` 1 gives the unbiased one). */
export function variance(x: Tensor, axis?: number | number[], keepdim = false, correction = 0): Tensor {
  const axes = normalizeAxes("variance", axis, x.ndim);
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const d = x.sub(mean(x, axes, true));
  return sum(d.square(), axes, keepdim).div(Math.max(count - correction, 0));
}

function argReduce(op: "argmax" | "argmin", x: Tensor, axis: number | undefined, keepdim: boolean): Tensor {
  if (axis === undefined) {
    if (keepdim) throw new OpError(op, "keepdim needs an axis");
    return argReduce(op, x.reshape(-1), 0, false);
  }
  const a = normalizeAxis(op, axis, x.ndim);
  return finish(x, apply({ op, axis: a }, [x]), [a], keepdim);
}

/** Index of the first largest element along `axis` (of the flattened tensor without one), int32. */
export const argmax = (x: Tensor, axis?: number, keepdim = false): Tensor => argReduce("argmax", x, axis, keepdim);
export const argmin = (x: Tensor, axis?: number, keepdim = false): Tensor => argReduce("argmin", x, axis, keepdim);

/** log Σ exp(x), stable: the max is subtracted first (and taken as 0 where it is ±inf). */
export function logsumexp(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  const axes = normalizeAxes("logsumexp", axis, x.ndim);
  // Over an empty axis the sum is 0 and the result -inf (as torch/JAX); max has no identity there.
  if (axes.some((a) => x.shape[a] === 0)) return finish(x, log(sum(exp(x), axes, true)), axes, keepdim);
  const m = stopGradient(max(x, axes, true));
  const safe = where(m.abs().eq(Infinity), 0, m);
  const r = add(log(sum(exp(sub(x, safe)), axes, true)), safe);
  return finish(x, r, axes, keepdim);
}
