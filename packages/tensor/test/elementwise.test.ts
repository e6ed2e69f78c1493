import { describe, expect, it } from "vitest";
import {
  Tensor, abs, add, cast, clamp, cos, div, eq, erf, exp, full, ge, gelu, gt, le, log, logicalAnd, logicalNot, logicalOr, lt,
  maximum, minimum, mul, ne, neg, pow, reciprocal, relu, rsqrt, sigmoid, sign, silu, sin, sqrt, square, sub, tanh, tensor, where,
  zeros, type DType,
} from "@equigrad/tensor";
import {
  erfRef, expectClose, expectExact, expectFloat32, expectTensor, layouts, mk, naiveBinary, naiveTernary, randArr, T, type Arr,
} from "./helpers.js";

const xs = [-3, -1.5, -0.5, -0.1, 0, 0.25, 1, 2.5, 4];
const pos = [1e-3, 0.1, 0.5, 1, 2, 4, 100];
const f64 = (v: number[]) => mk(v, [v.length], "float64");
const f32 = (v: number[]) => mk(v, [v.length], "float32");
const i32 = (v: number[]) => mk(v, [v.length], "int32");
const b8 = (v: number[]) => mk(v, [v.length], "bool");

// Independent textbook definitions, in float64.
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const ref = {
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  silu: (x: number) => x / (1 + Math.exp(-x)),
  geluErf: (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)),
  geluTanh: (x: number) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))),
};

describe("unary float ops", () => {
  const cases: [string, (t: Tensor) => Tensor, (x: number) => number, number[]][] = [
    ["exp", exp, Math.exp, xs],
    ["log", log, Math.log, pos],
    ["sqrt", sqrt, Math.sqrt, pos],
    ["rsqrt", rsqrt, (x) => 1 / Math.sqrt(x), pos],
    ["sin", sin, Math.sin, xs],
    ["cos", cos, Math.cos, xs],
    ["tanh", tanh, Math.tanh, xs],
    ["sigmoid", sigmoid, ref.sigmoid, xs],
    ["silu", silu, ref.silu, xs],
    ["gelu (erf)", (t) => gelu(t), ref.geluErf, xs],
    ["gelu (tanh)", (t) => gelu(t, "tanh"), ref.geluTanh, xs],
    ["erf", erf, erfRef, xs],
    ["reciprocal", reciprocal, (x) => 1 / x, [-4, -0.5, 0.25, 3, 1e10]],
  ];
  for (const [name, fn, f, input] of cases) {
    it(`${name} matches its definition in float64`, () => {
      const y = fn(f64(input));
      expect(y.dtype).toBe("float64");
      expect(y.shape).toEqual([input.length]);
      expectClose(y, input.map(f), { rtol: 1e-12, atol: 1e-13 });
    });
    it(`${name} in float32 stores Math.fround of the float64 result`, () => {
      const v = input.map(Math.fround);
      const y32 = fn(f32(v));
      expect(y32.dtype).toBe("float32");
      expectFloat32(y32, fn(f64(v)).toArray());
    });
    it(`${name} propagates NaN and casts int32 input to float32`, () => {
      expectExact(fn(f64([NaN])), [NaN]);
      expectExact(fn(f32([NaN])), [NaN]);
      const yi = fn(i32([1, 2]));
      expect(yi.dtype).toBe("float32");
      expectFloat32(yi, fn(f64([1, 2])).toArray());
    });
  }

  it("hand-computed values", () => {
    expectClose(exp(f64([0, 1, -Infinity, Infinity])), [1, Math.E, 0, Infinity]);
    expectClose(log(f64([1, Math.E, 0, -1, Infinity])), [0, 1, -Infinity, NaN, Infinity]);
    expectClose(sqrt(f64([0, 4, 2.25, -1])), [0, 2, 1.5, NaN]);
    expectClose(rsqrt(f64([4, 0.25, 0])), [0.5, 2, Infinity]);
    expectClose(sin(f64([0, Math.PI / 2, Math.PI / 6])), [0, 1, 0.5], { atol: 1e-15 });
    expectClose(cos(f64([0, Math.PI, Math.PI / 3])), [1, -1, 0.5], { atol: 1e-15 });
    expectClose(tanh(f64([0, -Infinity, Infinity, 20])), [0, -1, 1, 1]);
    expectClose(reciprocal(f64([2, -0.5, 0])), [0.5, -2, Infinity]);
  });

  it("erf matches known values", () => {
    expectClose(erf(f64([0.5, 1, 2, -3, 0, -0.5])), [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.9999779095030014, 0, -0.5204998778130465], {
      rtol: 1e-15,
      atol: 1e-16,
    });
    expectClose(erf(f64([6, -6, 10, Infinity, -Infinity])), [1, -1, 1, 1, -1], { atol: 1e-15 });
  });

  it("erf agrees with numerical integration over a sweep", () => {
    const grid = Array.from({ length: 121 }, (_, i) => -6 + i * 0.1);
    expectClose(erf(f64(grid)), grid.map(erfRef), { rtol: 1e-11, atol: 1e-12 });
  });

  it("gelu at points where the erf argument is a known value", () => {
    // gelu(x) = x/2 (1 + erf(x/√2)): pick x = √2·a for erf(a) known.
    const known: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-3, -0.9999779095030014]];
    const x = known.map(([a]) => Math.SQRT2 * a);
    expectClose(gelu(f64(x)), known.map(([a, e]) => 0.5 * Math.SQRT2 * a * (1 + e)), { rtol: 1e-14 });
    // Limits: gelu(x) → x for large x, → 0 for very negative x; gelu(0) = 0.
    expectClose(gelu(f64([0, 10, -10])), [0, 10, 0], { atol: 1e-15 });
    expectClose(gelu(f64([0, 10, -10]), "tanh"), [0, 10, 0], { atol: 1e-15 });
  });

  it("sigmoid and silu are stable at large magnitudes", () => {
    expectExact(sigmoid(f64([-1000, 0, 1000])), [0, 0.5, 1]);
    expectExact(silu(f64([-1000, 0, 1000])), [-0, 0, 1000]);
    expectClose(sigmoid(f64([-40])), [Math.exp(-40) / (1 + Math.exp(-40))], { rtol: 1e-14 });
  });
});

describe("unary numeric ops", () => {
  it("neg, abs, sign, relu, square on float64 (hand values)", () => {
    const x = f64([-2.5, -1, -0, 0, 0.5, 3, NaN, -Infinity]);
    expectExact(neg(x), [2.5, 1, 0, -0, -0.5, -3, NaN, Infinity]);
    expectExact(abs(x), [2.5, 1, 0, 0, 0.5, 3, NaN, Infinity]);
    expectExact(sign(x), [-1, -1, 0, 0, 1, 1, NaN, -1]);
    expectExact(relu(x), [0, 0, 0, 0, 0.5, 3, NaN, 0]);
    expectExact(square(x), [6.25, 1, 0, 0, 0.25, 9, NaN, Infinity]);
  });

  it("keep int32 as int32 and wrap like int32", () => {
    const min = -(2 ** 31);
    const x = i32([-7, 0, 5, min, 46341]);
    expectTensor(neg(x), [5], "int32", [7, 0, -5, min, -46341]);
    expectTensor(abs(x), [5], "int32", [7, 0, 5, min, 46341]);
    expectTensor(sign(x), [5], "int32", [-1, 0, 1, -1, 1]);
    expectTensor(relu(x), [5], "int32", [0, 0, 5, 0, 46341]);
    // 46341² = 2147488281 wraps to 2147488281 - 2³².
    expectTensor(square(x), [5], "int32", [49, 0, 25, 0, 2147488281 - 2 ** 32]);
  });

  it("float32 results are Math.fround of the float64 result", () => {
    const v = randArr([50], 7, -100, 100, true).data;
    for (const fn of [neg, abs, sign, relu, square]) {
      const y = fn(f32(v));
      expect(y.dtype).toBe("float32");
      expectExact(y, fn(f64(v)).toArray().map(Math.fround));
    }
    // A case where rounding matters: 4097² = 16785409 is not representable in float32.
    expectExact(square(f32([4097])), [16785408]);
  });
});

describe("pow", () => {
  it("with a number exponent (pow_scalar), including negative bases", () => {
    const x = f64([-2, -0.5, 0, 0.5, 2, 3]);
    expectClose(pow(x, 2), [4, 0.25, 0, 0.25, 4, 9]);
    expectClose(pow(x, 3), [-8, -0.125, 0, 0.125, 8, 27]);
    expectClose(pow(x, -1), [-0.5, -2, Infinity, 2, 0.5, 1 / 3]);
    expectClose(pow(x, 0.5), [NaN, NaN, 0, Math.SQRT1_2, Math.SQRT2, Math.sqrt(3)]);
    expectClose(pow(x, 0), [1, 1, 1, 1, 1, 1]);
    expectClose(x.pow(1.5), [NaN, NaN, 0, 0.5 ** 1.5, 2 ** 1.5, 3 ** 1.5]);
  });

  it("int32 base with a number exponent gives float32", () => {
    const y = pow(i32([2, 3, -2]), 2);
    expectTensor(y, [3], "float32", [4, 9, 4]);
  });

  it("tensor exponent broadcasts", () => {
    const a: Arr = { shape: [2, 1], data: [2, 9] };
    const b: Arr = { shape: [3], data: [0.5, 2, -1] };
    const y = pow(T(a), T(b));
    const e = naiveBinary(a, b, (p, q) => p ** q);
    expect(y.shape).toEqual(e.shape);
    expectClose(y, e.data);
  });

  it("follows IEEE pow special cases (as NumPy/torch): 1^y = 1, (-1)^±inf = 1, x^0 = 1", () => {
    expectExact(pow(f64([1, 1, 1, -1, -1, NaN, 2]), f64([NaN, Infinity, -Infinity, Infinity, -Infinity, 0, NaN])), [1, 1, 1, 1, 1, 1, NaN]);
    expectExact(pow(f64([1, NaN]), NaN), [1, NaN]);
    expectExact(pow(f64([1]), Infinity), [1]);
  });
});

describe("binary arithmetic with broadcasting", () => {
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ["add", add, (x, y) => x + y],
    ["sub", sub, (x, y) => x - y],
    ["mul", mul, (x, y) => x * y],
    ["div", div, (x, y) => x / y],
    ["maximum", maximum, (x, y) => (x > y ? x : y)],
    ["minimum", minimum, (x, y) => (x < y ? x : y)],
  ];
  const shapes: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[2, 1], [1, 3]],
    [[4, 1, 3], [2, 1]],
    [[3], []],
    [[], [2, 2]],
    [[1, 1], [3, 1]],
  ];
  for (const [name, fn, f] of ops) {
    it(`${name} over broadcast shapes`, () => {
      shapes.forEach(([sa, sb], k) => {
        const a = randArr(sa, 10 + k);
        const b = randArr(sb, 20 + k, 0.5, 3);
        const y = fn(T(a), T(b));
        const e = naiveBinary(a, b, f);
        expect(y.shape).toEqual(e.shape);
        expect(y.dtype).toBe("float64");
        expectExact(y, e.data);
      });
    });
    it(`${name} in float32 stores Math.fround of the exact result`, () => {
      const a = randArr([3, 4], 31, -5, 5, true);
      const b = randArr([4], 32, 0.5, 5, true);
      const y = fn(T(a, "float32"), T(b, "float32"));
      expect(y.dtype).toBe("float32");
      expectExact(y, naiveBinary(a, b, f).data.map(Math.fround));
    });
  }

  it("methods accept numbers", () => {
    const x = f64([1, 2, 3]);
    expectExact(x.add(1).mul(2).sub(0.5).div(4), [0.875, 1.375, 1.875]);
    expectExact(sub(10, x), [9, 8, 7]);
    expectExact(div(1, x), [1, 0.5, 1 / 3]);
    expectExact(x.maximum(2), [2, 2, 3]);
    expectExact(x.minimum(2), [1, 2, 2]);
    expectExact(x.clamp(1.5, 2.5), [1.5, 2, 2.5]);
    expectExact(clamp(x, undefined, 2), [1, 2, 2]);
  });

  it("division by zero gives ±inf and NaN", () => {
    expectExact(div(f64([1, -1, 0]), f64([0, 0, 0])), [Infinity, -Infinity, NaN]);
  });

  it("maximum / minimum propagate NaN from either side", () => {
    const a = f64([NaN, 1, NaN, 2]);
    const b = f64([1, NaN, NaN, 3]);
    expectExact(maximum(a, b), [NaN, NaN, NaN, 3]);
    expectExact(minimum(a, b), [NaN, NaN, NaN, 2]);
    expectExact(clamp(f64([NaN, 5]), 0, 1), [NaN, 1]);
  });

  it("0-d operands", () => {
    const y = tensor(2.5).add(tensor([1, 2]));
    expectTensor(y, [2], "float32", [3.5, 4.5]);
    const s = tensor(3).mul(tensor(4));
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(12);
  });
});

describe("comparisons and logical ops", () => {
  it("compare with broadcasting, giving bool", () => {
    const a: Arr = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    const b: Arr = { shape: [3], data: [1, 5, 4] };
    const cmp: [(x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => boolean][] = [
      [eq, (x, y) => x === y],
      [ne, (x, y) => x !== y],
      [lt, (x, y) => x < y],
      [le, (x, y) => x <= y],
      [gt, (x, y) => x > y],
      [ge, (x, y) => x >= y],
    ];
    for (const [fn, f] of cmp) {
      const y = fn(T(a), T(b));
      const e = naiveBinary(a, b, (x, z) => +f(x, z));
      expectTensor(y, e.shape, "bool", e.data);
    }
  });

  it("NaN compares false except ne", () => {
    const a = f64([NaN, NaN, 1]);
    const b = f64([NaN, 1, NaN]);
    expectExact(a.eq(b), [0, 0, 0]);
    expectExact(a.ne(b), [1, 1, 1]);
    expectExact(a.lt(b), [0, 0, 0]);
    expectExact(a.ge(b), [0, 0, 0]);
  });

  it("compare across dtypes and with numbers; tolist gives booleans", () => {
    expect(i32([1, 2, 3]).gt(1.5).tolist()).toEqual([false, true, true]);
    expect(i32([1, 2, 3]).eq(f32([1, 2.5, 3])).tolist()).toEqual([true, false, true]);
    // The number is weakly typed: 0.1 becomes float32(0.1) next to a float32 tensor.
    expect(f32([0.1]).eq(0.1).tolist()).toEqual([true]);
    expect(f64([0.1]).eq(f32([0.1])).tolist()).toEqual([false]);
  });

  it("logical and / or / not", () => {
    const a = b8([1, 1, 0, 0]);
    const b = b8([1, 0, 1, 0]);
    expectTensor(logicalAnd(a, b), [4], "bool", [1, 0, 0, 0]);
    expectTensor(logicalOr(a, b), [4], "bool", [1, 1, 1, 0]);
    expectTensor(logicalNot(a), [4], "bool", [0, 0, 1, 1]);
    expectTensor(logicalAnd(a.reshape(4, 1), b), [4, 4], "bool", [1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expectExact(logicalOr(a, false), [1, 1, 0, 0]);
  });
});

describe("where", () => {
  it("broadcasts condition and both branches", () => {
    const c: Arr = { shape: [2, 1], data: [1, 0] };
    const a: Arr = { shape: [1, 3], data: [1, 2, 3] };
    const b: Arr = { shape: [], data: [-1] };
    const y = where(T(c, "bool"), T(a), T(b));
    const e = naiveTernary(c, a, b, (k, x, z) => (k ? x : z));
    expectTensor(y, [2, 3], "float64", e.data);
  });

  it("accepts numbers and promotes branch dtypes", () => {
    const c = b8([1, 0, 1]);
    expectTensor(where(c, f64([1, 2, 3]), 0), [3], "float64", [1, 0, 3]);
    expectTensor(where(c, 7, f32([1, 2, 3])), [3], "float32", [7, 2, 7]);
    expectTensor(where(c, i32([1, 2, 3]), f32([0.5, 0.5, 0.5])), [3], "float32", [1, 0.5, 3]);
    expectTensor(where(c, i32([1, 2, 3]), -1), [3], "int32", [1, -1, 3]);
    expectTensor(where(c, f64([1, 2, 3]), -Infinity), [3], "float64", [1, -Infinity, 3]);
  });
});

describe("cast", () => {
  it("float to int32 truncates toward zero", () => {
    expectTensor(cast(f64([-2.7, -2.5, -0.5, 0.5, 2.5, 2.7, 3, -0]), "int32"), [8], "int32", [-2, -2, 0, 0, 2, 2, 3, 0]);
    expectTensor(f32([1e6 + 0.75, -123.99]).cast("int32"), [2], "int32", [1000000, -123]);
  });

  it("to bool: nonzero (including NaN and inf) is true", () => {
    expectTensor(cast(f64([0, -0, 0.1, -3, NaN, Infinity]), "bool"), [6], "bool", [0, 0, 1, 1, 1, 1]);
    expectTensor(cast(i32([0, 5, -1]), "bool"), [3], "bool", [0, 1, 1]);
  });

  it("from bool and between floats", () => {
    expectTensor(cast(b8([1, 0]), "float32"), [2], "float32", [1, 0]);
    expectTensor(cast(b8([1, 0]), "int32"), [2], "int32", [1, 0]);
    expectTensor(cast(f64([0.1, 1 / 3, 1e40]), "float32"), [3], "float32", [Math.fround(0.1), Math.fround(1 / 3), Infinity]);
    expectTensor(cast(i32([16777217, -5]), "float32"), [2], "float32", [16777216, -5]);
    expectTensor(cast(f32([0.1]), "float64"), [1], "float64", [Math.fround(0.1)]);
  });

  it("to the same dtype is the identity", () => {
    const x = f32([1, 2]);
    expect(x.cast("float32")).toBe(x);
  });
});

describe("dtype promotion", () => {
  it("tensor with tensor: bool < int32 < float32 < float64", () => {
    const cases: [DType, DType, DType][] = [
      ["int32", "float32", "float32"],
      ["float32", "int32", "float32"],
      ["int32", "float64", "float64"],
      ["float32", "float64", "float64"],
      ["bool", "int32", "int32"],
      ["bool", "float32", "float32"],
      ["int32", "int32", "int32"],
    ];
    for (const [da, db, want] of cases) {
      const y = mk([1, 0, 1], [3], da).add(mk([2, 3, 4], [3], db));
      expectTensor(y, [3], want, [3, 3, 5]);
    }
  });

  it("int32 + float32 values are exact sums rounded to float32", () => {
    const y = add(i32([16777217, 3]), f32([1, 0.1]));
    expect(y.dtype).toBe("float32");
    // The int is cast to float32 first (16777217 → 16777216), then added.
    expectExact(y, [Math.fround(16777216 + 1), Math.fround(3 + Math.fround(0.1))]);
  });

  it("numbers are weakly typed", () => {
    expectTensor(i32([1, 2]).add(3), [2], "int32", [4, 5]);
    expectTensor(i32([1, 2]).add(0.5), [2], "float32", [1.5, 2.5]);
    expectTensor(f32([1]).add(0.1), [1], "float32", [Math.fround(1 + Math.fround(0.1))]);
    expectTensor(f64([1]).add(0.1), [1], "float64", [1.1]);
    expectTensor(f64([1]).add(1e-20), [1], "float64", [1 + 1e-20]);
    expectTensor(i32([7, -7]).div(2), [2], "float32", [3.5, -3.5]);
    expectTensor(i32([7, -7]).div(i32([2, 2])), [2], "float32", [3.5, -3.5]);
  });

  it("bool arithmetic promotes to int32 (or to the float operand)", () => {
    const b = b8([1, 0, 1]);
    expectTensor(b.add(1), [3], "int32", [2, 1, 2]);
    expectTensor(b.mul(i32([5, 6, 7])), [3], "int32", [5, 0, 7]);
    expectTensor(b.mul(f32([0.5, 0.5, 0.5])), [3], "float32", [0.5, 0, 0.5]);
    expectTensor(b.add(0.5), [3], "float32", [1.5, 0.5, 1.5]);
    expectTensor(b.sum(), [], "int32", [2]);
  });

  it("int32 add / sub / mul wrap around", () => {
    const max = 2 ** 31 - 1;
    const min = -(2 ** 31);
    const wrap = (v: bigint) => Number(BigInt.asIntN(32, v));
    expectTensor(add(i32([max, min, max]), i32([1, -1, max])), [3], "int32", [wrap(BigInt(max) + 1n), wrap(BigInt(min) - 1n), wrap(2n * BigInt(max))]);
    expectTensor(sub(i32([min, max]), i32([1, -1])), [2], "int32", [max, min]);
    const a = [65536, 123456789, -987654321, 46341];
    const b = [65536, 987654321, 3, 46341];
    expectTensor(mul(i32(a), i32(b)), [4], "int32", a.map((x, i) => wrap(BigInt(x) * BigInt(b[i]!))));
    expectTensor(i32([max]).add(1), [1], "int32", [min]);
  });
});

describe("non-contiguous inputs, empty and size-1 dims", () => {
  it("binary ops on every pair of layouts (transposed, stepped, flipped)", () => {
    const a = randArr([3, 4], 1);
    const b = randArr([3, 4], 2);
    const e = naiveBinary(a, b, (x, y) => x * y + x);
    for (const la of layouts(a)) {
      for (const lb of layouts(b)) {
        const y = la.t.mul(lb.t).add(la.t);
        expect(y.shape).toEqual([3, 4]);
        expectExact(y, e.data);
      }
    }
  });

  it("unary ops on non-contiguous layouts give row-major results", () => {
    const a = randArr([2, 3, 4], 3);
    for (const { name, t } of layouts(a)) {
      const y = t.exp();
      expect(y.strides, name).toEqual([12, 4, 1]);
      expectClose(y, a.data.map(Math.exp));
      expectExact(t.neg(), a.data.map((v) => -v));
    }
  });

  it("expanded (stride-0) inputs", () => {
    const row: Arr = { shape: [3], data: [1, 2, 3] };
    const x = T(row).expand(4, 3);
    expect(x.strides[0]).toBe(0);
    const other = randArr([4, 3], 4);
    expectExact(x.add(T(other)), naiveBinary(row, other, (p, q) => p + q).data);
    const col = T({ shape: [2, 1], data: [10, 20] }).expand(2, 3);
    expectExact(col.mul(x.slice([0, 2])), [10, 20, 30, 20, 40, 60]);
  });

  it("empty dims", () => {
    const e = zeros([0, 3]);
    expectTensor(e.add(tensor([1, 2, 3])), [0, 3], "float32", []);
    expectTensor(zeros([2, 0]).mul(zeros([2, 1])), [2, 0], "float32", []);
    expectTensor(exp(zeros([0])), [0], "float32", []);
    expectTensor(zeros([1, 0]).add(zeros([3, 1])), [3, 0], "float32", []);
    expectTensor(where(zeros([0], { dtype: "bool" }), 1, zeros([0])), [0], "float32", []);
  });

  it("size-1 dims broadcast against each other", () => {
    const y = full([1, 3, 1], 2).mul(tensor([[1], [2]]).reshape(2, 1, 1));
    expectTensor(y, [2, 3, 1], "float32", [2, 2, 2, 4, 4, 4]);
  });
});
