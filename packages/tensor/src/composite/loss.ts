import { OpError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../tensor.js";
import { where } from "../ops/elementwise.js";
import { gather } from "../ops/indexing.js";
import { logSoftmax } from "./softmax.js";

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing and are not counted (default -100, as in torch). */
  ignoreIndex?: number;
  reduction?: "mean" | "sum" | "none";
}

/**
 * Cross-entropy of logits [..., C] against int32 class targets [...].
 * "mean" divides by the number of non-ignored targets (NaN when all are ignored, as in torch).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = "mean" } = opts;
  if (targets.dtype !== "int32") throw new OpError("crossEntropy", `targets must be int32 class indices, got ${targets.dtype} ${fmtShape(targets.shape)} (logits ${fmtShape(logits.shape)})`);
  const lead = logits.shape.slice(0, -1);
  if (logits.ndim < 1 || lead.length !== targets.ndim || lead.some((d, i) => d !== targets.shape[i])) {
    throw new OpError("crossEntropy", `logits ${fmtShape(logits.shape)} need targets of shape ${fmtShape(lead)}, got ${fmtShape(targets.shape)}`);
  }
  const valid = targets.ne(ignoreIndex);
  const safe = where(valid, targets, 0);
  const picked = gather(logSoftmax(logits, -1), safe.unsqueeze(-1), -1).squeeze(-1);
  const losses = where(valid, picked.neg(), 0);
  if (reduction === "none") return losses;
  const total = losses.sum();
  return reduction === "sum" ? total : total.div(valid.sum().cast(total.dtype));
}
