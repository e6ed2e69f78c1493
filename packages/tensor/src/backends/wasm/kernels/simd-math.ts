// SIMD math library for f32x4 kernels: transcendental functions as branch-free WebAssembly code.
//
//   const fns = addSimdMath(m, ["exp", "gelu_erf"]);      // once per module; repeated calls reuse them
//   f.local.get(x).call(fns.exp);                          // v128 -> v128, four f32 lanes at a time
//   f.local.get(s).f32x4.splat().call(fns.exp).f32x4.extract_lane(0);   // scalar tail
//
// Each function is straight-line code (no branches, no memory, no tables): special cases are
// handled with comparison masks and bitselect, so all lanes cost the same. Only deterministic
// SIMD128 instructions are used (no relaxed SIMD, hence no FMA), so results are the same on every
// engine (up to the sign/payload of NaNs, which WebAssembly leaves open). pow and gelu_tanh use
// f64x2 internally where float32 cannot carry enough precision.
//
// Accuracy against the float64 definitions (Math.*, backends/reference/scalar.ts) rounded to
// float32, measured over dense sweeps (test/wasm-kernels/simd-math.test.ts, which enforces these
// bounds), in ulps of the float32 result:
//
//   fn         max error  domain / notes
//   exp        1 ulp      all inputs; x > 88.7228 -> +inf, x < -103.97 -> 0 (subnormal results rounded
//                         once), exp(±0) = 1 exactly, -inf -> 0, NaN -> NaN
//   log        1 ulp      all inputs incl. subnormals; ±0 -> -inf, x < 0 -> NaN, +inf -> +inf, log(1) = 0
//   tanh       1 ulp      exactly odd (tanh(-0) = -0), exactly ±1 for |x| >= 9.02
//   sigmoid    2 ulp      as e^x/(1+e^x) for x < 0: no overflow/NaN, subnormal results for x < -87.3,
//                         sigmoid(±inf) = 1 / 0
//   erf        2 ulp      exactly odd, exactly ±1 for |x| >= 3.92
//   sin, cos   2 ulp      for |x| <= 102943 (2^16·π/2): Cody–Waite reduction by a 5-part π/2; near
//                         zeros of sin/cos (where ulps shrink) the absolute error is <= 5e-12 instead.
//                         Beyond, the error grows (absolute: <= 1e-2 up to 2e5, ~5e-2 at 1e6,
//                         meaningless past 1e7) but results stay in [-1, 1]; ±inf/NaN -> NaN.
//                         sin is exactly odd.
//   gelu_tanh  3 ulp      all inputs, as x·sigmoid(2·√(2/π)(x + 0.044715x³)): equal to
//                         0.5x(1 + tanh(…)) but without its cancellation for x < 0; the argument is
//                         formed in f64, since e^v turns v's absolute error into relative error
//   gelu_erf   4 ulp      all inputs, as 0.5x·erfc(−x/√2) (no cancellation for x < 0; x² split
//                         exactly into the exponent); subnormal results (x < -13.1) within 1e-44
//   silu       3 ulp      all inputs, as x·sigmoid(x), including the subnormal tail
//   pow        1 ulp      |x|^y = exp(y·log|x|) in f64x2 (no error amplification by y·log|x|), with
//                         the IEEE/C99 special cases of the reference pow: y = ±0 or x = 1 -> 1,
//                         (-1)^±inf = 1, x < 0 with integer y -> sign by parity, finite x < 0 with
//                         non-integer y -> NaN, zeros and infinities as C99 Annex F
//
// ±inf inputs give the reference's results (e.g. silu(-inf) = gelu(-inf) = -inf·0 = NaN).
// Cost on V8 (x86-64, Node 20), ns per element with one thread: exp 1.8, log 3.0, tanh 2.9,
// sigmoid 2.0, silu 2.3, sin/cos 2.4, erf 4.0, gelu_tanh 4.2, gelu_erf 5.8, pow 8.7.

import type { FunctionBuilder, ModuleBuilder } from "../asm/index.js";

export type MathFn = "exp" | "log" | "tanh" | "sigmoid" | "erf" | "sin" | "cos" | "gelu_tanh" | "gelu_erf" | "silu" | "pow";

export const MATH_FNS: readonly MathFn[] = ["exp", "log", "tanh", "sigmoid", "erf", "sin", "cos", "gelu_tanh", "gelu_erf", "silu", "pow"];

/** Number of v128 operands each function takes (all return one v128). */
export const MATH_ARITY: Readonly<Record<MathFn, 1 | 2>> = {
  exp: 1, log: 1, tanh: 1, sigmoid: 1, erf: 1, sin: 1, cos: 1, gelu_tanh: 1, gelu_erf: 1, silu: 1, pow: 2,
};

// ---------------------------------------------------------------------------------------------
// A tiny expression layer: an Expr emits code that pushes one v128. Sub-expressions used more
// than once must be bound to a local with `g.let` (otherwise they are re-emitted).

type Expr = (f: FunctionBuilder) => void;

const op1 = (emit: (f: FunctionBuilder) => void) => (a: Expr): Expr => (f) => {
  a(f);
  emit(f);
};
const op2 = (emit: (f: FunctionBuilder) => void) => (a: Expr, b: Expr): Expr => (f) => {
  a(f);
  b(f);
  emit(f);
};

// f32x4
const add = op2((f) => f.f32x4.add());
const sub = op2((f) => f.f32x4.sub());
const mul = op2((f) => f.f32x4.mul());
const div = op2((f) => f.f32x4.div());
/**
 * Clamps that keep a NaN in `a`: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a. (Unlike
 * f32x4.min/max, whose NaN rules cost engines several instructions, these are one minps/maxps.)
 */
const atMost = op2((f) => f.f32x4.pmin());
const atLeast = op2((f) => f.f32x4.pmax());
const lt = op2((f) => f.f32x4.lt());
const ge = op2((f) => f.f32x4.ge());
const feq = op2((f) => f.f32x4.eq());
const fne = op2((f) => f.f32x4.ne());
const abs = op1((f) => f.f32x4.abs());
const neg = op1((f) => f.f32x4.neg());
const ftrunc = op1((f) => f.f32x4.trunc());
const i2f = op1((f) => f.f32x4.convert_i32x4_s());
// i32x4 / bitwise
const iadd = op2((f) => f.i32x4.add());
const isub = op2((f) => f.i32x4.sub());
const ieq = op2((f) => f.i32x4.eq());
const and = op2((f) => f.v128.and());
const or = op2((f) => f.v128.or());
const xor = op2((f) => f.v128.xor());
/** a & ~b */
const andnot = op2((f) => f.v128.andnot());
const shl = (a: Expr, n: number): Expr => (f) => {
  a(f);
  f.i32.const(n).i32x4.shl();
};
const shrS = (a: Expr, n: number): Expr => (f) => {
  a(f);
  f.i32.const(n).i32x4.shr_s();
};
const shrU = (a: Expr, n: number): Expr => (f) => {
  a(f);
  f.i32.const(n).i32x4.shr_u();
};
/** mask ? t : e, lane-wise (mask lanes all-ones or all-zeros). */
const sel = (mask: Expr, t: Expr, e: Expr): Expr => (f) => {
  t(f);
  e(f);
  mask(f);
  f.v128.bitselect();
};
// f64x2 (pow, gelu_tanh)
const dadd = op2((f) => f.f64x2.add());
const dsub = op2((f) => f.f64x2.sub());
const dmul = op2((f) => f.f64x2.mul());
const ddiv = op2((f) => f.f64x2.div());
const dAtMost = op2((f) => f.f64x2.pmin());
const dAtLeast = op2((f) => f.f64x2.pmax());
const dnearest = op1((f) => f.f64x2.nearest());
const promoteLow = op1((f) => f.f64x2.promote_low_f32x4());
const demote = op1((f) => f.f32x4.demote_f64x2_zero());
const i32LowToF64 = op1((f) => f.f64x2.convert_low_i32x4_s());
const i64shl = (a: Expr, n: number): Expr => (f) => {
  a(f);
  f.i32.const(n).i64x2.shl();
};
/** Lanes 2,3 (bytes 8..15) moved to lanes 0,1 (a one-input shuffle: the second operand is unused). */
const highHalf = (a: Expr): Expr => (f) => {
  a(f);
  f.v128.const_i32x4(0, 0, 0, 0);
  f.i8x16.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
};
/** Low 8 bytes of a, then low 8 bytes of b. */
const concatLow = op2((f) => f.i8x16.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]));

// Constants. (Engines rebuild a splatted v128.const where it is used — on x86 a 64-bit immediate
// move and two vector instructions — rather than keeping it in a register; hoisting them out of a
// kernel's loop into opaque locals was measured to be slower, so the functions simply inline them.)
const c = (v: number): Expr => (f) => {
  f.v128.const_f32x4(v, v, v, v);
};
const ci = (v: number): Expr => (f) => {
  f.v128.const_i32x4(v, v, v, v);
};
const cd = (v: number): Expr => (f) => {
  f.v128.const_f64x2(v, v);
};

/** Horner: coeffs[0] + x·(coeffs[1] + x·(…)), highest degree last. */
function horner(x: Expr, coeffs: readonly number[], k: (v: number) => Expr = c, m = mul, a = add): Expr {
  let acc = k(coeffs[coeffs.length - 1] as number);
  for (let i = coeffs.length - 2; i >= 0; i--) acc = a(m(acc, x), k(coeffs[i] as number));
  return acc;
}

/**
 * c0 + c1·x + … + c5·x⁵ by Estrin's scheme, z = x²: a dependency chain of 4 operations instead
 * of Horner's 10, so more of the neighbouring lanes' work overlaps (gelu and gelu_grad ~7% faster).
 */
function estrin6(x: Expr, z: Expr, k: readonly number[]): Expr {
  const pair = (i: number): Expr => add(mul(c(k[i + 1] as number), x), c(k[i] as number));
  const z2 = mul(z, z);
  return add(add(pair(0), mul(z, pair(2))), mul(z2, pair(4)));
}

class Gen {
  constructor(readonly f: FunctionBuilder) {}
  /** Emits `e` now into a fresh local; the returned Expr reads it. */
  let(e: Expr): Expr {
    e(this.f);
    const l = this.f.addLocal("v128");
    this.f.local.set(l);
    return (f) => {
      f.local.get(l);
    };
  }
}

/**
 * Round-to-nearest-even to an integer by adding 1.5·2^23 (valid for |v| < 2^22): the sum's low
 * mantissa bits hold the integer in two's complement, so `bits(sum) − SHIFTER_BITS` is the i32
 * value and `sum − SHIFTER` the float one. Cheaper than f32x4.nearest + i32x4.trunc_sat.
 */
const SHIFTER = 12582912;
const SHIFTER_BITS = 0x4b40_0000;

const SIGN = ci(0x8000_0000 | 0);
const INF = c(Infinity);
const NAN = ci(0x7fc0_0000);
/** Copies the sign bit of `s` onto `mag` (which must have a clear sign bit). */
const withSign = (mag: Expr, s: Expr): Expr => or(mag, and(s, SIGN));

// ---------------------------------------------------------------------------------------------
// exp

const LOG2E = 1.4426950408889634;
/** ln2 split for Cody–Waite: LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| <= 2^15. */
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440054690583e-4;
/** Minimax-style coefficients of (e^r − 1 − r)/r² on |r| <= ln2/2 (Cephes expf). */
const EXP_P = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];

/**
 * e^(hi + lo), within 1 ulp. Without `lo`, hi is clamped to [-104, 89] (so results saturate to
 * 0 / +inf; NaN stays NaN). With `lo`, the argument is carried as two floats to pass more than
 * float32 precision (e.g. an exactly split −x², plus a correction of size up to ~1): hi + lo must
 * be finite and below 88, and lanes whose hi + lo is below −104 (true result < 2^-150) give 0.
 */
function expCore(g: Gen, hi: Expr, lo?: Expr): Expr {
  const { head, scale, underflow } = expParts(g, hi, lo);
  const out = mul(head, scale);
  return underflow ? sel(underflow, c(0), out) : out;
}

/**
 * e^(hi + lo) = head·scale, where head = y·2^n1 and scale = 2^n2 (see expCore); a caller can
 * multiply something into head before the last, possibly subnormal, scaling. `underflow` marks
 * the lanes to zero in the `lo` form.
 */
function expParts(g: Gen, hi: Expr, lo?: Expr, floor = -104): { head: Expr; scale: Expr; underflow?: Expr } {
  let ns: Expr; // n + SHIFTER, n = round(x / ln2)
  let h: Expr;
  let s: Expr | undefined;
  if (lo) {
    h = g.let(hi);
    s = g.let(add(h, lo));
    ns = g.let(add(mul(atLeast(s, c(floor)), c(LOG2E)), c(SHIFTER)));
  } else {
    h = g.let(atMost(atLeast(hi, c(floor)), c(89)));
    ns = g.let(add(mul(h, c(LOG2E)), c(SHIFTER)));
  }
  const n = g.let(sub(ns, c(SHIFTER)));
  // h − n·LN2_HI is exact (Sterbenz; with lo, nearly so), so r carries only the LN2_LO product's
  // rounding. Then e^r = 1 + r + r²·P(r) for |r| <= ln2/2.
  let rE = sub(sub(h, mul(n, c(LN2_HI))), mul(n, c(LN2_LO)));
  if (lo) rE = add(rE, lo);
  const r = g.let(rE);
  const z = g.let(mul(r, r));
  const y = g.let(add(add(mul(estrin6(r, z, EXP_P), z), r), c(1)));
  // 2^n as 2^n1 · 2^n2 with n1 = n >> 1: both factors stay normal for n in [-252, 128], so
  // overflow gives +inf and subnormal results are rounded once, by the last multiplication.
  // (A NaN input leaves n = NaN, whose bits give some finite scale; y is NaN anyway.)
  const ni = g.let(isub(ns, ci(SHIFTER_BITS)));
  const n1 = g.let(shrS(ni, 1));
  const n2 = isub(ni, n1);
  const head = mul(y, shl(iadd(n1, ci(127)), 23));
  const scale = shl(iadd(n2, ci(127)), 23);
  return s ? { head, scale, underflow: lt(s, c(floor)) } : { head, scale };
}

// ---------------------------------------------------------------------------------------------
// log

const SQRT_HALF = 0.70710678118654752;
/** log(1+f) = f − f²/2 + f³·P(f) on f in [√½−1, √2−1] (Cephes logf). */
const LOG_P = [
  3.3333331174e-1, -2.4999993993e-1, 2.0000714765e-1, -1.6668057665e-1, 1.4249322787e-1, -1.2420140846e-1,
  1.1676998740e-1, -1.1514610310e-1, 7.0376836292e-2,
];

function logCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  // Subnormals: scale by 2^23 first.
  const den = g.let(lt(x, c(2 ** -126)));
  const xs = g.let(sel(den, mul(x, c(2 ** 23)), x));
  // x = m·2^e with m in [0.5, 1); then m in [√½, √2) by m → 2m, e → e−1 when m < √½.
  const m0 = g.let(or(and(xs, ci(0x007f_ffff)), ci(0x3f00_0000)));
  const small = g.let(lt(m0, c(SQRT_HALF)));
  const e = iadd(isub(shrU(xs, 23), sel(den, ci(126 + 23), ci(126))), small); // small = -1 where true
  const fe = g.let(i2f(e));
  const f = g.let(sub(add(m0, and(m0, small)), c(1))); // exact
  const z = g.let(mul(f, f));
  let y = mul(mul(horner(f, LOG_P), f), z);
  y = add(y, mul(fe, c(LN2_LO)));
  y = add(y, mul(z, c(-0.5)));
  const r = g.let(add(add(f, y), mul(fe, c(LN2_HI))));
  // Special cases: +inf -> +inf, ±0 -> -inf, x < 0 or NaN -> NaN.
  let out = sel(feq(x, INF), INF, r);
  out = sel(feq(x, c(0)), c(-Infinity), out);
  return sel(ge(x, c(0)), out, NAN);
}

// ---------------------------------------------------------------------------------------------
// tanh, sigmoid, silu, gelu_tanh

/** tanh(x) = x + x³·P(x²) for |x| < 0.625 (Cephes tanhf). */
const TANH_P = [-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2, -5.70498872745e-3];

function tanhCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  const a = g.let(abs(x));
  const z = g.let(mul(a, a));
  const small = add(a, mul(mul(a, z), horner(z, TANH_P)));
  const e = expCore(g, add(a, a));
  const large = sub(c(1), div(c(2), add(e, c(1))));
  return withSign(sel(lt(a, c(0.625)), small, large), x);
}

/**
 * u·sigmoid(v) = u·num/den with e = e^−|v|, den = 1 + e and num = 1 (v >= 0) or e (v < 0), so
 * neither side overflows or cancels. For v < 0, u is multiplied into e's head before its last
 * scaling, so u·e^v stays accurate when e^v alone would be subnormal. NaN propagates through den.
 * With `vLo`, v = vHi + vLo (vLo below the precision of vHi, which must be finite). u = null
 * means u = 1 (plain sigmoid).
 */
function timesSigmoid(g: Gen, u: Expr | null, vHi: Expr, vLo?: Expr): Expr {
  // The clamp at −110 (instead of −104) and zeroing below keep u·e^v right for |u| <= |v|:
  // |v|·e^v < 2^-151 there, while the clamped e^−110 times a huge u would not be. (With u = 1
  // the clamped e^−110 rounds to 0 by itself.)
  const v = g.let(vHi);
  const nv = g.let(neg(abs(v)));
  let head: Expr;
  let scale: Expr;
  let underflow: Expr;
  if (vLo) {
    // −|v| = −|vHi| + (vLo with its sign flipped where vHi >= 0)
    const parts = expParts(g, nv, xor(vLo, andnot(SIGN, v)), -110);
    ({ head, scale } = parts);
    underflow = parts.underflow as Expr;
  } else {
    ({ head, scale } = expParts(g, nv, undefined, -110));
    underflow = lt(nv, c(-110));
  }
  // 0, not a select of the result, so that −inf·0 = NaN as in the reference.
  const h = g.let(u ? sel(underflow, c(0), head) : head);
  const sc = g.let(scale);
  const den = add(c(1), mul(h, sc));
  const negative = g.let(lt(v, c(0)));
  if (!u) return div(sel(negative, mul(h, sc), c(1)), den);
  return div(mul(mul(u, sel(negative, h, c(1))), sel(negative, sc, c(1))), den);
}

function sigmoidCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  return timesSigmoid(g, null, x);
}

function siluCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  return timesSigmoid(g, x, x);
}

/** 2·√(2/π) and 2·√(2/π)·0.044715: gelu_tanh(x) = x·sigmoid(x·(A + B·x²)). */
export const GELU_A = 1.5957691216057308;
export const GELU_B = 0.0713548162726009;

/**
 * The sigmoid's argument v is computed in f64x2 and handed on as vHi + vLo: e^−|v| magnifies an
 * absolute error in v into the same relative error of the result, and the cubic rounded in f32
 * costs up to ~|v|·2^-23 (tens of ulps in the tail).
 */
function geluTanhCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  // Beyond ±20 the result is x or ±0 already; the clamp keeps v finite (NaN stays).
  const xc = g.let(atMost(atLeast(x, c(-20)), c(20)));
  const vF64 = (half: Expr): Expr => {
    const xd = g.let(promoteLow(half));
    return g.let(dmul(xd, dadd(cd(GELU_A), dmul(cd(GELU_B), dmul(xd, xd)))));
  };
  const v0 = vF64(xc);
  const v1 = vF64(highHalf(xc));
  const vHi = g.let(concatLow(demote(v0), demote(v1)));
  const vLo = concatLow(demote(dsub(v0, promoteLow(vHi))), demote(dsub(v1, promoteLow(highHalf(vHi)))));
  return timesSigmoid(g, x, vHi, vLo);
}

// ---------------------------------------------------------------------------------------------
// erf, gelu_erf

/** erf(z) = z·P(z²) on |z| <= 0.75 (minimax, relative error 2^-29). */
const ERF_P = [1.1283791065216064, -0.3761261999607086, 0.11283376812934875, -0.026834622025489807, 0.005114339757710695, -0.0006749466410838068];
/**
 * erfc(z) = t·e^(−z² + Q(t)) with t = 1/(1 + z/√2) (the form of Numerical Recipes' erfcc), Q
 * minimax in t with float32 coefficients. ERFC_Q_ERF: z in [0.75, 4], error weighted by erfc(z)
 * (all erf = 1 − erfc needs) 2^-27.3. ERFC_Q_GELU: z in [0.45, 10.5], absolute error 2^-26.8,
 * i.e. that relative error in erfc, for gelu_erf's tail.
 */
const ERFC_Q_ERF = [-0.9126424193382263, 0.9254916310310364, 0.5962660908699036, -0.9297594428062439, 0.3225620687007904];
const ERFC_Q_GELU = [
  -0.9189110994338989, 0.9990429282188416, 0.26428279280662537, -0.2864021062850952, 0.2770528197288513,
  -2.226569414138794, 4.513537406921387, -4.236396789550781, 2.0036659240722656, -0.3892550468444824,
];

function erfCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  const a = g.let(abs(x));
  const small = mul(a, horner(mul(a, a), ERF_P));
  // 1 − erfc(a) for a >= 0.75; erf is 1 in float32 from 3.92 on, so clamp a to 4 (also ±inf).
  const ac = g.let(atMost(a, c(4)));
  const t = g.let(div(c(1), add(c(1), mul(ac, c(Math.SQRT1_2)))));
  const erfc = mul(t, expCore(g, sub(horner(t, ERFC_Q_ERF), mul(ac, ac))));
  return withSign(sel(lt(a, c(0.75)), small, sub(c(1), erfc)), x);
}

/** gelu_erf(x) = 0.5x·(1 + erf(z)) = 0.5x·erfc(−z), z = x/√2. */
function geluErfCore(g: Gen, xIn: Expr): Expr {
  const x = g.let(xIn);
  const a = g.let(abs(x));
  // erf(|z|) for |z| <= 0.75: the erf polynomial with z = a/√2 folded into the coefficients.
  const es = g.let(mul(a, horner(mul(a, a), ERF_P.map((k, i) => k * Math.SQRT1_2 ** (2 * i + 1)))));
  // erfc(|z|) for |z| >= 0.45, to full relative accuracy: −z² = −a²/2 is split exactly as hi + lo
  // (a = ah + al, ah with 12 significant bits: a² = ah² + al·(a + ah)) and expCore takes both.
  // a is clamped to 14.85 (|z| = 10.5, for ±inf), where expCore already returns 0.
  const ac = g.let(atMost(a, c(14.85)));
  const ah = g.let(and(ac, ci(0xffff_f000 | 0)));
  const al = sub(ac, ah);
  const d = g.let(add(c(1), mul(ac, c(0.5))));
  const t = g.let(div(c(1), d));
  const hi = mul(mul(ah, ah), c(-0.5));
  const lo = add(mul(mul(al, add(ac, ah)), c(-0.5)), horner(t, ERFC_Q_GELU));
  const ec = g.let(div(expCore(g, hi, lo), d)); // t·e^…, one rounding fewer
  // q = 1 + erf(x/√2): for x >= 0, 1 + erf or 2 − erfc; for x < 0, 1 − erf near 0
  // (while erf <= 1/2, so no cancellation) and erfc itself beyond.
  const qPos = sel(lt(a, c(0.75 * Math.SQRT2)), add(c(1), es), sub(c(2), ec));
  const qNeg = sel(lt(a, c(0.47 * Math.SQRT2)), sub(c(1), es), ec);
  return mul(mul(x, c(0.5)), sel(ge(x, c(0)), qPos, qNeg));
}

// ---------------------------------------------------------------------------------------------
// sin, cos

const TWO_OVER_PI = 0.63661977236758134;
/**
 * π/2 as five float32 parts for a Cody–Waite reduction: the first four have at most 8 significant
 * bits, so j·part is exact for j < 2^16 (|x| < 102943), and the last is the float32 rounding of
 * the remainder (about 56 bits in all).
 */
const PIO2_PARTS: readonly number[] = (() => {
  const parts: number[] = [];
  // π/2 = hi + lo (two doubles, ~107 bits); hi − p is exact in double, adding lo rounds far below.
  let rem = 1.5707963267948966;
  let remLo = 6.123233995736766e-17;
  for (let k = 0; k < 4; k++) {
    const q = 2 ** (Math.floor(Math.log2(Math.abs(rem))) - 7); // 8 significant bits
    const p = Math.round(rem / q) * q;
    parts.push(p);
    rem = rem - p + remLo;
    remLo = 0;
  }
  parts.push(Math.fround(rem));
  return parts;
})();
/** |r| stays below this (π/4 plus the slack of a rounded j) for |x| < 102943; see sinCore. */
const SIN_RMAX = 0.8;
/** sin r = r + r³·S(r²), cos r = 1 − r²/2 + r⁴·C(r²) on |r| <= π/4 (Cephes sinf/cosf). */
const SIN_P = [-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4];
const COS_P = [4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5];

/** sin(x) (shift 0) or cos(x) = sin(|x| + π/2) (shift 1), reducing |x| so that sin is exactly odd. */
function sinCore(g: Gen, xIn: Expr, quadrantShift: 0 | 1): Expr {
  const x = g.let(xIn);
  const a = g.let(abs(x));
  const js = g.let(add(mul(a, c(TWO_OVER_PI)), c(SHIFTER))); // j + SHIFTER, j = round(|x|·2/π)
  const j = g.let(sub(js, c(SHIFTER)));
  // (|x| − j·A) − j·B is exact, and so is the next step when r is small (Sterbenz); the two
  // smallest products are summed first (below 1e-4, so that rounding is negligible). Hence at most
  // two roundings at the magnitude of r, and none of the cancelling steps round near zeros of sin/cos.
  const [pA, pB, pC, pD, pE] = PIO2_PARTS as [number, number, number, number, number];
  const head = sub(sub(sub(a, mul(j, c(pA))), mul(j, c(pB))), mul(j, c(pC)));
  const rE = sub(head, add(mul(j, c(pD)), mul(j, c(pE))));
  // Beyond the reduction's range r is garbage; the clamp keeps the result in [-1, 1] (NaN stays).
  const r = g.let(atMost(atLeast(rE, c(-SIN_RMAX)), c(SIN_RMAX)));
  const z = g.let(mul(r, r));
  const s = add(r, mul(mul(r, z), horner(z, SIN_P)));
  const co = add(sub(c(1), mul(z, c(0.5))), mul(mul(z, z), horner(z, COS_P)));
  let q: Expr = js; // the low bits of js are j mod 2^22
  if (quadrantShift) q = iadd(q, ci(1));
  const qq = g.let(q);
  // Odd quadrants use the cosine polynomial; quadrants 2 and 3 flip the sign (and sin(−x) = −sin x).
  const swap = g.let(ieq(and(qq, ci(1)), ci(1)));
  let sign = shl(and(qq, ci(2)), 30);
  if (!quadrantShift) sign = xor(sign, and(x, SIGN));
  return xor(sel(swap, co, s), sign);
}

// ---------------------------------------------------------------------------------------------
// pow

const LN2 = 0.6931471805599453;

/** log|x| for one f64x2 half: m in [√½, √2] (promoted), e as i32 lanes 0..1. */
function logF64(g: Gen, m: Expr, e: Expr): Expr {
  const f = g.let(dsub(m, cd(1)));
  const s = g.let(ddiv(f, dadd(cd(2), f)));
  const z = g.let(dmul(s, s));
  // log m = 2·atanh(s) = 2s(1 + z/3 + z²/5 + …); |s| <= 0.1716, so 7 terms reach 2^-39.
  const series = horner(z, [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11, 1 / 13], cd, dmul, dadd);
  return dadd(dmul(i32LowToF64(e), cd(LN2)), dmul(dadd(s, s), series));
}

/** e^t for one f64x2 half, rounded once to f32 (lanes 0..1 of the result). */
function expF64ToF32(g: Gen, tIn: Expr): Expr {
  const t = g.let(dAtMost(dAtLeast(tIn, cd(-110)), cd(90)));
  const k = g.let(dnearest(dmul(t, cd(LOG2E))));
  const r = g.let(dsub(t, dmul(k, cd(LN2))));
  const taylor = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880];
  const p = horner(r, taylor, cd, dmul, dadd);
  // 2^k: k + 2^52 + 1023 carries k + 1023 in its low mantissa bits; shift them into the exponent.
  const scale = i64shl(dadd(k, cd(2 ** 52 + 1023)), 52);
  return demote(dmul(p, scale));
}

function powCore(g: Gen, xIn: Expr, yIn: Expr): Expr {
  const x = g.let(xIn);
  const y = g.let(yIn);
  const ax = g.let(abs(x));
  // |x| = m·2^e with m in [√½, √2), subnormals scaled first (as in logCore).
  const den = g.let(lt(ax, c(2 ** -126)));
  const xs = g.let(sel(den, mul(ax, c(2 ** 23)), ax));
  const m0 = g.let(or(and(xs, ci(0x007f_ffff)), ci(0x3f80_0000))); // [1, 2)
  const big = g.let(ge(m0, c(Math.SQRT2)));
  const m = g.let(sel(big, mul(m0, c(0.5)), m0));
  const e = g.let(isub(isub(shrU(xs, 23), sel(den, ci(127 + 23), ci(127))), big)); // big = -1 where true
  const half = (mh: Expr, eh: Expr, yh: Expr): Expr => expF64ToF32(g, dmul(promoteLow(yh), logF64(g, promoteLow(mh), eh)));
  const lo = g.let(half(m, e, y));
  const hiHalf = half(highHalf(m), highHalf(e), highHalf(y));
  let r: Expr = g.let(concatLow(lo, hiHalf));
  // Zeros and infinities of x: +inf when exactly one of (|x| = inf, y < 0) holds, else +0.
  const axInf = g.let(feq(ax, INF));
  const zeroOrInf = or(feq(ax, c(0)), axInf);
  r = sel(zeroOrInf, and(xor(axInf, lt(y, c(0))), INF), r);
  // Negative x (incl. -0, -inf) and odd integer y: negate. y is odd iff it is an integer and y/2 is not.
  const yInt = g.let(feq(ftrunc(y), y));
  const yHalf = g.let(mul(y, c(0.5)));
  const odd = andnot(yInt, feq(ftrunc(yHalf), yHalf));
  r = or(r, and(and(x, SIGN), odd));
  // NaN: either operand NaN, or finite x < 0 with non-integer y.
  const nan = or(or(fne(x, x), fne(y, y)), andnot(and(lt(x, c(0)), lt(c(-Infinity), x)), yInt));
  r = sel(nan, NAN, r);
  // 1: y = ±0, x = 1, or x = −1 with y = ±inf (IEEE pow(1, NaN) = pow(−1, ±inf) = 1).
  const one = or(or(feq(y, c(0)), feq(x, c(1))), and(feq(x, c(-1)), feq(abs(y), INF)));
  return sel(one, c(1), r);
}

// ---------------------------------------------------------------------------------------------
// module integration

type Unary = (g: Gen, x: Expr) => Expr;
const UNARY_CORE: Record<Exclude<MathFn, "pow">, Unary> = {
  exp: (g, x) => expCore(g, x),
  log: logCore,
  tanh: tanhCore,
  sigmoid: sigmoidCore,
  erf: erfCore,
  sin: (g, x) => sinCore(g, x, 0),
  cos: (g, x) => sinCore(g, x, 1),
  gelu_tanh: geluTanhCore,
  gelu_erf: geluErfCore,
  silu: siluCore,
};

const arg = (i: number): Expr => (f) => {
  f.local.get(i);
};

function emitCore(f: FunctionBuilder, fn: MathFn, args: readonly number[]): void {
  const g = new Gen(f);
  const out = fn === "pow" ? powCore(g, arg(args[0] as number), arg(args[1] as number)) : UNARY_CORE[fn](g, arg(args[0] as number));
  out(f);
}

/**
 * Emits `fn` inline into `f` instead of calling it: the operand(s) must already be in v128
 * locals (`args`); the code pushes the result and allocates its own scratch locals in `f`.
 * (Measured on V8: about as fast as addSimdMath + call, which engines handle well.)
 */
export function emitSimdMath(f: FunctionBuilder, fn: MathFn, args: readonly number[]): FunctionBuilder {
  if (args.length !== MATH_ARITY[fn]) throw new RangeError(`emitSimdMath(${fn}): expected ${MATH_ARITY[fn]} operand local(s), got ${args.length}`);
  for (const a of args) {
    if (f.localType(a) !== "v128") throw new TypeError(`emitSimdMath(${fn}): local ${a} is ${f.localType(a)}, expected v128`);
  }
  emitCore(f, fn, args);
  return f;
}

const ADDED = new WeakMap<ModuleBuilder, Partial<Record<MathFn, FunctionBuilder>>>();

/**
 * Adds the internal functions for `fns` to `m` (each once per module; later calls return the
 * same builders) and returns them by name, for `f.call(...)`. Signatures: (v128) -> v128, and
 * (v128 x, v128 y) -> v128 for pow. The functions are self-contained (no imports, memory or tables).
 */
export function addSimdMath<F extends MathFn>(m: ModuleBuilder, fns: readonly F[]): Record<F, FunctionBuilder> {
  let added = ADDED.get(m);
  if (!added) ADDED.set(m, (added = {}));
  const out = {} as Record<F, FunctionBuilder>;
  for (const fn of fns) {
    if (!(fn in MATH_ARITY)) throw new RangeError(`addSimdMath: unknown function "${String(fn)}"`);
    let fb: FunctionBuilder | undefined = added[fn];
    if (!fb) {
      const params = MATH_ARITY[fn] === 2 ? (["v128", "v128"] as const) : (["v128"] as const);
      fb = m.func({ name: `math_${fn}`, params, results: ["v128"] }, (f) => emitCore(f, fn, params.map((_, i) => i)));
      added[fn] = fb;
    }
    out[fn] = fb;
  }
  return out;
}
