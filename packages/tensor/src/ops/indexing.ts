import { OpError, fmtShape } from "../core/errors.js";
import { normalizeAxis } from "../core/shape.js";
import { apply } from "../dispatch.js";
import type { Tensor } from "../tensor.js";
import { arange, zeros } from "./creation.js";
import { cast, eq, where, sub, le, ge } from "./elementwise.js";
import { expand, reshape } from "./movement.js";

function int32Index(op: string, index: Tensor, x?: Tensor): Tensor {
  if (index.dtype !== "int32") throw new OpError(op, `indices must be int32, got ${index.dtype} ${fmtShape(index.shape)}${x ? ` (indexing ${fmtShape(x.shape)})` : ""}`);
  return index;
}

/** out[i][j] = x[index[i][j]][j] for axis 0, and so on (torch.gather). */
export function gather(x: Tensor, index: Tensor, axis: number): Tensor {
  const a = normalizeAxis("gather", axis, x.ndim);
  return apply({ op: "gather", axis: a }, [x, int32Index("gather", index, x)]);
}

/** base with src added at the indexed positions along `axis` (torch.scatter_add; repeated indices accumulate). */
export function scatterAdd(base: Tensor, index: Tensor, src: Tensor, axis: number): Tensor {
  const a = normalizeAxis("scatterAdd", axis, base.ndim);
  return apply({ op: "scatter_add", axis: a }, [base, int32Index("scatterAdd", index, base), cast(src, base.dtype)]);
}

/**
 * Rows of x along `axis` picked by an index tensor of any shape:
 * out.shape = x.shape[:axis] + index.shape + x.shape[axis+1:] (an embedding lookup for axis 0).
 */
export function indexSelect(x: Tensor, index: Tensor, axis = 0): Tensor {
  const a = normalizeAxis("indexSelect", axis, x.ndim);
  int32Index("indexSelect", index, x);
  const n = index.size;
  const before = x.shape.slice(0, a);
  const after = x.shape.slice(a + 1);
  // Index as [1..,n,1..] broadcast over the other axes, then one gather.
  const idx = expand(reshape(index, [...before.map(() => 1), n, ...after.map(() => 1)]), [...before, n, ...after]);
  return reshape(gather(x, idx, a), [...before, ...index.shape, ...after]);
}

/** int32 indices to a one-hot tensor with a new last axis of size `n` (float32 unless dtype says). */
export function oneHot(index: Tensor, n: number, dtype: Tensor["dtype"] = "float32"): Tensor {
  int32Index("oneHot", index);
  return cast(eq(reshape(index, [...index.shape, 1]), arange(n)), dtype);
}

export function cumsum(x: Tensor, axis: number): Tensor {
  return apply({ op: "cumsum", axis: normalizeAxis("cumsum", axis, x.ndim) }, [x]);
}

/** Lower triangle of the last two dims: keeps (i, j) with j - i ≤ k, zeros the rest. */
export function tril(x: Tensor, k = 0): Tensor {
  return where(triMask(x, k, "lower"), x, x.dtype === "bool" ? false : 0);
}

/** Upper triangle of the last two dims: keeps (i, j) with j - i ≥ k. */
export function triu(x: Tensor, k = 0): Tensor {
  return where(triMask(x, k, "upper"), x, x.dtype === "bool" ? false : 0);
}

function triMask(x: Tensor, k: number, part: "lower" | "upper"): Tensor {
  if (x.ndim < 2) throw new OpError(part === "lower" ? "tril" : "triu", `needs rank ≥ 2, got ${fmtShape(x.shape)}`);
  const [r, c] = x.shape.slice(-2) as [number, number];
  const diff = sub(reshape(arange(c), [1, c]), reshape(arange(r), [r, 1]));
  return part === "lower" ? le(diff, k) : ge(diff, k);
}

/** A [t, t] bool mask, true where a query may attend to a key (key ≤ query). */
export const causalMask = (t: number): Tensor => triMask(zeros([t, t], { dtype: "bool" }), 0, "lower");
