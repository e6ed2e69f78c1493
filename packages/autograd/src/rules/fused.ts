import { DECOMPOSITIONS, exp, fused, type CallOf, type Tensor } from "@equigrad/tensor";
import { backward } from "../backward.js";
import { Tape } from "../tape.js";
import type { VjpTable } from "./rule.js";

/** 1 / sqrt(var + eps) over the last axis, recomputed from x. */
const layerNormScale = (x: Tensor, eps: number): Tensor => x.sub(x.mean(-1, true)).square().mean(-1, true).add(eps).rsqrt();

/**
 * The VJP of attention_grad, for gradients of gradients: its decomposition (the closed form in
 * primitives) differentiated on a tape of its own. Fresh identity views of the inputs keep the
 * cotangents of inputs that are one tensor (attention(x, x, x)) apart.
 */
function attentionGradVjp(g: Tensor, call: CallOf<"attention_grad">, inputs: readonly Tensor[]): (Tensor | null)[] {
  const tape = new Tape();
  try {
    const xs = inputs.map((t) => t.reshape([...t.shape]));
    for (const x of xs) tape.watch(x);
    const y = tape.run(() => DECOMPOSITIONS.attention_grad(xs[0]!, call, ...xs.slice(1)));
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
  layer_norm: (g, { call, inputs: [x], output: y }) => [
    g.sub(g.mean(-1, true)).sub(y.mul(g.mul(y).mean(-1, true))).mul(layerNormScale(x!, call.eps)),
  ],
  rms_norm: (g, { call, inputs: [x], output: y }) => [
    g.sub(y.mul(g.mul(y).mean(-1, true))).mul(x!.square().mean(-1, true).add(call.eps).rsqrt()),
  ],
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
  attention_grad: (g, { call, inputs }) => attentionGradVjp(g, call, inputs),
};
