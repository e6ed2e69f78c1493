import { roundTo, typedArray, type TypedArray } from "../../core/dtype.js";
import { numel } from "../../core/shape.js";
import type { CallOf } from "../../ops/primitives.js";
import { attr, onnxType, tensorP, type GraphBuilder } from "./builder.js";

/** Values known when lowering: initializers (ORT keeps them resident and constant-folds through them). */

/** Data in the array type of its dtype (constants may arrive as any typed array). */
function asDType(call: { dtype: CallOf<"constant">["dtype"] }, data: ArrayLike<number>): TypedArray {
  const out = typedArray(call.dtype, data.length);
  for (let i = 0; i < data.length; i++) out[i] = roundTo(call.dtype, data[i]!);
  return out;
}

export function lowerConstant(b: GraphBuilder, call: CallOf<"constant">, out?: string): string {
  const name = b.initializer(call.dtype, call.shape, asDType(call, call.data), "constant");
  return out ? b.op("Identity", [name], [], out) : name;
}

export function lowerFull(b: GraphBuilder, call: CallOf<"full">, out?: string): string {
  const n = numel(call.shape);
  if (n <= 64) {
    const name = b.initializer(call.dtype, call.shape, asDType(call, new Array<number>(n).fill(call.value)), "full");
    return out ? b.op("Identity", [name], [], out) : name;
  }
  // Large fills stay small in the file.
  const value = tensorP("value", onnxType(call.dtype), [1], asDType(call, [call.value]));
  return b.op("ConstantOfShape", [b.i64(call.shape)], [attr.tensor("value", value)], out);
}

export function lowerArange(b: GraphBuilder, call: CallOf<"arange">, out?: string): string {
  const n = numel(call.shape);
  const data = asDType(call, Array.from({ length: n }, (_, i) => call.start + i * call.step));
  const name = b.initializer(call.dtype, call.shape, data, "arange");
  return out ? b.op("Identity", [name], [], out) : name;
}
