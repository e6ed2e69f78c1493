// Accuracy and special-value tests of the f32x4 SIMD math library (kernels/simd-math.ts).
// Each function runs as a real vector kernel over dense sweeps (some 10^6 points per function)
// and is compared with the float64 reference definitions (backends/reference/scalar.ts, i.e.
// Math.*) rounded to float32, in ulps (distance in representable float32 values), falling back
// to absolute error only where stated. Set SIMD_MATH_REPORT=1 to print the measured error table.
import { describe, expect, test } from "vitest";
import { ModuleBuilder } from "../../src/backends/wasm/asm/index.js";
import type { MathFn } from "../../src/backends/wasm/kernels/simd-math.js";
import { MATH_ARITY, MATH_FNS, addSimdMath, emitSimdMath } from "../../src/backends/wasm/kernels/simd-math.js";
import { UNARY, pow as refPow } from "../../src/backends/reference/scalar.js";

const CHUNK = 1 << 18; // elements per call
const PAGES = Math.ceil((3 * CHUNK * 4) / 65536);
const REPORT = process.env.SIMD_MATH_REPORT === "1";

interface Harness {
  unary(fn: MathFn, x: Float32Array): Float32Array;
  binary(x: Float32Array, y: Float32Array): Float32Array;
}

/** One module with a vector loop per function: dst[i..i+4) = fn(src[i..i+4)) (pow: fn(a, b)). */
function buildHarness(): Harness {
  const m = new ModuleBuilder({ debug: true });
  m.memory({ initial: PAGES }, "mem");
  const fns = addSimdMath(m, MATH_FNS);
  for (const fn of MATH_FNS) {
    const two = MATH_ARITY[fn] === 2;
    // params: a, b (ignored for unary), dst, n (multiple of 4); locals: i
    m.func({ name: `k_${fn}`, params: ["i32", "i32", "i32", "i32"], locals: ["i32"], export: true }, (f) => {
      const [a, b, dst, n, i] = [0, 1, 2, 3, 4];
      f.block("void", "done").loop("void", "l");
      f.local.get(i).local.get(n).i32.ge_u().br_if("done");
      f.local.get(dst).local.get(i).i32.const(2).i32.shl().i32.add();
      f.local.get(a).local.get(i).i32.const(2).i32.shl().i32.add().v128.load();
      if (two) f.local.get(b).local.get(i).i32.const(2).i32.shl().i32.add().v128.load();
      f.call(fns[fn]).v128.store();
      f.local.get(i).i32.const(4).i32.add().local.set(i);
      f.br("l").end().end();
    });
  }
  type Kernel = (a: number, b: number, dst: number, n: number) => void;
  const e = m.instantiate<Record<string, Kernel> & { mem: { buffer: ArrayBuffer } }>().exports;
  const run = (fn: MathFn, x: Float32Array, y?: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    const kernel = e[`k_${fn}`] as Kernel;
    for (let s = 0; s < x.length; s += CHUNK) {
      const len = Math.min(CHUNK, x.length - s);
      const n4 = (len + 3) & ~3;
      const mem = new Float32Array(e.mem.buffer, 0, 3 * CHUNK);
      mem.fill(0, 0, 3 * CHUNK);
      mem.set(x.subarray(s, s + len), 0);
      if (y) mem.set(y.subarray(s, s + len), CHUNK);
      kernel(0, 4 * CHUNK, 8 * CHUNK, n4);
      out.set(mem.subarray(2 * CHUNK, 2 * CHUNK + len), s);
    }
    return out;
  };
  return { unary: (fn, x) => run(fn, x), binary: (x, y) => run("pow", x, y) };
}

// ---- float32 helpers ----

const f32buf = new Float32Array(1);
const i32buf = new Int32Array(f32buf.buffer);
const bitsOf = (v: number): number => {
  f32buf[0] = v;
  return i32buf[0] as number;
};
const fromBits = (b: number): number => {
  i32buf[0] = b | 0;
  return f32buf[0] as number;
};
/** Monotonic integer image of a float32 (adjacent floats differ by 1; ±0 both map to 0). */
const ord = (v: number): number => {
  const b = bitsOf(v);
  return b < 0 ? -(b & 0x7fff_ffff) : b;
};
const ulpDist = (a: number, b: number): number => Math.abs(ord(a) - ord(b));

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const linspace = (a: number, b: number, n: number): number[] => Array.from({ length: n }, (_, k) => a + ((b - a) * k) / (n - 1));
/** n positive floats with evenly spaced bit patterns in [lo, hi]: every binade gets its share. */
function bitspace(lo: number, hi: number, n: number): number[] {
  const a = bitsOf(lo);
  const b = bitsOf(hi);
  return Array.from({ length: n }, (_, k) => fromBits(Math.round(a + ((b - a) * k) / (n - 1))));
}
const bothSigns = (v: number[]): number[] => [...v, ...v.map((x) => -x)];
// ---- accurate float64 references ----
// The semantic definitions in reference/scalar.ts are used as they are, except for the GELUs:
// 0.5x(1 + tanh(…)) and 0.5x(1 + erf(…)) cancel catastrophically in float64 for x < -5 or so
// (gelu_erf(-8) even comes out with the wrong sign), so the sweeps compare with the same
// functions written without the cancellation: x·σ(2u) and 0.5x·erfc(−x/√2).

const sigmoid64 = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
/** erfc for z >= 0: 1 − erf below 3 (loses < 16 of 53 bits), a continued fraction above. */
function erfc64(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z < 3) return 1 - UNARY.erf(z);
  if (z > 27) return 0;
  // erfc z = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up.
  let t = z;
  for (let k = 120; k >= 1; k--) t = z + k / 2 / t;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / t;
}
const ACCURATE: Partial<Record<MathFn, (x: number) => number>> = {
  gelu_tanh: (x) => x * sigmoid64(2 * 0.7978845608028654 * (x + 0.044715 * x * x * x)),
  gelu_erf: (x) => (x >= 0 ? 0.5 * x * (2 - erfc64(x / Math.SQRT2)) : 0.5 * x * erfc64(-x / Math.SQRT2)),
};

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1, -1, 2 ** -149, -(2 ** -149), 2 ** -126, -(2 ** -126), 3.4028234663852886e38, -3.4028234663852886e38];

// ---- error measurement ----

interface Tolerance {
  /** Max ulp distance to the float64 reference rounded to float32. */
  readonly ulp: number;
  /** Alternatively accepted absolute error |got − ref64| (near zeros / in tails); 0: none. */
  readonly abs?: number;
}

interface Stats {
  n: number;
  maxUlp: number;
  worstX: number;
  /** max absolute error among the points accepted only by the absolute criterion */
  maxAbs: number;
  /** over all finite comparisons, whether accepted or not */
  maxUlpAll: number;
  worstAllX: number;
  failures: string[];
}

function check(xs: ArrayLike<number>, got: Float32Array, ref: (i: number) => number, tol: Tolerance, label: (i: number) => string): Stats {
  const st: Stats = { n: xs.length, maxUlp: 0, worstX: NaN, maxAbs: 0, maxUlpAll: 0, worstAllX: NaN, failures: [] };
  const fail = (i: number, why: string) => {
    if (st.failures.length < 10) st.failures.push(`${label(i)}: got ${got[i]}, want ${Math.fround(ref(i))} (${ref(i)}) ${why}`);
  };
  for (let i = 0; i < xs.length; i++) {
    const r64 = ref(i);
    const r = Math.fround(r64);
    const g = got[i] as number;
    if (Number.isNaN(r)) {
      if (!Number.isNaN(g)) fail(i, "expected NaN");
      continue;
    }
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (g !== r) fail(i, "inf/NaN mismatch");
      continue;
    }
    const d = ulpDist(g, r);
    const ae = Math.abs(g - r64);
    if (d > st.maxUlpAll) {
      st.maxUlpAll = d;
      st.worstAllX = xs[i] as number;
    }
    if (d <= tol.ulp) {
      if (d > st.maxUlp) {
        st.maxUlp = d;
        st.worstX = xs[i] as number;
      }
    } else if (tol.abs !== undefined && ae <= tol.abs) {
      st.maxAbs = Math.max(st.maxAbs, ae);
    } else {
      fail(i, `${d} ulp, abs ${ae.toExponential(3)}`);
    }
  }
  return st;
}

const table: string[] = [];
function record(name: string, st: Stats): void {
  table.push(
    `${name.padEnd(28)} n=${String(st.n).padStart(7)}  max ${String(st.maxUlp).padStart(3)} ulp (x=${st.worstX})` +
      (st.maxAbs ? `  abs-accepted max ${st.maxAbs.toExponential(2)}` : "") +
      (st.maxUlpAll > st.maxUlp ? `  [all: ${st.maxUlpAll} ulp at x=${st.worstAllX}]` : "") +
      (st.failures.length ? `  FAIL ${st.failures[0]}` : ""),
  );
}

const H = buildHarness();

function sweepUnary(fn: Exclude<MathFn, "pow">, name: string, xsIn: number[], tol: Tolerance, ref = ACCURATE[fn] ?? UNARY[fn]): Stats {
  const xs = Float32Array.from(xsIn);
  const got = H.unary(fn, xs);
  const st = check(xs, got, (i) => ref(xs[i] as number), tol, (i) => `${fn}(${xs[i]})`);
  record(`${fn} ${name}`, st);
  expect(st.failures, `${fn} ${name}`).toEqual([]);
  return st;
}

/** Single-lane evaluation (splat → call → extract lane 0), for exact special-value checks. */
const one = (fn: Exclude<MathFn, "pow">, x: number): number => H.unary(fn, Float32Array.of(x, x, x, x))[0] as number;

// Per-function bounds (in sync with the table in simd-math.ts). `abs` covers the results near
// zeros of sin/cos (where an ulp shrinks below the reduction's absolute error) and gelu_erf's
// subnormal results.
const TOL: Record<MathFn, Tolerance> = {
  exp: { ulp: 1 },
  log: { ulp: 1 },
  tanh: { ulp: 1 },
  sigmoid: { ulp: 2 },
  erf: { ulp: 2 },
  sin: { ulp: 2, abs: 5e-12 },
  cos: { ulp: 2, abs: 5e-12 },
  gelu_tanh: { ulp: 3 },
  gelu_erf: { ulp: 4, abs: 1e-44 },
  silu: { ulp: 3 },
  pow: { ulp: 1 },
};

describe("simd math: accuracy sweeps", () => {
  test("exp", () => {
    sweepUnary("exp", "[-104, 89] linear", linspace(-104, 89, 400_000), TOL.exp);
    sweepUnary("exp", "[-1, 1] linear", linspace(-1, 1, 200_000), TOL.exp);
    sweepUnary("exp", "all magnitudes", bothSigns(bitspace(2 ** -149, 200, 100_000)), TOL.exp);
    sweepUnary("exp", "specials", SPECIALS, TOL.exp);
  });

  test("log", () => {
    sweepUnary("log", "all positive floats", bitspace(2 ** -149, 3.4028234663852886e38, 400_000), TOL.log);
    sweepUnary("log", "[0.5, 2] linear", linspace(0.5, 2, 200_000), TOL.log);
    sweepUnary("log", "specials & negatives", [...SPECIALS, ...linspace(-10, 0, 1000)], TOL.log);
  });

  test("tanh", () => {
    sweepUnary("tanh", "[-10, 10] linear", linspace(-10, 10, 400_000), TOL.tanh);
    sweepUnary("tanh", "[-1, 1] linear", linspace(-1, 1, 200_000), TOL.tanh);
    sweepUnary("tanh", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.tanh);
    sweepUnary("tanh", "specials", SPECIALS, TOL.tanh);
  });

  test("sigmoid", () => {
    sweepUnary("sigmoid", "[-110, 100] linear", linspace(-110, 100, 400_000), TOL.sigmoid);
    sweepUnary("sigmoid", "[-10, 10] linear", linspace(-10, 10, 200_000), TOL.sigmoid);
    sweepUnary("sigmoid", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.sigmoid);
    sweepUnary("sigmoid", "specials", SPECIALS, TOL.sigmoid);
  });

  test("erf", () => {
    sweepUnary("erf", "[-5, 5] linear", linspace(-5, 5, 400_000), TOL.erf);
    sweepUnary("erf", "[-1, 1] linear", linspace(-1, 1, 200_000), TOL.erf);
    sweepUnary("erf", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.erf);
    sweepUnary("erf", "specials", SPECIALS, TOL.erf);
  });

  for (const fn of ["sin", "cos"] as const) {
    test(fn, () => {
      sweepUnary(fn, "[-102943, 102943] linear", linspace(-102943, 102943, 400_000), TOL[fn]);
      sweepUnary(fn, "[-10, 10] linear", linspace(-10, 10, 200_000), TOL[fn]);
      sweepUnary(fn, "magnitudes <= 102943", bothSigns(bitspace(2 ** -149, 102943, 100_000)), TOL[fn]);
      // Floats nearest to multiples of π/2 and their neighbours: the reduction's hardest inputs.
      const near: number[] = [];
      for (let k = 1; k <= 65536; k += k < 8192 ? 1 : 7) {
        const b = bitsOf(Math.fround((k * Math.PI) / 2));
        for (let d = -2; d <= 2; d++) near.push(fromBits(b + d));
      }
      sweepUnary(fn, "near k·π/2", bothSigns(near), TOL[fn]);
      sweepUnary(fn, "specials", SPECIALS.filter((x) => !(Math.abs(x) > 102943) || !Number.isFinite(x)), TOL[fn]);
    });
  }

  test("sin, cos beyond the reduction's range: degrade gradually, stay within [-1, 1]", () => {
    for (const fn of ["sin", "cos"] as const) {
      const near = Float32Array.from(bothSigns(linspace(102943, 2e5, 50_000)));
      const gotNear = H.unary(fn, near);
      let maxAbs = 0;
      for (let i = 0; i < near.length; i++) maxAbs = Math.max(maxAbs, Math.abs((gotNear[i] as number) - Math[fn](near[i] as number)));
      table.push(`${`${fn} |x| in [102943, 2e5]`.padEnd(28)} max abs error ${maxAbs.toExponential(2)}`);
      expect(maxAbs).toBeLessThan(1e-2);
      const far = Float32Array.from(bothSigns(bitspace(2e5, 3.4028234663852886e38, 50_000)));
      for (const y of H.unary(fn, far)) expect(Math.abs(y)).toBeLessThanOrEqual(1);
    }
  });

  test("gelu_tanh", () => {
    sweepUnary("gelu_tanh", "[-20, 20] linear", linspace(-20, 20, 400_000), TOL.gelu_tanh);
    sweepUnary("gelu_tanh", "[-3, 3] linear", linspace(-3, 3, 200_000), TOL.gelu_tanh);
    sweepUnary("gelu_tanh", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.gelu_tanh);
    sweepUnary("gelu_tanh", "specials", SPECIALS, TOL.gelu_tanh);
  });

  test("gelu_erf", () => {
    sweepUnary("gelu_erf", "[-20, 20] linear", linspace(-20, 20, 400_000), TOL.gelu_erf);
    sweepUnary("gelu_erf", "[-3, 3] linear", linspace(-3, 3, 200_000), TOL.gelu_erf);
    sweepUnary("gelu_erf", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.gelu_erf);
    sweepUnary("gelu_erf", "specials", SPECIALS, TOL.gelu_erf);
  });

  test("silu", () => {
    sweepUnary("silu", "[-110, 100] linear", linspace(-110, 100, 400_000), TOL.silu);
    sweepUnary("silu", "[-10, 10] linear", linspace(-10, 10, 200_000), TOL.silu);
    sweepUnary("silu", "all magnitudes", bothSigns(bitspace(2 ** -149, 3e38, 100_000)), TOL.silu);
    sweepUnary("silu", "specials", SPECIALS, TOL.silu);
  });

  test("pow", () => {
    const rnd = mulberry32(1234);
    const sweep = (name: string, pairs: [number, number][]) => {
      const xs = Float32Array.from(pairs, (p) => p[0]);
      const ys = Float32Array.from(pairs, (p) => p[1]);
      const got = H.binary(xs, ys);
      const st = check(xs, got, (i) => refPow(xs[i] as number, ys[i] as number), TOL.pow, (i) => `pow(${xs[i]}, ${ys[i]})`);
      record(`pow ${name}`, st);
      expect(st.failures, `pow ${name}`).toEqual([]);
    };
    const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo)));
    sweep("x in (0, 4], y in [-10, 10]", Array.from({ length: 200_000 }, () => [rnd() * 4, (rnd() - 0.5) * 20] as [number, number]));
    sweep(
      "x log-uniform, y·log x in ±110",
      Array.from({ length: 200_000 }, () => {
        const x = Math.fround(logUniform(2 ** -149, 3e38));
        return [x, ((rnd() - 0.5) * 220) / Math.log(x)] as [number, number];
      }),
    );
    sweep("x near 1, large y", Array.from({ length: 100_000 }, () => [1 + (rnd() - 0.5) * 1e-3, (rnd() - 0.5) * 2e5] as [number, number]));
    sweep(
      "negative x, integer y",
      Array.from({ length: 100_000 }, () => [-logUniform(1e-3, 1e3), Math.round((rnd() - 0.5) * 40)] as [number, number]),
    );
    sweep("negative x, non-integer y", Array.from({ length: 1000 }, () => [-logUniform(1e-3, 1e3), (rnd() - 0.5) * 40 + 0.25] as [number, number]));
    const sv = [...SPECIALS, 0.5, -0.5, 2, -2, 3, -3, 2.5, -2.5, 1e-3, 1e3, 2 ** 24, 2 ** 24 + 2, -(2 ** 25), 2 ** 31, 1e30, -1e30];
    sweep("specials × specials", sv.flatMap((x) => sv.map((y) => [x, y] as [number, number])));
  });
});

describe("simd math: special values", () => {
  test("exp", () => {
    expect(one("exp", 0)).toBe(1);
    expect(one("exp", -0)).toBe(1);
    expect(one("exp", 88.72)).toBeLessThan(Infinity);
    expect(one("exp", 88.73)).toBe(Infinity);
    expect(one("exp", 1e30)).toBe(Infinity);
    expect(one("exp", -103.9)).toBeGreaterThan(0);
    expect(one("exp", -104)).toBe(0);
    expect(one("exp", -1e30)).toBe(0);
    expect(one("exp", -Infinity)).toBe(0);
    expect(one("exp", Infinity)).toBe(Infinity);
    expect(one("exp", NaN)).toBeNaN();
  });

  test("log", () => {
    expect(one("log", 1)).toBe(0);
    expect(one("log", 0)).toBe(-Infinity);
    expect(one("log", -0)).toBe(-Infinity);
    expect(one("log", -1)).toBeNaN();
    expect(one("log", -Infinity)).toBeNaN();
    expect(one("log", Infinity)).toBe(Infinity);
    expect(one("log", NaN)).toBeNaN();
    expect(one("log", 2 ** -149)).toBe(Math.fround(Math.log(2 ** -149)));
  });

  test("odd functions are exactly odd and keep signed zeros", () => {
    for (const fn of ["tanh", "erf", "sin"] as const) {
      expect(Object.is(one(fn, -0), -0), `${fn}(-0)`).toBe(true);
      expect(Object.is(one(fn, 0), 0), `${fn}(0)`).toBe(true);
      const xs = Float32Array.from(linspace(-6, 6, 4001));
      const ys = H.unary(fn, xs);
      const yn = H.unary(fn, xs.map((x) => -x));
      for (let i = 0; i < xs.length; i++) expect(yn[i], `${fn}(${-(xs[i] as number)})`).toBe(-(ys[i] as number));
    }
  });

  test("saturation", () => {
    expect(one("tanh", 9.02)).toBe(1);
    expect(one("tanh", -9.02)).toBe(-1);
    expect(one("tanh", 1e30)).toBe(1);
    expect(one("tanh", -Infinity)).toBe(-1);
    expect(one("erf", 3.92)).toBe(1);
    expect(one("erf", -4)).toBe(-1);
    expect(one("erf", Infinity)).toBe(1);
    expect(one("erf", -1e30)).toBe(-1);
    expect(one("sigmoid", 100)).toBe(1);
    expect(one("sigmoid", -100)).toBe(Math.fround(Math.exp(-100)));
    expect(one("sigmoid", -200)).toBe(0);
    expect(one("sigmoid", -Infinity)).toBe(0);
    expect(one("sigmoid", Infinity)).toBe(1);
    expect(one("sigmoid", 0)).toBe(0.5);
    expect(one("silu", 100)).toBe(100);
    expect(one("silu", -200)).toBe(-0);
    expect(one("gelu_tanh", 20)).toBe(20);
    expect(one("gelu_erf", 20)).toBe(20);
    expect(one("gelu_tanh", -20)).toBe(-0);
    expect(one("gelu_erf", -20)).toBe(-0);
    expect(one("gelu_erf", -1e30)).toBe(-0);
    for (const fn of ["tanh", "sigmoid", "erf", "sin", "cos", "gelu_tanh", "gelu_erf", "silu"] as const) expect(one(fn, NaN), fn).toBeNaN();
    // As the float64 reference: x·0 at -inf.
    expect(one("silu", -Infinity)).toBeNaN();
    expect(one("gelu_tanh", -Infinity)).toBeNaN();
    expect(one("gelu_erf", -Infinity)).toBeNaN();
    expect(one("silu", Infinity)).toBe(Infinity);
    expect(one("gelu_erf", Infinity)).toBe(Infinity);
    expect(one("sin", Infinity)).toBeNaN();
    expect(one("cos", -Infinity)).toBeNaN();
  });

  test("pow special cases follow the reference (IEEE) pow", () => {
    const p = (x: number, y: number) => H.binary(Float32Array.of(x, x, x, x), Float32Array.of(y, y, y, y))[0] as number;
    expect(p(NaN, 0)).toBe(1);
    expect(p(1, NaN)).toBe(1);
    expect(p(-1, Infinity)).toBe(1);
    expect(p(0, 0)).toBe(1);
    expect(p(-8, 1 / 3)).toBeNaN();
    expect(p(-2, 3)).toBe(-8);
    expect(p(-2, -2)).toBe(0.25);
    expect(Object.is(p(-0, 3), -0)).toBe(true);
    expect(p(-0, -3)).toBe(-Infinity);
    expect(p(0, -1)).toBe(Infinity);
    expect(p(-Infinity, 3)).toBe(-Infinity);
    expect(p(-Infinity, 0.5)).toBe(Infinity);
    expect(p(2, 128)).toBe(Infinity);
    expect(p(2, -150)).toBe(0);
    expect(p(2, -149)).toBe(2 ** -149);
    expect(p(4, 0.5)).toBe(2);
    expect(p(10, 3)).toBe(1000);
  });
});

describe("simd math: module integration", () => {
  test("functions are added once per module, only those requested", () => {
    const m = new ModuleBuilder({ debug: true });
    const a = addSimdMath(m, ["exp", "sigmoid"]);
    const count = m.functionCount;
    expect(count).toBe(2);
    const b = addSimdMath(m, ["sigmoid", "exp"]);
    expect(b.exp).toBe(a.exp);
    expect(b.sigmoid).toBe(a.sigmoid);
    expect(m.functionCount).toBe(count);
    const c = addSimdMath(m, ["pow"]);
    expect(m.functionCount).toBe(count + 1);
    expect(c.pow.sig).toEqual({ params: ["v128", "v128"], results: ["v128"] });
    expect(() => m.build()).not.toThrow();
  });

  test("scalar tail via splat → call → extract_lane, and inline emission, match the vector call", () => {
    const m = new ModuleBuilder({ debug: true });
    const fns = addSimdMath(m, ["gelu_erf", "pow"]);
    m.func({ name: "scalar", params: ["f32"], results: ["f32"], export: true }, (f) => {
      f.local.get(0).f32x4.splat().call(fns.gelu_erf).f32x4.extract_lane(0);
    });
    m.func({ name: "inline", params: ["f32"], results: ["f32"], locals: ["v128"], export: true }, (f) => {
      f.local.get(0).f32x4.splat().local.set(1);
      emitSimdMath(f, "gelu_erf", [1]).f32x4.extract_lane(0);
    });
    m.func({ name: "powScalar", params: ["f32", "f32"], results: ["f32"], export: true }, (f) => {
      f.local.get(0).f32x4.splat().local.get(1).f32x4.splat().call(fns.pow).f32x4.extract_lane(0);
    });
    const e = m.instantiate<{ scalar(x: number): number; inline(x: number): number; powScalar(x: number, y: number): number }>().exports;
    for (const x of [-3, -0.5, 0, 0.1, 2.5]) {
      expect(e.scalar(x)).toBe(one("gelu_erf", x));
      expect(e.inline(x)).toBe(one("gelu_erf", x));
    }
    expect(e.powScalar(3, 4)).toBe(81);
    expect(() => emitSimdMath(m.func({ params: ["f32"] }), "exp", [0])).toThrow(/expected v128/);
  });

  test("the functions are branch-free, memory-free straight-line code without relaxed SIMD", () => {
    const m = new ModuleBuilder({ debug: true });
    const fns = addSimdMath(m, MATH_FNS);
    for (const fn of MATH_FNS) {
      const ops = (fns[fn].trace ?? []).map((t) => t.text.split(" ")[0] as string);
      expect(ops.length, fn).toBeGreaterThan(10);
      const bad = ops.filter((op) => /relaxed|load|store|memory|atomic|^(block|loop|if|else|br|br_if|br_table|call|return|select)$/.test(op));
      expect(bad, fn).toEqual([]);
    }
  });

  test("the GELU references used by the sweeps equal the reference definitions where those are accurate", () => {
    for (const x of linspace(-4, 6, 2001)) {
      for (const fn of ["gelu_tanh", "gelu_erf"] as const) {
        const a = (ACCURATE[fn] as (x: number) => number)(x);
        const b = UNARY[fn](x);
        // (the reference's own cancellation costs it up to ~1e-12 relative at x = -4)
        expect(Math.abs(a - b), `${fn}(${x})`).toBeLessThanOrEqual(1e-10 * Math.abs(a) + 1e-300);
      }
    }
  });

  test("report", () => {
    if (REPORT) console.log(table.join("\n"));
  });
});
