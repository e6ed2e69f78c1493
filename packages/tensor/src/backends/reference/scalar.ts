/** Scalar definitions of the elementwise primitives, in float64: the meaning of each op. */
import type { BinaryOp, UnaryOp } from "../../ops/primitives.js";

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const SQRT_2_OVER_PI = 0.7978845608028654;

/**
 * erf to full double precision: erf(x) = 2/√π · e^{-x²} · Σ (2x²)^n x / (1·3·…·(2n+1)).
 * All terms are positive, so there is no cancellation; beyond |x| = 6, erf is ±1 in float64.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = 2 * ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 500; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
}

/**
 * erfc without cancellation: 1 - erf(z) where erf(z) is small, else a continued fraction
 * (modified Lentz), which converges fast for z ≥ 2; erfc(-z) = 2 - erfc(z).
 */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) return 1 - erf(z);
  if (z > 27) return 0;
  // erfc(z) = e^{-z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
  const tiny = 1e-300;
  let f = z, c = z, d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = z + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = z + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / (f * Math.sqrt(Math.PI));
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** IEEE/C99 pow (as NumPy and torch): unlike Math.pow, pow(1, y) = 1 for any y and pow(-1, ±inf) = 1. */
export const pow = (a: number, b: number): number => (a === 1 || (a === -1 && (b === Infinity || b === -Infinity)) ? 1 : Math.pow(a, b));

export const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 || x !== x ? x : 0),
  // 0.5x(1 + tanh u) = x·σ(2u) and 0.5x(1 + erf(x/√2)) = 0.5x·erfc(-x/√2): the same functions,
  // without the cancellation of 1 + tanh / 1 + erf for negative x.
  gelu_tanh: (x) => x * sigmoid(2 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)),
  gelu_erf: (x) => 0.5 * x * erfc(-x / Math.SQRT2),
  silu: (x) => x * sigmoid(x),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
  erf,
  logical_not: (x) => (x ? 0 : 1),
};

/** NaN-propagating max/min, as torch.maximum / torch.minimum. */
const nanMax = (a: number, b: number): number => (a !== a || b !== b ? NaN : a > b ? a : b);
const nanMin = (a: number, b: number): number => (a !== a || b !== b ? NaN : a < b ? a : b);

export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow,
  maximum: nanMax,
  minimum: nanMin,
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logical_and: (a, b) => (a && b ? 1 : 0),
  logical_or: (a, b) => (a || b ? 1 : 0),
};

/** Integer arithmetic wraps to int32 like every other framework's int32. */
export const INT_BINARY: Partial<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: (a, b) => Math.imul(a, b),
};
