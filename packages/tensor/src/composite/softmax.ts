import { normalizeAxis } from "../core/shape.js";
import type { Tensor } from "../tensor.js";
import { stopGradient } from "../ops/elementwise.js";
import { logsumexp } from "../ops/reduce.js";

/** exp(x - max) / Σ exp(x - max) along `axis`; the shift is a constant for autograd. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis("softmax", axis, x.ndim);
  if (x.shape[a] === 0) return x.exp(); // nothing to normalise (and max has no identity on an empty axis)
  const e = x.sub(stopGradient(x.max(a, true))).exp();
  return e.div(e.sum(a, true));
}

/** x - logsumexp(x) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis("logSoftmax", axis, x.ndim);
  return x.sub(logsumexp(x, a, true));
}
