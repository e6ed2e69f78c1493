import { isFloat, promote, scalarDType, type DType } from "../core/dtype.js";
import { OpError, fmtShape } from "../core/errors.js";
import { apply } from "../dispatch.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { full } from "./creation.js";
import type { BinaryOp, UnaryOp } from "./primitives.js";

export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply({ op: "cast", dtype }, [x]);
}

/** Turns operands into tensors of one dtype: numbers take the tensor's dtype (weak typing). */
function operands(op: string, a: TensorLike, b: TensorLike, floatOnly = false, bothScalars = false): [Tensor, Tensor] {
  const scalars = !(a instanceof Tensor) && !(b instanceof Tensor);
  if (scalars && !bothScalars) throw new OpError(op, "needs at least one tensor operand");
  let dtype: DType =
    scalars ? ([a, b].every((v) => typeof v === "boolean") ? "bool" : [a, b].every((v) => Number.isInteger(Number(v))) ? "int32" : "float32")
    : a instanceof Tensor && b instanceof Tensor ? promote(a.dtype, b.dtype)
    : a instanceof Tensor ? scalarDType(b as number, a.dtype)
    : scalarDType(a, (b as Tensor).dtype);
  if (floatOnly && !isFloat(dtype)) dtype = "float32";
  const as = (v: TensorLike): Tensor => (v instanceof Tensor ? cast(v, dtype) : full([], v, { dtype }));
  return [as(a), as(b)];
}

const unary = (op: UnaryOp, floatOnly: boolean) => (x: Tensor): Tensor =>
  apply({ op }, [floatOnly && !isFloat(x.dtype) ? cast(x, "float32") : x]);
const binary = (op: BinaryOp, floatOnly = false) => (a: TensorLike, b: TensorLike): Tensor => apply({ op }, operands(op, a, b, floatOnly));

export const neg = unary("neg", false);
export const abs = unary("abs", false);
export const sign = unary("sign", false);
export const relu = unary("relu", false);
export const square = unary("square", false);
export const exp = unary("exp", true);
export const log = unary("log", true);
export const sqrt = unary("sqrt", true);
export const rsqrt = unary("rsqrt", true);
export const sin = unary("sin", true);
export const cos = unary("cos", true);
export const tanh = unary("tanh", true);
export const sigmoid = unary("sigmoid", true);
export const silu = unary("silu", true);
export const erf = unary("erf", true);
export const reciprocal = unary("reciprocal", true);
export const logicalNot = unary("logical_not", false);

/** GELU: exact (erf) by default, or the tanh approximation. */
export const gelu = (x: Tensor, approximate: "tanh" | "none" = "none"): Tensor =>
  unary(approximate === "tanh" ? "gelu_tanh" : "gelu_erf", true)(x);

export const add = binary("add");
export const sub = binary("sub");
export const mul = binary("mul");
export const div = binary("div", true);
export const maximum = binary("maximum");
export const minimum = binary("minimum");
export const eq = binary("eq");
export const ne = binary("ne");
export const lt = binary("lt");
export const le = binary("le");
export const gt = binary("gt");
export const ge = binary("ge");
export const logicalAnd = binary("logical_and");
export const logicalOr = binary("logical_or");

/** x ** y; a number exponent uses the `pow_scalar` primitive (defined for negative x). */
export function pow(x: TensorLike, y: TensorLike): Tensor {
  if (x instanceof Tensor && typeof y === "number") {
    const xf = isFloat(x.dtype) ? x : cast(x, "float32");
    return apply({ op: "pow_scalar", exponent: y }, [xf]);
  }
  return binary("pow", true)(x, y);
}

/** Limits x to [lo, hi]; the gradient passes where lo ≤ x ≤ hi (bounds included, as in torch). */
export function clamp(x: Tensor, lo?: number, hi?: number): Tensor {
  let y = x;
  if (lo !== undefined) y = where(lt(y, lo), lo, y);
  if (hi !== undefined) y = where(gt(y, hi), hi, y);
  return y;
}

/** Picks a where cond is true, b elsewhere (all three broadcast). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== "bool") throw new OpError("where", `condition must be bool, got ${cond.dtype} ${fmtShape(cond.shape)}; compare first (e.g. x.gt(0))`);
  const [ta, tb] = operands("where", a, b, false, true);
  return apply({ op: "where" }, [cond, ta, tb]);
}

/** Identity that autograd treats as a constant. */
export const stopGradient = (x: Tensor): Tensor => apply({ op: "stop_gradient" }, [x]);
