import type { Tensor } from "@equigrad/tensor";

/** An attention projection's head layout, as nn's attention puts it in `param.meta.heads`. */
export interface HeadLayout {
  readonly heads: number;
  readonly headDim: number;
  /** q, k, v: weight [H·headDim, d]; o: weight [d, H·headDim]. */
  readonly kind: "q" | "k" | "v" | "o";
}

/** The head layout in a parameter's meta, or undefined (checked when present). */
export function headLayoutOf(meta: unknown): HeadLayout | undefined {
  const h = (meta as { heads?: unknown } | undefined)?.heads;
  if (h === undefined) return undefined;
  const l = h as Partial<HeadLayout>;
  const ok = Number.isInteger(l.heads) && l.heads! > 0 && Number.isInteger(l.headDim) && l.headDim! > 0 && ["q", "k", "v", "o"].includes(l.kind as string);
  if (!ok) throw new Error(`splitHeads: meta.heads must be { heads: positive integer, headDim: positive integer, kind: "q" | "k" | "v" | "o" }, got ${JSON.stringify(h)}`);
  return l as HeadLayout;
}

/** q/k/v [H·hd, d] → [H, hd, d]; o [d, H·hd] → [H, d, hd]. One matrix per head. */
export function splitHeads(w: Tensor, layout: HeadLayout): Tensor {
  const { heads: H, headDim: hd, kind } = layout;
  if (w.ndim !== 2) throw new Error(`splitHeads: expected a 2-D weight, got shape [${w.shape.join(", ")}]`);
  const [r, c] = w.shape as [number, number];
  const along = kind === "o" ? c : r;
  if (along !== H * hd) throw new Error(`splitHeads: a '${kind}' weight of shape [${r}, ${c}] does not have heads·headDim = ${H}·${hd} = ${H * hd} ${kind === "o" ? "columns" : "rows"}`);
  return kind === "o" ? w.reshape([r, H, hd]).permute([1, 0, 2]) : w.reshape([H, hd, c]);
}

/** The inverse of `splitHeads`. */
export function mergeHeads(u: Tensor, layout: HeadLayout): Tensor {
  const { heads: H, headDim: hd, kind } = layout;
  if (kind === "o") {
    const d = u.shape[1]!;
    return u.permute([1, 0, 2]).reshape([d, H * hd]);
  }
  return u.reshape([H * hd, u.shape[2]!]);
}
