import { exp, type Tensor } from "@equigrad/tensor";
import type { VjpTable } from "./rule.js";

/** 1 / sqrt(var + eps) over the last axis, recomputed from x. */
const layerNormScale = (x: Tensor, eps: number): Tensor => x.sub(x.mean(-1, true)).square().mean(-1, true).add(eps).rsqrt();

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
};
