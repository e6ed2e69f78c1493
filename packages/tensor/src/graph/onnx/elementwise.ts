import { OpError, fmtShape } from "../../core/errors.js";
import type { BinaryOp, PrimitiveCall, UnaryOp } from "../../ops/primitives.js";
import { attr, onnxType, type GraphBuilder, type Val } from "./builder.js";

/** ORT's CPU provider has Erf for float32 only: float64 erf (and what uses it) cannot run there. */
export function noFloat64Erf(op: string, x: Val): void {
  if (x.dtype === "float64") {
    throw new OpError(op, `on ${fmtShape(x.shape)} float64 needs erf, which ONNX Runtime's CPU provider has for float32 only; cast to float32 before compiling, or use the tanh approximation`);
  }
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

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
      // ORT's Gelu expands with float32 constants; float64 gets x·σ(2c(x + 0.044715x³)) at full precision.
      if (x.dtype === "float64") {
        const x3 = b.op("Mul", [x.name, b.op("Mul", [x.name, x.name])]);
        const u = b.op("Mul", [b.op("Add", [x.name, b.op("Mul", [x3, b.scalar("float64", 0.044715)])]), b.scalar("float64", 2 * SQRT_2_OVER_PI)]);
        return b.op("Mul", [x.name, b.op("Sigmoid", [u])], [], out);
      }
      return b.op("Gelu", [x.name], [attr.string("approximate", "tanh")], out);
    case "gelu_erf":
      noFloat64Erf(op, x);
      return b.op("Gelu", [x.name], [attr.string("approximate", "none")], out);
    case "relu":
      // ORT's Relu kernel is float-only; max(x, 0) is the same function on int32.
      return x.dtype === "int32" ? b.op("Max", [x.name, b.scalar("int32", 0)], [], out) : b.op("Relu", [x.name], [], out);
  }
  if (op === "erf") noFloat64Erf(op, x);
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
      // ORT has no bool Where: (c ∧ a) ∨ (¬c ∧ b).
      if (y!.dtype === "bool") return b.op("Or", [b.op("And", [x!.name, y!.name]), b.op("And", [b.op("Not", [x!.name]), z!.name])], [], out);
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
