import { isFloat } from "../core/dtype.js";
import type { Tensor } from "../tensor.js";
import { applyFused } from "../dispatch.js";
import { erf, exp, sigmoid, stopGradient, tanh } from "../ops/elementwise.js";
import { logsumexp } from "../ops/reduce.js";
import type { CallOf, FusedName } from "../ops/primitives.js";
import { attentionDecomposition, attentionGradDecomposition } from "./attention.js";
import { adamwUpdateDecomposition } from "./optimizer.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** d gelu_tanh / dx with t = tanh(c(x + 0.044715x³)): 0.5(1 + t) + 0.5x(1 − t²)·c(1 + 3·0.044715x²). */
function geluTanhDerivative(x: Tensor): Tensor {
  const x2 = x.square();
  const t = tanh(x.add(x.mul(x2).mul(0.044715)).mul(SQRT_2_OVER_PI));
  const dt = t.square().neg().add(1).mul(x2.mul(3 * 0.044715).add(1)).mul(SQRT_2_OVER_PI);
  return t.add(1).mul(0.5).add(x.mul(dt).mul(0.5));
}

/** d (x Φ(x)) / dx = Φ(x) + x φ(x). */
const geluErfDerivative = (x: Tensor): Tensor =>
  erf(x.mul(Math.SQRT1_2)).add(1).mul(0.5).add(x.mul(exp(x.square().mul(-0.5))).mul(INV_SQRT_2PI));

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
  // x, then the cotangent g.
  gelu_grad: (x, { approximate }, g) => g!.mul(approximate === "tanh" ? geluTanhDerivative(x) : geluErfDerivative(x)),
  silu_grad: (x, _, g) => {
    const s = sigmoid(x);
    return g!.mul(s).mul(x.mul(s.neg().add(1)).add(1));
  },
  layer_norm_grad: (x, { eps }, g) => {
    const centered = x.sub(x.mean(-1, true));
    const r = centered.square().mean(-1, true).add(eps).rsqrt();
    const y = centered.mul(r);
    return g!.sub(g!.mean(-1, true)).sub(y.mul(g!.mul(y).mean(-1, true))).mul(r);
  },
  rms_norm_grad: (x, { eps }, g) => {
    const r = x.square().mean(-1, true).add(eps).rsqrt();
    const y = x.mul(r);
    return g!.sub(y.mul(g!.mul(y).mean(-1, true))).mul(r);
  },
  // p, then g, m, v.
  adamw_update: (p, call, g, m, v) => adamwUpdateDecomposition(p, g!, m!, v!, call),
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
