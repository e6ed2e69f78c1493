import type { CallOf } from "../../ops/primitives.js";
import { attr, onnxType, type GraphBuilder, type Val } from "./builder.js";

/** Reductions keep reduced dims (keepdims=1, the primitives' convention); axes go in as int64 inputs (opset 18). */

/** Bool counts are summed as int32, as the primitives define. */
const numeric = (b: GraphBuilder, x: Val): string => (x.dtype === "bool" ? b.op("Cast", [x.name], [attr.int("to", onnxType("int32"))]) : x.name);

export function lowerReduce(b: GraphBuilder, call: CallOf<"sum" | "max" | "min">, x: Val, out?: string): string {
  const input = numeric(b, x);
  // An empty axis list reduces nothing (ONNX would reduce everything).
  if (call.axes.length === 0) return b.op("Identity", [input], [], out);
  const op = call.op === "sum" ? "ReduceSum" : call.op === "max" ? "ReduceMax" : "ReduceMin";
  return b.op(op, [input, b.i64(call.axes)], [attr.int("keepdims", 1)], out);
}

export function lowerArgReduce(b: GraphBuilder, call: CallOf<"argmax" | "argmin">, x: Val, out?: string): string {
  const idx = b.op(call.op === "argmax" ? "ArgMax" : "ArgMin", [numeric(b, x)], [attr.int("axis", call.axis), attr.int("keepdims", 1), attr.int("select_last_index", 0)]);
  return b.op("Cast", [idx], [attr.int("to", onnxType("int32"))], out);
}

export function lowerCumsum(b: GraphBuilder, call: CallOf<"cumsum">, x: Val, out?: string): string {
  return b.op("CumSum", [numeric(b, x), b.i64Scalar(call.axis)], [], out);
}

/** Mean over the last axis, kept (the norms' statistic). */
export const meanLast = (b: GraphBuilder, x: string): string => b.op("ReduceMean", [x, b.i64([-1])], [attr.int("keepdims", 1)]);
