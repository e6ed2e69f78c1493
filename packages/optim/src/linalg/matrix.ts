import { contiguous, eye, isFloat, type Tensor } from "@equigrad/tensor";

/** Throws unless x is a float tensor of rank ≥ 2 (a matrix or a batch of matrices). */
export function checkMatrix(who: string, x: Tensor): void {
  if (x.ndim < 2) throw new Error(`${who}: expected a matrix [m, n] or a batch [..., m, n], got shape [${x.shape.join(", ")}]`);
  if (!isFloat(x.dtype)) throw new Error(`${who}: expected a float32 or float64 tensor, got ${x.dtype}; cast it first`);
}

export const rowsOf = (x: Tensor): number => x.shape[x.ndim - 2]!;
export const colsOf = (x: Tensor): number => x.shape[x.ndim - 1]!;

/** Xᵀ over the last two axes, in a fresh row-major buffer (so later reductions see one layout). */
export const transposeLast = (x: Tensor): Tensor => contiguous(x.transpose(-2, -1));

/** ‖X‖_F per matrix, keeping the two matrix axes as size 1 so it broadcasts back. */
export const frobenius = (x: Tensor): Tensor => x.square().sum([-2, -1], true).sqrt();

/** The n×n identity in x's dtype (broadcasts over batch axes). */
export const identityLike = (x: Tensor, n: number): Tensor => eye(n, n, { dtype: x.dtype });

/** Σ(m ⊙ u) per matrix: ⟨M, polar(M)⟩_F = ‖M‖_* when u is M's polar factor. Shape: the batch axes. */
export const nuclearScale = (m: Tensor, u: Tensor): Tensor => m.mul(u).sum([-2, -1]);

/** tr(A·B) per matrix for square A, B: Σ(A ⊙ Bᵀ). */
export const traceOfProduct = (a: Tensor, b: Tensor): Tensor => a.mul(b.transpose(-2, -1)).sum([-2, -1]);
