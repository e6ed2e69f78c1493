import { normalizeAxis } from "../core/shape.js";
import type { Tensor } from "../tensor.js";
import { fused } from "./fused.js";

/** exp(x - max) / Σ exp(x - max) along `axis`; the shift is a constant for autograd. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis("softmax", axis, x.ndim);
  if (x.shape[a] === 0) return x.exp(); // nothing to normalise (max has no identity on an empty axis)
  return fused({ op: "softmax", axis: a }, x);
}

/** x - logsumexp(x) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis("logSoftmax", axis, x.ndim);
  if (x.shape[a] === 0) return x.exp();
  return fused({ op: "log_softmax", axis: a }, x);
}
