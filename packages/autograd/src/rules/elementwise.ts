import { exp, fused, log, where, type Tensor } from "@equigrad/tensor";
import type { VjpTable } from "./rule.js";
import { sumToShape } from "./util.js";

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** g in x's dtype (a fused op takes operands of one dtype). */
const like = (g: Tensor, x: Tensor): Tensor => (g.dtype === x.dtype ? g : g.cast(x.dtype));

export const elementwiseRules: VjpTable = {
  neg: (g) => [g.neg()],
  exp: (g, { output }) => [g.mul(output)],
  log: (g, { inputs: [x] }) => [g.div(x!)],
  sqrt: (g, { output }) => [g.div(output.mul(2))],
  rsqrt: (g, { output }) => [g.mul(output.pow(3)).mul(-0.5)],
  abs: (g, { inputs: [x] }) => [g.mul(x!.sign())],
  sign: () => [null],
  sin: (g, { inputs: [x] }) => [g.mul(x!.cos())],
  cos: (g, { inputs: [x] }) => [g.mul(x!.sin()).neg()],
  tanh: (g, { output }) => [g.mul(output.square().neg().add(1))],
  sigmoid: (g, { output }) => [g.mul(output).mul(output.neg().add(1))],
  relu: (g, { inputs: [x] }) => [where(x!.gt(0), g, 0)],
  // One fused op each (a kernel where the backend has one, else the closed form in primitives).
  gelu_tanh: (g, { inputs: [x] }) => [fused({ op: "gelu_grad", approximate: "tanh" }, x!, like(g, x!))],
  gelu_erf: (g, { inputs: [x] }) => [fused({ op: "gelu_grad", approximate: "none" }, x!, like(g, x!))],
  silu: (g, { inputs: [x] }) => [fused({ op: "silu_grad" }, x!, like(g, x!))],
  reciprocal: (g, { output }) => [g.mul(output.square()).neg()],
  square: (g, { inputs: [x] }) => [g.mul(x!).mul(2)],
  erf: (g, { inputs: [x] }) => [g.mul(exp(x!.square().neg())).mul(TWO_OVER_SQRT_PI)],
  pow_scalar: (g, { call, inputs: [x] }) => [call.exponent === 0 ? null : g.mul(x!.pow(call.exponent - 1)).mul(call.exponent)],
  logical_not: () => [null],
  copy: (g) => [g],
  cast: (g, { inputs: [x] }) => [x!.dtype === "float32" || x!.dtype === "float64" ? g.cast(x!.dtype) : null],

  add: (g, { inputs: [a, b] }) => [sumToShape(g, a!.shape), sumToShape(g, b!.shape)],
  sub: (g, { inputs: [a, b] }) => [sumToShape(g, a!.shape), sumToShape(g.neg(), b!.shape)],
  mul: (g, { inputs: [a, b] }) => [sumToShape(g.mul(b!), a!.shape), sumToShape(g.mul(a!), b!.shape)],
  div: (g, { inputs: [a, b], output }) => [sumToShape(g.div(b!), a!.shape), sumToShape(g.mul(output).div(b!).neg(), b!.shape)],
  pow: (g, { inputs: [a, b], output }) => [
    sumToShape(g.mul(b!).mul(a!.pow(b!.sub(1))), a!.shape),
    // d/db a^b = a^b log a; taken as 0 where a = 0 (the limit for b > 0), as torch does.
    sumToShape(g.mul(where(a!.eq(0), 0, output.mul(log(a!)))), b!.shape),
  ],
  maximum: (g, ctx) => extremumGrad(g, ctx.inputs[0]!, ctx.inputs[1]!, "gt"),
  minimum: (g, ctx) => extremumGrad(g, ctx.inputs[0]!, ctx.inputs[1]!, "lt"),
  where: (g, { inputs: [c, a, b] }) => [null, sumToShape(where(c!, g, 0), a!.shape), sumToShape(where(c!, 0, g), b!.shape)],
};

/** The winner takes the gradient; ties split it evenly (torch.maximum's convention). */
function extremumGrad(g: Tensor, a: Tensor, b: Tensor, wins: "gt" | "lt"): Tensor[] {
  const tie = a.eq(b);
  const aWins = wins === "gt" ? a.gt(b) : a.lt(b);
  const half = g.mul(0.5);
  const ga = where(aWins, g, where(tie, half, 0));
  const gb = where(aWins, 0, where(tie, half, g));
  return [sumToShape(ga, a.shape), sumToShape(gb, b.shape)];
}
