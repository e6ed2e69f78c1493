import { contiguousStrides, type Shape } from "./shape.js";

/** Layout of a view over a buffer. */
export interface Layout {
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

export const isContiguous = (l: Layout): boolean => {
  let expected = 1;
  for (let i = l.shape.length - 1; i >= 0; i--) {
    if (l.shape[i] === 1) continue;
    if (l.strides[i] !== expected) return false;
    expected *= l.shape[i]!;
  }
  return true;
};

/**
 * Strides that make `newShape` a view of `l` without copying, or null when the data would
 * have to move (NumPy's no-copy reshape rule: merged dims must be contiguous among themselves).
 */
export function reshapeStrides(l: Layout, newShape: Shape): number[] | null {
  // An empty tensor has no elements to move: any strides view it (and the loop below needs non-zero dims).
  if (isContiguous(l) || l.shape.includes(0)) return contiguousStrides(newShape);
  const os: number[] = [];
  const ost: number[] = [];
  l.shape.forEach((d, i) => {
    if (d !== 1) {
      os.push(d);
      ost.push(l.strides[i]!);
    }
  });
  const ns = newShape;
  const out = new Array<number>(ns.length).fill(1);
  let oi = 0, oj = 1, ni = 0, nj = 1;
  while (ni < ns.length && oi < os.length) {
    let np = ns[ni]!, op = os[oi]!;
    while (np !== op) {
      if (np < op) np *= ns[nj++]!;
      else op *= os[oj++]!;
    }
    for (let k = oi; k < oj - 1; k++) if (ost[k] !== os[k + 1]! * ost[k + 1]!) return null;
    out[nj - 1] = ost[oj - 1]!;
    for (let k = nj - 1; k > ni; k--) out[k - 1] = out[k]! * ns[k]!;
    ni = nj++;
    oi = oj++;
  }
  return out;
}

export const permuteLayout = (l: Layout, perm: readonly number[]): Layout => ({
  shape: perm.map((p) => l.shape[p]!),
  strides: perm.map((p) => l.strides[p]!),
  offset: l.offset,
});

/** Broadcasts to `shape` (same or higher rank): expanded dims get stride 0. */
export function expandLayout(l: Layout, shape: Shape): Layout {
  const off = shape.length - l.shape.length;
  return {
    shape,
    strides: shape.map((d, i) => (i < off || (l.shape[i - off] === 1 && d !== 1) ? 0 : l.strides[i - off]!)),
    offset: l.offset,
  };
}

export const sliceLayout = (l: Layout, starts: readonly number[], steps: readonly number[], shape: Shape): Layout => ({
  shape,
  strides: l.strides.map((s, i) => s * steps[i]!),
  offset: l.offset + l.strides.reduce((acc, s, i) => acc + (shape[i]! > 0 ? s * starts[i]! : 0), 0),
});

/** Element offsets of every element of a layout in row-major order (the reference backend's indexer). */
export function elementOffsets(l: Layout): Int32Array {
  const n = l.shape.reduce((a, b) => a * b, 1);
  const out = new Int32Array(n);
  const rank = l.shape.length;
  if (n === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let off = l.offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += l.strides[d]!;
      if (idx[d]! < l.shape[d]!) break;
      off -= l.strides[d]! * l.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}
