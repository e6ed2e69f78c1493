import { DECOMPOSITIONS, exp, fused, type CallOf, type FusedName, type Tensor } from "@equigrad/tensor";
import { backward } from "../backward.js";
import { Tape } from "../tape.js";
import type { VjpTable } from "./rule.js";

/** g in x's dtype (a fused op takes operands of one dtype). */
const like = (g: Tensor, x: Tensor): Tensor => (g.dtype === x.dtype ? g : g.cast(x.dtype));

/**
 * The VJP of a fused backward op (attention_grad, gelu_grad, layer_norm_grad, ...), for
 * gradients of gradients: its decomposition (the closed form in primitives) differentiated on a
 * tape of its own. Fresh identity views of the inputs keep the cotangents of inputs that are one
 * tensor (attention(x, x, x)) apart.
 */
function decompositionVjp<N extends FusedName>(g: Tensor, call: CallOf<N>, inputs: readonly Tensor[]): (Tensor | null)[] {
  const tape = new Tape();
  try {
    const xs = inputs.map((t) => t.reshape([...t.shape]));
    for (const x of xs) tape.watch(x);
    const decompose = DECOMPOSITIONS[call.op as N] as (x: Tensor, call: CallOf<N>, ...rest: Tensor[]) => Tensor;
    const y = tape.run(() => decompose(xs[0]!, call, ...xs.slice(1)));
    const grads = backward(tape, y, g);
    return xs.map((x) => grads.get(x.id) ?? null);
  } finally {
    tape.dispose();
  }
}

/** The fused composites' VJPs in closed form, written in primitives (so they are differentiable again). */
export const fusedRules: VjpTable = {
  softmax: (g, { call, output: y }) => [y.mul(g.sub(g.mul(y).sum(call.axis, true)))],
  log_softmax: (g, { call, output: y }) => [g.sub(exp(y).mul(g.sum(call.axis, true)))],
  // One fused row op each: dx = r·(g − mean(g) − y·mean(g·y)) (layer_norm), r·(g − y·mean(g·y)) (rms_norm).
  layer_norm: (g, { call, inputs: [x] }) => [fused({ op: "layer_norm_grad", eps: call.eps }, x!, like(g, x!))],
  rms_norm: (g, { call, inputs: [x] }) => [fused({ op: "rms_norm_grad", eps: call.eps }, x!, like(g, x!))],
  // One fused backward op (a kernel where the backend has one, else the closed form in
  // primitives), whose packed [dq, dk, dv] output is sliced back apart.
  attention: (g, { call, inputs: [q, k, v], output }) => {
    const dOut = g.dtype === output.dtype ? g : g.cast(output.dtype);
    const packed = fused({ op: "attention_grad", causal: call.causal, scale: call.scale }, q!, k!, v!, output, dOut);
    const nq = q!.size, nk = k!.size;
    return [
      packed.slice([0, nq]).reshape([...q!.shape]),
      packed.slice([nq, nq + nk]).reshape([...k!.shape]),
      packed.slice([nq + nk, packed.size]).reshape([...v!.shape]),
    ];
  },
  attention_grad: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
  gelu_grad: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
  silu_grad: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
  layer_norm_grad: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
  rms_norm_grad: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
  adamw_update: (g, { call, inputs }) => decompositionVjp(g, call, inputs),
};
