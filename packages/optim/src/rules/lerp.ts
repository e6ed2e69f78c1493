import type { Tensor } from "@equigrad/tensor";

/**
 * a + w·(b − a) in torch's `lerp` form: for |w| ≥ 0.5 it computes b − (b − a)(1 − w), which
 * is what makes `exp_avg.lerp_(grad, 1 − β1)` round like torch for every β1.
 */
export const lerp = (a: Tensor, b: Tensor, w: number): Tensor => (Math.abs(w) < 0.5 ? a.add(b.sub(a).mul(w)) : b.sub(b.sub(a).mul(1 - w)));
