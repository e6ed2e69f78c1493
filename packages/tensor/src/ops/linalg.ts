import { OpError, fmtShape } from "../core/errors.js";
import { apply } from "../dispatch.js";
import type { Tensor } from "../tensor.js";
import { cast } from "./elementwise.js";
import { promote } from "../core/dtype.js";
import { reshape } from "./movement.js";
import { reshapeStrides } from "../core/strided.js";

/**
 * Matrix product with NumPy semantics: 1-D operands are promoted to a row/column and
 * the added dim removed afterwards; batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new OpError("matmul", `operands must have rank ≥ 1, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const k1 = a.shape[a.ndim - 1]!;
  const k2 = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (k1 !== k2) throw new OpError("matmul", `inner dimensions differ: a ${fmtShape(a.shape)} has ${k1} columns, b ${fmtShape(b.shape)} has ${k2} rows`);
  const dtype = promote(a.dtype, b.dtype);
  let x = cast(a, dtype === "bool" ? "int32" : dtype);
  let y = cast(b, dtype === "bool" ? "int32" : dtype);
  const vecA = x.ndim === 1;
  const vecB = y.ndim === 1;
  if (vecA) x = reshape(x, [1, x.shape[0]!]);
  if (vecB) y = reshape(y, [y.shape[0]!, 1]);
  // A stack of rows times one matrix (a linear layer on [batch, time, features]) is one 2-D
  // product when the rows merge without a copy: one packing of y instead of one per batch
  // entry, and autograd then forms y's gradient as one product instead of a batch of
  // products summed afterwards.
  if (y.ndim === 2 && x.ndim > 2 && k1 > 0 && reshapeStrides(x, [x.size / k1, k1]) !== null) {
    const rows = apply({ op: "matmul" }, [reshape(x, [x.size / k1, k1]), y]);
    const out = reshape(rows, [...x.shape.slice(0, -1), y.shape[1]!]);
    return vecB ? reshape(out, out.shape.slice(0, -1)) : out;
  }
  // Equal ranks for the primitive.
  while (x.ndim < y.ndim) x = reshape(x, [1, ...x.shape]);
  while (y.ndim < x.ndim) y = reshape(y, [1, ...y.shape]);
  let out = apply({ op: "matmul" }, [x, y]);
  if (vecA) out = reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]!]);
  if (vecB) out = reshape(out, out.shape.slice(0, -1));
  return out;
}
