import { isFloat } from "../core/dtype.js";
import type { Tensor } from "../tensor.js";
import { applyFused } from "../dispatch.js";
import { stopGradient } from "../ops/elementwise.js";
import { logsumexp } from "../ops/reduce.js";
import type { CallOf, FusedName } from "../ops/primitives.js";
import { attentionDecomposition, attentionGradDecomposition } from "./attention.js";

/**
 * The decomposition of each fused composite into primitives: what it means, what runs on a
 * backend without a kernel for it, and what autograd and tests check kernels against.
 * The first input is `x`, further inputs (attention's k, v, ...) follow the call.
 */
export const DECOMPOSITIONS: { [N in FusedName]: (x: Tensor, call: CallOf<N>, ...rest: Tensor[]) => Tensor } = {
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
  // q, then k, v.
  attention: (q, { causal, scale }, k, v) => attentionDecomposition(q, k!, v!, causal, scale),
  // q, then k, v, out, dOut.
  attention_grad: (q, { causal, scale }, k, v, out, dOut) => attentionGradDecomposition(q, k!, v!, out!, dOut!, causal, scale),
};

/** Runs a fused composite (a kernel where the backend has one, else its decomposition). */
export function fused<N extends FusedName>(call: CallOf<N>, x: Tensor, ...rest: Tensor[]): Tensor {
  const decompose = DECOMPOSITIONS[call.op as N] as (x: Tensor, call: CallOf<N>, ...rest: Tensor[]) => Tensor;
  const [xf, ...restf] = [x, ...rest].map((t) => (isFloat(t.dtype) ? t : t.cast("float32")));
  return applyFused(call, [xf!, ...restf], () => decompose(xf!, call, ...restf));
}
