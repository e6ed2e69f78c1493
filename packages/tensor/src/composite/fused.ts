import { isFloat } from "../core/dtype.js";
import type { Tensor } from "../tensor.js";
import { applyFused } from "../dispatch.js";
import { stopGradient } from "../ops/elementwise.js";
import { logsumexp } from "../ops/reduce.js";
import type { CallOf, FusedOp } from "../ops/primitives.js";

/**
 * The decomposition of each fused composite into primitives: what it means, what runs on a
 * backend without a kernel for it, and what autograd and tests check kernels against.
 */
export const DECOMPOSITIONS: { [N in FusedOp]: (x: Tensor, call: CallOf<N>) => Tensor } = {
  softmax: (x, { axis }) => {
    const e = x.sub(stopGradient(x.max(axis, true))).exp();
    return e.div(e.sum(axis, true));
  },
  log_softmax: (x, { axis }) => x.sub(logsumexp(x, axis, true)),
  layer_norm: (x, { eps }) => {
    const centered = x.sub(x.mean(-1, true));
    return centered.mul(centered.square().mean(-1, true).add(eps).rsqrt());
  },
  rms_norm: (x, { eps }) => x.mul(x.square().mean(-1, true).add(eps).rsqrt()),
};

/** Runs a fused composite (a kernel where the backend has one, else its decomposition). */
export function fused<N extends FusedOp>(call: CallOf<N>, x: Tensor): Tensor {
  const decompose = DECOMPOSITIONS[call.op as N] as (x: Tensor, call: CallOf<N>) => Tensor;
  const xf = isFloat(x.dtype) ? x : x.cast("float32");
  return applyFused(call, [xf], () => decompose(xf, call));
}
