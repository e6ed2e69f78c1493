import type { CallOf } from "../../ops/primitives.js";
import { attr, onnxType, type GraphBuilder, type Val } from "./builder.js";

/**
 * Reductions keep reduced dims (keepdims=1, the primitives' convention); axes go in as int64
 * inputs (opset 18). ORT's ReduceMax/ReduceMin/ArgMax/ArgMin skip NaN, while the primitives
 * propagate it (torch semantics: a NaN is the max and the min, the first NaN is the argmax), so
 * float inputs get the NaN rule added explicitly (an IsNaN pass and a reduction of it).
 */

const isFloatVal = (x: Val) => x.dtype === "float32" || x.dtype === "float64";

/** Bool counts are summed as int32, as the primitives define. */
const numeric = (b: GraphBuilder, x: Val): string => (x.dtype === "bool" ? b.op("Cast", [x.name], [attr.int("to", onnxType("int32"))]) : x.name);

export function lowerReduce(b: GraphBuilder, call: CallOf<"sum" | "max" | "min">, x: Val, out?: string): string {
  const input = numeric(b, x);
  // An empty axis list reduces nothing (ONNX would reduce everything).
  if (call.axes.length === 0) return b.op("Identity", [input], [], out);
  const axes = b.i64(call.axes);
  const keep = [attr.int("keepdims", 1)];
  if (call.op === "sum") return b.op("ReduceSum", [input, axes], keep, out);
  const op = call.op === "max" ? "ReduceMax" : "ReduceMin";
  if (!isFloatVal(x)) return b.op(op, [input, axes], keep, out);
  // m + Σ(NaN where x is NaN, else 0): m, or NaN if the row has one (±∞ stay intact).
  const nanTerms = b.op("Where", [b.op("IsNaN", [input]), b.scalar(x.dtype, NaN), b.scalar(x.dtype, 0)]);
  return b.op("Add", [b.op(op, [input, axes], keep), b.op("ReduceSum", [nanTerms, axes], keep)], [], out);
}

export function lowerArgReduce(b: GraphBuilder, call: CallOf<"argmax" | "argmin">, x: Val, out?: string): string {
  const attrs = [attr.int("axis", call.axis), attr.int("keepdims", 1), attr.int("select_last_index", 0)];
  const int32 = [attr.int("to", onnxType("int32"))];
  const idx = b.op("Cast", [b.op(call.op === "argmax" ? "ArgMax" : "ArgMin", [numeric(b, x)], attrs)], int32);
  if (!isFloatVal(x)) return b.op("Identity", [idx], [], out);
  // The first NaN wins: ArgMax of the NaN mask finds it, and it counts where the mask has a 1 there.
  const mask = b.op("Cast", [b.op("IsNaN", [x.name])], int32);
  const firstNaN = b.op("Cast", [b.op("ArgMax", [mask], attrs)], int32);
  const hasNaN = b.op("Cast", [b.op("GatherElements", [mask, firstNaN], [attr.int("axis", call.axis)])], [attr.int("to", onnxType("bool"))]);
  return b.op("Where", [hasNaN, firstNaN, idx], [], out);
}

export function lowerCumsum(b: GraphBuilder, call: CallOf<"cumsum">, x: Val, out?: string): string {
  return b.op("CumSum", [numeric(b, x), b.i64Scalar(call.axis)], [], out);
}

/** Mean over the last axis, kept (the norms' statistic). */
export const meanLast = (b: GraphBuilder, x: string): string => b.op("ReduceMean", [x, b.i64([-1])], [attr.int("keepdims", 1)]);
