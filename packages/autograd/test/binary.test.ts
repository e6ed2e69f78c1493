import { describe, expect, it } from "vitest";
import { grad, valueAndGrad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import { Rng, type Shape, type Tensor } from "@equigrad/tensor";
import { awayFrom, distinct, expectClose, expectGradOk, f64, positive, randn } from "./helpers.js";

/** Pairs of broadcast-compatible shapes, both directions of every broadcast. */
const SHAPES: [string, Shape, Shape][] = [
  ["same", [3, 4], [3, 4]],
  ["row vector", [3, 4], [4]],
  ["column", [3, 1], [3, 4]],
  ["outer", [3, 1], [1, 4]],
  ["rank 3 vs rank 2", [2, 1, 4], [3, 1]],
  ["0-d", [], [2, 3]],
  ["size-1 everywhere", [1, 1], [2, 1, 3]],
];

describe.each(SHAPES)("gradcheck: binary ops with broadcasting (%s: %j and %j)", (_, sa, sb) => {
  const a = (): Tensor => randn(sa, 21);
  const b = (): Tensor => randn(sb, 22);
  it("add", () => expectGradOk((x, y) => x.add(y), [a(), b()]));
  it("sub", () => expectGradOk((x, y) => x.sub(y), [a(), b()]));
  it("mul", () => expectGradOk((x, y) => x.mul(y), [a(), b()]));
  it("div (denominator away from 0)", () => expectGradOk((x, y) => x.div(y), [a(), awayFrom(sb, 23, 0, 0.5)]));
  it("pow (positive base, any exponent)", () => expectGradOk((x, y) => x.pow(y), [positive(sa, 24), b()]));
  it("maximum (no ties)", () => {
    const [x, y] = untied(sa, sb, 25);
    expectGradOk((p, q) => p.maximum(q), [x, y]);
  });
  it("minimum (no ties)", () => {
    const [x, y] = untied(sa, sb, 26);
    expectGradOk((p, q) => p.minimum(q), [x, y]);
  });
  it("where (constant condition)", () => {
    const cond = new Rng(27).bernoulli(T.broadcastShapes("test", sa, sb), 0.5);
    expectGradOk((x, y) => T.where(cond, x, y), [a(), b()]);
  });
  it("swapped operand order", () => expectGradOk((x, y) => y.mul(x).sub(x.div(y.abs().add(1))), [a(), b()]));
});

/** Inputs whose broadcast pairs are at least 0.1 apart (maximum / minimum have no ties nearby). */
function untied(sa: Shape, sb: Shape, seed: number): [Tensor, Tensor] {
  const x = randn(sa, seed);
  const y = randn(sb, seed + 1000);
  const out = T.broadcastShapes("untied", sa, sb);
  const xb = x.expand(out).toArray();
  // Shift y's elements (before broadcast) only when every pair it takes part in is far enough.
  for (let shift = 0; shift < 50; shift++) {
    const ys = y.add(shift * 0.037).expand(out).toArray();
    if (xb.every((v, i) => Math.abs(v - ys[i]!) > 0.1)) return [x, y.add(shift * 0.037).keep()];
  }
  // Fallback: distinct values everywhere, which are never within 0.1 of each other.
  const n = sa.reduce((p, d) => p * d, 1);
  const all = distinct([n + sb.reduce((p, d) => p * d, 1)], seed).toArray();
  return [f64(all.slice(0, n), sa), f64(all.slice(n), sb)];
}

describe("binary ops with JS numbers and scalar tensors", () => {
  const x = (): Tensor => randn([2, 3], 31);
  it.each([
    ["x + 2", (t: Tensor) => t.add(2)],
    ["x - 0.5", (t: Tensor) => t.sub(0.5)],
    ["x * 3", (t: Tensor) => t.mul(3)],
    ["x / 4", (t: Tensor) => t.div(4)],
    ["2 - x", (t: Tensor) => T.sub(2, t)],
    ["1 / x", (t: Tensor) => T.div(1, t.abs().add(0.5))],
    ["2 ** x", (t: Tensor) => T.pow(2, t)],
    ["x ** tensor(3)", (t: Tensor) => t.abs().add(0.5).pow(T.tensor(3, { dtype: "float64" }))],
    ["maximum(x, 10) + minimum(x, -10)", (t: Tensor) => t.maximum(-10).add(t.minimum(10))],
    ["where(x > 0, x², 3x)", (t: Tensor) => T.where(t.gt(0), t.square(), t.mul(3))],
    ["where(c, 1, x)", (t: Tensor) => T.where(t.gt(0.3), 1, t)],
  ] as [string, (t: Tensor) => Tensor][])("%s", (_, f) => expectGradOk(f, [x()]));

  it("2 ** x matches 2^x ln 2", () => {
    const v = randn([4], 32);
    expectClose(grad((t: Tensor) => T.pow(2, t).sum())(v), v.toArray().map((e) => 2 ** e * Math.LN2));
  });

  it("pow with a zero base: d/db 0^b is 0 (not NaN) and d/da is finite for b > 1", () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.pow(b).sum(), { argnums: [0, 1] })(f64([0, 0]), f64([2, 3]));
    expectClose(ga, [0, 0]);
    expectClose(gb, [0, 0]);
  });
});

describe("ties in maximum / minimum split the gradient evenly", () => {
  it("maximum", () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.maximum(b).sum(), { argnums: [0, 1] })(f64([1, 2, 3]), f64([1, 0, 5]));
    expectClose(ga, [0.5, 1, 0]);
    expectClose(gb, [0.5, 0, 1]);
  });
  it("minimum", () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.minimum(b).sum(), { argnums: [0, 1] })(f64([1, 2, 3]), f64([1, 0, 5]));
    expectClose(ga, [0.5, 0, 1]);
    expectClose(gb, [0.5, 1, 0]);
  });
  it("maximum(x, x) has gradient 1 and the broadcast operand sums its shares", () => {
    const x = f64([1, 2, 3]);
    expectClose(grad((t: Tensor) => t.maximum(t).sum())(x), [1, 1, 1]);
    // b = [2] broadcast against a = [[2, 1], [3, 2]]: ties at (0,0) and (1,1), b wins at (0,1).
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.maximum(b).sum(), { argnums: [0, 1] })(f64([2, 1, 3, 2], [2, 2]), f64([2]));
    expectClose(ga, [0.5, 0, 1, 0.5]);
    expectClose(gb, [2]);
  });
});

describe("closed forms", () => {
  it("d(a·b)/da = b and d(a·b)/db = a, with the broadcast operand summed", () => {
    const a = randn([3, 4], 41);
    const b = randn([4], 42);
    const [ga, gb] = grad((x: Tensor, y: Tensor) => x.mul(y).sum(), { argnums: [0, 1] })(a, b);
    expectClose(ga, b.expand([3, 4]));
    expectClose(gb, a.sum(0));
  });
  it("d(a/b) = [1/b, -a/b²]", () => {
    const a = randn([5], 43);
    const b = positive([5], 44);
    const [ga, gb] = grad((x: Tensor, y: Tensor) => x.div(y).sum(), { argnums: [0, 1] })(a, b);
    expectClose(ga, b.reciprocal());
    expectClose(gb, a.div(b.square()).neg());
  });
  it("d(a - b) broadcast: db sums -1 over the broadcast rows", () => {
    const [ga, gb] = grad((x: Tensor, y: Tensor) => x.sub(y).sum(), { argnums: [0, 1] })(randn([3, 2], 45), randn([1, 2], 46));
    expectClose(ga, new Array(6).fill(1));
    expectClose(gb, [-3, -3]);
    expect(gb.shape).toEqual([1, 2]);
  });
  it("where routes the gradient by the condition", () => {
    const cond = T.tensor([true, false, true]);
    const [ga, gb] = grad((x: Tensor, y: Tensor) => T.where(cond, x, y).mul(f64([1, 2, 3])).sum(), { argnums: [0, 1] })(randn([3], 47), randn([3], 48));
    expectClose(ga, [1, 0, 3]);
    expectClose(gb, [0, 2, 0]);
  });
  it("where with a broadcast [1] operand collects the gradient of every picked slot", () => {
    const cond = T.tensor([[true, false], [true, true]]);
    const gb = grad((x: Tensor, y: Tensor) => T.where(cond, y, x).sum(), { argnums: 1 })(randn([2, 2], 49), randn([1], 50));
    expectClose(gb, [3]);
    expect(gb.shape).toEqual([1]);
  });
});

describe("casts", () => {
  it("float64 → float32 → float64 passes the gradient through (rounded to float32) with float64 dtype", () => {
    const x = randn([5], 51);
    const w = randn([5], 52);
    const g = grad((t: Tensor) => t.cast("float32").cast("float64").mul(w).sum())(x) as Tensor;
    expect(g.dtype).toBe("float64");
    expectClose(g, w.toArray().map(Math.fround), 1e-12);
  });
  it("float32 leaf through a float64 computation gets a float32 gradient", () => {
    const x = T.tensor([0.25, -1.5, 2]);
    const g = grad((t: Tensor) => t.cast("float64").square().sum())(x) as Tensor;
    expect(g.dtype).toBe("float32");
    expectClose(g, [0.5, -3, 4]);
  });
  it("gradcheck through a float32 segment (loose tolerance: float32 rounding)", () => {
    expectGradOk((t) => t.cast("float32").mul(3).sin().cast("float64").add(t.square()), [randn([2, 3], 53)], { eps: 1e-3, atol: 2e-3, rtol: 1e-3 });
  });
  it("mixed float32/float64 operands promote, and each input keeps its dtype in the gradient", () => {
    const a = T.tensor([1, 2, 3]);
    const b = f64([0.5, -1, 2]);
    const [, [ga, gb]] = valueAndGrad((x: Tensor, y: Tensor) => x.mul(y).sum(), { argnums: [0, 1] })(a, b);
    expect(ga.dtype).toBe("float32");
    expect(gb.dtype).toBe("float64");
    expectClose(ga, [0.5, -1, 2]);
    expectClose(gb, [1, 2, 3]);
  });
  it("a round trip through int32 cuts the gradient (zero, no error)", () => {
    const g = grad((t: Tensor) => t.cast("int32").cast("float64").mul(t).sum())(f64([1.5, 2.5]));
    expectClose(g, [1, 2]);
  });
});
