import type { View } from "../../../backend/view.js";
import { kindOf, type AttentionOp, type CallOf, type FusedOp, type NormGradOp, type PrimitiveCall } from "../../../ops/primitives.js";
import { elementwiseFusable, planElementwise } from "./elementwise.js";
import { normGradFusable, planNormGrad } from "./norm-grad.js";
import { planReduce } from "./reduce.js";
import { planMatmul } from "./matmul.js";
import { isPicked, isRowIndexed, planGatherPick, planGatherRows, planScatterAddRows, planScatterPick } from "./indexing.js";
import { planRows, rowsFusable } from "./rows.js";
import { attentionFusable, planAttention } from "./attention.js";
import { adamwFusable, planAdamW } from "./adamw.js";
import type { KernelPlan } from "./plan.js";

export type { KernelPlan } from "./plan.js";
export { planAssemble } from "./assemble.js";
export { planRandom } from "./random.js";

/** The generated kernel for a primitive call, or null to run the reference kernel on wasm memory. */
export function planKernel(call: PrimitiveCall, inputs: readonly View[], out: View): KernelPlan | null {
  if (out.shape.reduce((a, b) => a * b, 1) === 0) return null;
  const kind = kindOf(call.op);
  if (kind === "unary" || kind === "binary") return planElementwise(call, inputs, out);
  if (call.op === "matmul") return planMatmul(inputs[0]!, inputs[1]!, out);
  if (call.op === "gather" && isRowIndexed(inputs[0]!, inputs[1]!, call.axis)) return planGatherRows(inputs[0]!, inputs[1]!, out);
  if (call.op === "scatter_add" && isRowIndexed(inputs[0]!, inputs[1]!, call.axis)) return planScatterAddRows(inputs[0]!, inputs[1]!, inputs[2]!);
  if (call.op === "gather" && isPicked(inputs[0]!, inputs[1]!, call.axis)) return planGatherPick(inputs[0]!, out);
  if (call.op === "scatter_add" && isPicked(inputs[0]!, inputs[1]!, call.axis)) return planScatterPick(inputs[0]!, inputs[2]!);
  if (call.op === "attention" || call.op === "attention_grad") return planAttention(call as CallOf<AttentionOp>, inputs, out);
  if (call.op === "gelu_grad" || call.op === "silu_grad") return elementwiseFusable(inputs) ? planElementwise(call, inputs, out) : null;
  if (call.op === "layer_norm_grad" || call.op === "rms_norm_grad") return planNormGrad(call as CallOf<NormGradOp>, inputs[0]!, inputs[1]!);
  if (call.op === "adamw_update") return adamwFusable(inputs) ? planAdamW(call, inputs) : null;
  if (kind === "fused") return planRows(call as CallOf<FusedOp>, inputs[0]!);
  if (call.op === "sum" || call.op === "max" || call.op === "min") return inputs[0]!.shape.reduce((a, b) => a * b, 1) === 0 ? null : planReduce(call.op, call.axes, inputs[0]!, out);
  return null;
}

/** The fused composites this backend runs as one kernel (others decompose into primitives). */
export function fusable(call: PrimitiveCall, inputs: readonly View[]): boolean {
  if (call.op === "attention" || call.op === "attention_grad") return attentionFusable(call as CallOf<AttentionOp>, inputs);
  if (call.op === "gelu_grad" || call.op === "silu_grad") return elementwiseFusable(inputs);
  if (call.op === "layer_norm_grad" || call.op === "rms_norm_grad") return normGradFusable(inputs[0]!, inputs[1]!);
  if (call.op === "adamw_update") return adamwFusable(inputs);
  return kindOf(call.op) === "fused" && rowsFusable(call as CallOf<FusedOp>, inputs[0]!);
}
