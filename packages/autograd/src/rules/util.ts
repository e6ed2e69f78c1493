import type { Shape, Tensor } from "@equigrad/tensor";

/** Sums a broadcast cotangent back down to the shape of the input it came from. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  if (axes.length === 0) return g;
  return g.sum(axes, true).reshape([...shape]);
}
