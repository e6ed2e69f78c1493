import { gather, matmul, pad, scatterAdd, split, zeros, type Tensor } from "@equigrad/tensor";
import type { VjpTable } from "./rule.js";
import { sumToShape } from "./util.js";

/** Puts a sliced cotangent back at its positions in a zero tensor of the input's shape. */
function unslice(g: Tensor, inShape: readonly number[], starts: readonly number[], steps: readonly number[]): Tensor {
  if (g.size === 0) return zeros(inShape, { dtype: g.dtype });
  let out = g;
  for (let d = 0; d < inShape.length; d++) {
    const n = out.shape[d]!;
    let start = starts[d]!;
    let step = steps[d]!;
    if (step < 0) {
      out = out.flip(d);
      start += (n - 1) * step;
      step = -step;
    }
    if (step > 1) {
      // Interleave step-1 zeros after each element, then drop the trailing ones.
      const none = (k: number): [number, number][] => Array.from({ length: k }, () => [0, 0]);
      const spread = pad(out.unsqueeze(d + 1), [...none(d + 1), [0, step - 1], ...none(out.ndim - d - 1)]);
      const merged = spread.reshape([...out.shape.slice(0, d), n * step, ...out.shape.slice(d + 1)]);
      out = merged.slice(...out.shape.map((_, i) => (i === d ? ([0, (n - 1) * step + 1] as const) : null)));
    }
    const len = out.shape[d]!;
    out = pad(out, inShape.map((_, i) => (i === d ? [start, inShape[d]! - start - len] : [0, 0])) as [number, number][]);
  }
  return out;
}

/** Whether a matrix is the transpose of a contiguous one (a Linear weight [out, in] used as Wᵀ). */
const storedTransposed = (b: Tensor): boolean => b.ndim === 2 && b.shape[0]! > 1 && b.shape[1]! > 1 && b.strides[0] === 1 && b.strides[1] === b.shape[0];

export const structuralRules: VjpTable = {
  matmul: (g, { inputs: [a, b] }) => [
    sumToShape(matmul(g, b!.transpose(-2, -1)), a!.shape),
    // In b's own layout: for b = Wᵀ, dW comes out contiguous instead of as a transposed view that
    // is copied later. Same products in the same order, so the same bits.
    storedTransposed(b!) && a!.ndim === 2
      ? matmul(g.transpose(-2, -1), a!).transpose(-2, -1)
      : sumToShape(matmul(a!.transpose(-2, -1), g), b!.shape),
  ],
  reshape: (g, { inputs: [x] }) => [g.reshape([...x!.shape])],
  permute: (g, { call }) => {
    const inverse: number[] = [];
    call.perm.forEach((p, i) => (inverse[p] = i));
    return [g.permute(inverse)];
  },
  expand: (g, { inputs: [x] }) => [sumToShape(g, x!.shape)],
  slice: (g, { call, inputs: [x] }) => [unslice(g, x!.shape, call.starts, call.steps)],
  stop_gradient: () => [null],
  pad: (g, { call, inputs: [x] }) => [g.slice(...x!.shape.map((d, i) => [call.pads[i]![0], call.pads[i]![0] + d] as const))],
  concat: (g, { call, inputs }) => split(g, inputs.map((t) => t.shape[call.axis]!), call.axis),
  gather: (g, { call, inputs: [x, idx] }) => [scatterAdd(zeros(x!.shape, { dtype: g.dtype }), idx!, g, call.axis), null],
  scatter_add: (g, { call, inputs: [, idx] }) => [g, null, gather(g, idx!, call.axis)],
};
