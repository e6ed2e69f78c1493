import { OpError } from "../../core/errors.js";
import type { BinaryOp, PrimitiveCall, UnaryOp } from "../../ops/primitives.js";
import { attr, onnxType, type GraphBuilder, type Val } from "./builder.js";

/** Elementwise primitives: ONNX broadcasts natively (numpy rules), so no Expand is ever needed. */

const UNARY_ONNX: Partial<Record<UnaryOp, string>> = {
  exp: "Exp", log: "Log", sqrt: "Sqrt", sin: "Sin", cos: "Cos", tanh: "Tanh", sigmoid: "Sigmoid",
  reciprocal: "Reciprocal", erf: "Erf", neg: "Neg", abs: "Abs", sign: "Sign", logical_not: "Not",
};

const BINARY_ONNX: Partial<Record<BinaryOp, string>> = {
  add: "Add", sub: "Sub", mul: "Mul", div: "Div", pow: "Pow", maximum: "Max", minimum: "Min",
  eq: "Equal", lt: "Less", le: "LessOrEqual", gt: "Greater", ge: "GreaterOrEqual", logical_and: "And", logical_or: "Or",
};

/** x · sigmoid(x). */
export const silu = (b: GraphBuilder, x: string): string => b.op("Mul", [x, b.op("Sigmoid", [x])]);

export function lowerUnary(b: GraphBuilder, op: UnaryOp, x: Val, out?: string): string {
  switch (op) {
    case "rsqrt":
      return b.op("Reciprocal", [b.op("Sqrt", [x.name])], [], out);
    case "square":
      return b.op("Mul", [x.name, x.name], [], out);
    case "silu":
      return b.op("Mul", [x.name, b.op("Sigmoid", [x.name])], [], out);
    case "gelu_tanh":
    case "gelu_erf":
      return b.op("Gelu", [x.name], [attr.string("approximate", op === "gelu_tanh" ? "tanh" : "none")], out);
    case "relu":
      // ORT's Relu kernel is float-only; max(x, 0) is the same function on int32.
      return x.dtype === "int32" ? b.op("Max", [x.name, b.scalar("int32", 0)], [], out) : b.op("Relu", [x.name], [], out);
  }
  return b.op(UNARY_ONNX[op]!, [x.name], [], out);
}

export function lowerBinary(b: GraphBuilder, op: BinaryOp, x: Val, y: Val, out?: string): string {
  if (op === "ne") return b.op("Not", [b.op("Equal", [x.name, y.name])], [], out);
  return b.op(BINARY_ONNX[op]!, [x.name, y.name], [], out);
}

/** The unary/binary-kind primitives (elementwise ops, where, cast, copy, pow_scalar). */
export function lowerElementwise(b: GraphBuilder, call: PrimitiveCall, ins: readonly Val[], outMeta: { dtype: Val["dtype"] }, out?: string): string {
  const [x, y, z] = ins;
  switch (call.op) {
    case "pow_scalar":
      if (call.exponent === 2) return b.op("Mul", [x!.name, x!.name], [], out);
      if (call.exponent === 1) return b.op("Identity", [x!.name], [], out);
      return b.op("Pow", [x!.name, b.scalar(x!.dtype, call.exponent)], [], out);
    case "where":
      return b.op("Where", [x!.name, y!.name, z!.name], [], out);
    case "cast":
      return x!.dtype === call.dtype ? b.op("Identity", [x!.name], [], out) : b.op("Cast", [x!.name], [attr.int("to", onnxType(call.dtype))], out);
    case "copy":
    case "stop_gradient":
      return b.op("Identity", [x!.name], [], out);
  }
  if (ins.length === 1) return lowerUnary(b, call.op as UnaryOp, x!, out);
  if (ins.length === 2) return lowerBinary(b, call.op as BinaryOp, x!, y!, out);
  throw new OpError(call.op, `no ONNX lowering for ${ins.length} inputs (${outMeta.dtype})`);
}
