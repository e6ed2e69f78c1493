import { OpError } from "../../core/errors.js";
import type { BinaryOp, PrimitiveCall, UnaryOp } from "../../ops/primitives.js";
import { attr, onnxType, type GraphBuilder, type Val } from "./builder.js";

/** Elementwise primitives: ONNX broadcasts natively (numpy rules), so no Expand is ever needed. */

/** Series terms for erf on [0, 6]: at x = 6 the 100th term is below 1e-18 of the sum. */
const ERF_TERMS = 100;

/**
 * erf in float64 from ONNX ops (ORT's Erf kernel is float32-only): the reference backend's
 * series erf(x) = 2/√π · e^{−x²} · Σ (2x²)ⁿ x / (1·3·…·(2n+1)), all terms positive (no
 * cancellation), in nested (Horner) form in z = 2x², with |x| clamped to 6 (beyond, erf is ±1 in
 * float64). About 3·100 nodes, so float32 keeps the Erf kernel.
 */
export function erf64(b: GraphBuilder, x: string): string {
  const c = (v: number) => b.scalar("float64", v);
  const a = b.op("Min", [b.op("Abs", [x]), c(6)]);
  const z = b.op("Mul", [b.op("Mul", [a, a]), c(2)]);
  // Σ = 1 + z/3·(1 + z/5·(1 + z/7·(…))): moderate constants. (With the plain coefficients
  // 1/(1·3·…·(2n+1)), down to 1e-190, ORT 1.31's basic graph optimizations lose the small
  // ones — as if rounded to float32 — though the model is right with optimizations off.)
  let t = c(1);
  for (let n = ERF_TERMS; n >= 1; n--) t = b.op("Add", [b.op("Mul", [b.op("Mul", [t, z]), c(1 / (2 * n + 1))]), c(1)]);
  const gauss = b.op("Exp", [b.op("Neg", [b.op("Mul", [a, a])])]);
  const magnitude = b.op("Mul", [b.op("Mul", [b.op("Mul", [gauss, t]), a]), c(2 / Math.sqrt(Math.PI))]);
  return b.op("Mul", [magnitude, b.op("Sign", [x])]);
}

/** erf of a float name: ORT's kernel for float32, the series for float64. */
export const erfOf = (b: GraphBuilder, x: string, dtype: Val["dtype"], out?: string): string =>
  dtype === "float64" ? b.op("Identity", [erf64(b, x)], [], out) : b.op("Erf", [x], [], out);

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const UNARY_ONNX: Partial<Record<UnaryOp, string>> = {
  exp: "Exp", log: "Log", sqrt: "Sqrt", sin: "Sin", cos: "Cos", tanh: "Tanh", sigmoid: "Sigmoid",
  reciprocal: "Reciprocal", erf: "Erf", neg: "Neg", abs: "Abs", sign: "Sign", logical_not: "Not",
};

const BINARY_ONNX: Partial<Record<BinaryOp, string>> = {
  add: "Add", sub: "Sub", mul: "Mul", div: "Div", pow: "Pow", maximum: "Max", minimum: "Min",
  eq: "Equal", lt: "Less", le: "LessOrEqual", gt: "Greater", ge: "GreaterOrEqual", logical_and: "And", logical_or: "Or",
};

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
      // Float64: 0.5·x·(1 + erf(x/√2)) with the series erf (Gelu's kernel is float32 inside).
      if (x.dtype === "float64") {
        const e = erf64(b, b.op("Mul", [x.name, b.scalar("float64", Math.SQRT1_2)]));
        return b.op("Mul", [b.op("Mul", [x.name, b.op("Add", [e, b.scalar("float64", 1)])]), b.scalar("float64", 0.5)], [], out);
      }
      return b.op("Gelu", [x.name], [attr.string("approximate", "none")], out);
    case "relu":
      // ORT's Relu kernel is float-only; max(x, 0) is the same function on int32.
      return x.dtype === "int32" ? b.op("Max", [x.name, b.scalar("int32", 0)], [], out) : b.op("Relu", [x.name], [], out);
  }
  if (op === "erf") return erfOf(b, x.name, x.dtype, out);
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
