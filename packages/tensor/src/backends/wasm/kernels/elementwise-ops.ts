import type { DType } from "../../../core/dtype.js";
import type { FunctionBuilder, ModuleBuilder } from "../asm/index.js";
import type { PrimitiveCall } from "../../../ops/primitives.js";
import { addActivationGrad } from "./activation-grad.js";
import { STORAGE } from "./emit.js";
import type { MathFn } from "./simd-math.js";

/** The module's math functions (v128 -> v128), added by the kernel builder for `math`, and `own` (see ElementwiseOp). */
export type MathFns = Partial<Record<MathFn, FunctionBuilder>> & { own?: FunctionBuilder };

/** Pushes operand i's value (scalar or v128) onto the stack. */
export type Push = (i: number) => void;

/** Code for one elementwise op: a scalar form, and an f32x4 form where SIMD applies. */
export interface ElementwiseOp {
  readonly scalar: (f: FunctionBuilder, push: Push, fns: MathFns) => void;
  readonly vector?: (f: FunctionBuilder, push: Push, fns: MathFns) => void;
  /** Math functions the emitters call. */
  readonly math?: readonly MathFn[];
  /** A function of the op's own the emitters call (as `fns.own`), added to the module by this. */
  readonly own?: (m: ModuleBuilder) => FunctionBuilder;
}

const MATH_UNARY = new Set<string>(["exp", "log", "sin", "cos", "tanh", "sigmoid", "erf", "gelu_tanh", "gelu_erf", "silu"]);

/** A float32 op computed by a math function: four lanes at a time, and a splatted lane for tails. */
function mathOp(fn: MathFn, arity: 1 | 2): ElementwiseOp {
  const args = (p: Push) => {
    for (let i = 0; i < arity; i++) p(i);
  };
  return {
    math: [fn],
    vector: (f, p, fns) => (args(p), f.call(fns[fn]!)),
    scalar: (f, p, fns) => {
      for (let i = 0; i < arity; i++) (p(i), f.f32x4.splat());
      f.call(fns[fn]!).f32x4.extract_lane(0);
    },
  };
}

type T = "f32" | "f64" | "i32";

const fconst = (f: FunctionBuilder, t: T, v: number) => (t === "f32" ? f.f32.const(v) : t === "f64" ? f.f64.const(v) : f.i32.const(v));
const splat = (f: FunctionBuilder, v: number) => f.v128.const_f32x4(v, v, v, v);

/** Stack-level instruction of type t by name (f32.add, f64.add, i32.add...). */
function ins(f: FunctionBuilder, t: T, name: string): void {
  const ns = f[t] as unknown as Record<string, () => void>;
  const fn = ns[name];
  if (!fn) throw new Error(`no ${t}.${name}`);
  fn.call(ns);
}

const cmpName = (op: string, t: T): string => (t === "i32" && op !== "eq" && op !== "ne" ? `${op}_s` : op);

/** The elementwise op for a call, given its input and output dtypes, or null (no wasm code yet). */
export function elementwiseOp(call: PrimitiveCall, inDType: DType, outDType: DType): ElementwiseOp | null {
  const t = STORAGE[inDType].stack;
  const float = t !== "i32";
  const f32 = inDType === "float32" && outDType === "float32";
  if (f32 && MATH_UNARY.has(call.op)) return mathOp(call.op as MathFn, 1);
  if (f32 && call.op === "pow") return mathOp("pow", 2);
  if (call.op === "gelu_grad" || call.op === "silu_grad") {
    // Fused VJPs (x, g) -> g · f'(x): float32 only (other dtypes decompose, see fusable()).
    if (!f32) return null;
    return {
      own: (m) => addActivationGrad(m, call),
      vector: (f, p, fns) => (p(0), p(1), f.call(fns.own!)),
      scalar: (f, p, fns) => (p(0), f.f32x4.splat(), p(1), f.f32x4.splat(), f.call(fns.own!), f.f32x4.extract_lane(0)),
    };
  }
  const bin = (name: string, vec?: string): ElementwiseOp => ({
    scalar: (f, p) => (p(0), p(1), ins(f, t, name)),
    vector: vec && f32 ? (f, p) => (p(0), p(1), ins(f, "f32x4" as T, vec)) : undefined,
  });
  switch (call.op) {
    case "copy":
      return { scalar: (_, p) => p(0), vector: f32 ? (_, p) => p(0) : undefined };
    case "neg":
      return float ? { scalar: (f, p) => (p(0), ins(f, t, "neg")), vector: f32 ? (f, p) => (p(0), f.f32x4.neg()) : undefined } : { scalar: (f, p) => (f.i32.const(0), p(0), f.i32.sub()) };
    case "abs":
      return float ? { scalar: (f, p) => (p(0), ins(f, t, "abs")), vector: f32 ? (f, p) => (p(0), f.f32x4.abs()) : undefined } : { scalar: (f, p) => (p(0), f.i32.const(0), p(0), f.i32.sub(), p(0), f.i32.const(0), f.i32.ge_s(), f.select()) };
    case "sqrt":
      return { scalar: (f, p) => (p(0), ins(f, t, "sqrt")), vector: f32 ? (f, p) => (p(0), f.f32x4.sqrt()) : undefined };
    case "rsqrt":
      // In float64 then rounded once, so float32 results equal the reference's exactly.
      if (t === "f32") return { scalar: (f, p) => (f.f64.const(1), p(0), f.f64.promote_f32(), f.f64.sqrt(), f.f64.div(), f.f32.demote_f64()) };
      return { scalar: (f, p) => (fconst(f, t, 1), p(0), ins(f, t, "sqrt"), ins(f, t, "div")) };
    case "reciprocal":
      return { scalar: (f, p) => (fconst(f, t, 1), p(0), ins(f, t, "div")), vector: f32 ? (f, p) => (splat(f, 1), p(0), f.f32x4.div()) : undefined };
    case "square":
      return { scalar: (f, p) => (p(0), p(0), ins(f, t, "mul")), vector: f32 ? (f, p) => (p(0), p(0), f.f32x4.mul()) : undefined };
    case "relu":
      // max(x, 0): NaN propagates, as in torch and the reference.
      return float
        ? { scalar: (f, p) => (p(0), fconst(f, t, 0), ins(f, t, "max")), vector: f32 ? (f, p) => (p(0), splat(f, 0), f.f32x4.max()) : undefined }
        : { scalar: (f, p) => (p(0), f.i32.const(0), p(0), f.i32.const(0), f.i32.gt_s(), f.select()) };
    case "sign":
      return {
        scalar: (f, p) => {
          fconst(f, t, 1);
          fconst(f, t, -1), p(0), p(0), fconst(f, t, 0), ins(f, t, cmpName("lt", t)), f.select();
          p(0), fconst(f, t, 0), ins(f, t, cmpName("gt", t)), f.select();
        },
      };
    case "pow_scalar": {
      const e = call.exponent;
      if (e === 1) return elementwiseOp({ op: "copy" }, inDType, outDType);
      if (e === 2) return elementwiseOp({ op: "square" }, inDType, outDType);
      if (e === 0.5) return elementwiseOp({ op: "sqrt" }, inDType, outDType);
      if (e === -1) return elementwiseOp({ op: "reciprocal" }, inDType, outDType);
      if (e === -0.5) return elementwiseOp({ op: "rsqrt" }, inDType, outDType);
      if (e === 3) return { scalar: (f, p) => (p(0), p(0), ins(f, t, "mul"), p(0), ins(f, t, "mul")), vector: f32 ? (f, p) => (p(0), p(0), f.f32x4.mul(), p(0), f.f32x4.mul()) : undefined };
      if (!f32) return null;
      return {
        math: ["pow"],
        vector: (f, p, fns) => (p(0), splat(f, e), f.call(fns.pow!)),
        scalar: (f, p, fns) => (p(0), f.f32x4.splat(), splat(f, e), f.call(fns.pow!), f.f32x4.extract_lane(0)),
      };
    }
    case "logical_not":
      return { scalar: (f, p) => (p(0), f.i32.eqz()) };
    case "add":
    case "sub":
    case "mul":
      return bin(call.op, call.op);
    case "div":
      return float ? bin("div", "div") : null;
    case "maximum":
    case "minimum":
      if (float) return bin(call.op === "maximum" ? "max" : "min", call.op === "maximum" ? "max" : "min");
      return { scalar: (f, p) => (p(0), p(1), p(0), p(1), ins(f, t, call.op === "maximum" ? "gt_s" : "lt_s"), f.select()) };
    case "eq":
    case "ne":
    case "lt":
    case "le":
    case "gt":
    case "ge":
      return { scalar: (f, p) => (p(0), p(1), ins(f, t, cmpName(call.op, t))) };
    case "logical_and":
      return { scalar: (f, p) => (p(0), p(1), f.i32.and()) };
    case "logical_or":
      return { scalar: (f, p) => (p(0), p(1), f.i32.or()) };
    case "where":
      // The vector form gets the condition as a lane mask (see planElementwise).
      return { scalar: (f, p) => (p(1), p(2), p(0), f.select()), vector: outDType === "float32" ? (f, p) => (p(1), p(2), p(0), f.v128.bitselect()) : undefined };
    case "cast":
      return castOp(inDType, outDType);
    default:
      return null;
  }
}

function castOp(from: DType, to: DType): ElementwiseOp {
  const conv: Record<string, (f: FunctionBuilder) => void> = {
    "float32>float64": (f) => f.f64.promote_f32(),
    "float64>float32": (f) => f.f32.demote_f64(),
    "float32>int32": (f) => f.i32.trunc_sat_f32_s(),
    "float64>int32": (f) => f.i32.trunc_sat_f64_s(),
    "int32>float32": (f) => f.f32.convert_i32_s(),
    "int32>float64": (f) => f.f64.convert_i32_s(),
    "bool>float32": (f) => f.f32.convert_i32_u(),
    "bool>float64": (f) => f.f64.convert_i32_u(),
    "bool>int32": () => {},
    "int32>bool": (f) => (f.i32.const(0), f.i32.ne()),
    // Nonzero is true, NaN included (as in torch and the reference).
    "float32>bool": (f) => (f.f32.const(0), f.f32.ne()),
    "float64>bool": (f) => (f.f64.const(0), f.f64.ne()),
  };
  const c = from === to ? () => {} : conv[`${from}>${to}`]!;
  return { scalar: (f, p) => (p(0), c(f)) };
}
