import type { Tensor } from "@equigrad/tensor";
import { checkMatrix } from "./matrix.js";

/** Π⊥X = X − 1·mean-row: every column then sums to zero (per matrix of a batch). */
export function centerRows(x: Tensor): Tensor {
  checkMatrix("centerRows", x);
  return x.sub(x.mean(-2, true));
}

/** X_i / (‖X_i‖₂ + ε) for every row (Lau–Su's 'inverse_eps' mode): zero rows stay zero. */
export function rowNormalize(x: Tensor, eps = 1e-8): Tensor {
  checkMatrix("rowNormalize", x);
  return x.div(x.square().sum(-1, true).sqrt().add(eps));
}
