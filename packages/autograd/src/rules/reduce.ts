import { cumsum, where, type Tensor } from "@equigrad/tensor";
import type { VjpTable } from "./rule.js";

/** The cotangent of max/min goes to the elements equal to the result, shared evenly among ties. */
function extremumGrad(g: Tensor, x: Tensor, y: Tensor, axes: readonly number[]): Tensor {
  const hit = x.eq(y);
  const count = hit.sum([...axes], true).cast(g.dtype);
  return where(hit, g.div(count), 0);
}

export const reduceRules: VjpTable = {
  sum: (g, { inputs: [x] }) => [g.expand([...x!.shape])],
  max: (g, { call, inputs: [x], output }) => [extremumGrad(g, x!, output, call.axes)],
  min: (g, { call, inputs: [x], output }) => [extremumGrad(g, x!, output, call.axes)],
  argmax: () => [null],
  argmin: () => [null],
  cumsum: (g, { call }) => [cumsum(g.flip(call.axis), call.axis).flip(call.axis)],
};
