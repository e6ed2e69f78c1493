import { describe, expect, it } from "vitest";
import { grad, valueAndGrad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import { memoryStats, type Tensor } from "@equigrad/tensor";
import { awayFrom, distinct, expectClose, expectGradOk, f64, positive, randn } from "./helpers.js";

const i32 = (values: number[], shape: number[] = [values.length]): Tensor => T.tensor(Int32Array.from(values), { shape });
/** x ↦ d/dx Σ f(x) (elementwise second derivatives come out of this twice). */
const d = (f: (t: Tensor) => Tensor) => (x: Tensor): Tensor => grad((t: Tensor) => f(t).sum())(x);

describe("closed-form higher derivatives", () => {
  const x = f64([-1.3, -0.2, 0.4, 1.7]);
  const xs = x.toArray();

  it("d²/dx² x³ = 6x and d³/dx³ x³ = 6", () => {
    const cube = (t: Tensor): Tensor => t.pow(3);
    expectClose(d(d(cube))(x), xs.map((v) => 6 * v));
    expectClose(d(d(d(cube)))(x), [6, 6, 6, 6]);
    // Through mul instead of pow_scalar.
    expectClose(d(d((t) => t.mul(t).mul(t)))(x), xs.map((v) => 6 * v));
  });

  it("sin'' = -sin, sin''' = -cos, sin'''' = sin", () => {
    const sin = (t: Tensor): Tensor => t.sin();
    expectClose(d(d(sin))(x), xs.map((v) => -Math.sin(v)));
    expectClose(d(d(d(sin)))(x), xs.map((v) => -Math.cos(v)));
    expectClose(d(d(d(d(sin))))(x), xs.map(Math.sin));
  });

  it("exp'' = exp, tanh'' = -2 tanh (1 - tanh²), log'' = -1/x², sqrt'' = -x^(-3/2)/4", () => {
    expectClose(d(d((t) => t.exp()))(x), xs.map(Math.exp));
    expectClose(d(d((t) => t.tanh()))(x), xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)));
    const p = positive([4], 501);
    const ps = p.toArray();
    expectClose(d(d((t) => t.log()))(p), ps.map((v) => -1 / v ** 2));
    expectClose(d(d((t) => t.sqrt()))(p), ps.map((v) => -0.25 * v ** -1.5));
  });

  it("mixed partials: ∂/∂x ∂/∂y (x·y²) = 2y, in both orders", () => {
    const xv = f64([1.5, -2]);
    const yv = f64([0.5, 3]);
    const dxdy = grad((a: Tensor) => grad((b: Tensor) => a.mul(b.square()).sum())(yv).sum())(xv);
    expectClose(dxdy, [1, 6]);
    const dydx = grad((b: Tensor) => grad((a: Tensor) => a.mul(b.square()).sum())(xv).sum())(yv);
    // ∂/∂y Σ_i ∂/∂x_i (x·y²) = ∂/∂y Σ y² = 2y as well.
    expectClose(dydx, [1, 6]);
  });

  it("Hessian-vector product of Σx³ + (Σx)² is 6x⊙v + 2(Σv)", () => {
    const v = f64([0.5, -1, 2, 0.25]);
    const f = (t: Tensor): Tensor => t.pow(3).sum().add(t.sum().square());
    const hv = grad((t: Tensor) => (grad(f)(t) as Tensor).mul(v).sum())(x);
    const sv = v.toArray().reduce((a, b) => a + b, 0);
    expectClose(hv, xs.map((xi, i) => 6 * xi * v.toArray()[i]! + 2 * sv));
  });

  it("valueAndGrad inside a grad: the outer sees through the inner's value and gradient", () => {
    const g = grad((t: Tensor) => {
      const [value, gi] = valueAndGrad((u: Tensor) => u.pow(3).sum())(t);
      return value.add((gi as Tensor).sum());
    })(x);
    // d/dx [Σx³ + Σ3x²] = 3x² + 6x
    expectClose(g, xs.map((v) => 3 * v * v + 6 * v));
  });
});

describe("gradcheck of first-order gradients (every rule's VJP is itself differentiable)", () => {
  const w = (shape: readonly number[], seed: number): Tensor => randn(shape, seed);
  /** x ↦ ∂/∂x Σ w ⊙ f(x), for a fixed random w. */
  const gradOf = (f: (...t: Tensor[]) => Tensor, seed: number, argnum = 0) => (...xs: Tensor[]): Tensor =>
    grad((...t: Tensor[]) => {
      const y = f(...t);
      return y.mul(w(y.shape, seed)).sum();
    }, { argnums: argnum })(...xs);

  const unaryCases: [string, () => Tensor, (t: Tensor) => Tensor][] = [
    ["exp", () => randn([5], 511), (t) => t.exp()],
    ["log", () => positive([5], 512), (t) => t.log()],
    ["sqrt", () => positive([5], 513), (t) => t.sqrt()],
    ["rsqrt", () => positive([5], 514), (t) => t.rsqrt()],
    ["reciprocal", () => positive([5], 515), (t) => t.reciprocal()],
    ["sin", () => randn([5], 516), (t) => t.sin()],
    ["cos", () => randn([5], 517), (t) => t.cos()],
    ["tanh", () => randn([5], 518), (t) => t.tanh()],
    ["sigmoid", () => randn([5], 519), (t) => t.sigmoid()],
    ["gelu erf", () => randn([5], 520), (t) => t.gelu()],
    ["gelu tanh", () => randn([5], 521), (t) => t.gelu("tanh")],
    ["silu", () => randn([5], 522), (t) => t.silu()],
    ["erf", () => randn([5], 523), (t) => t.erf()],
    ["square", () => randn([5], 524), (t) => t.square()],
    ["pow -1.5", () => positive([5], 525), (t) => t.pow(-1.5)],
    ["abs · x", () => awayFrom([5], 526), (t) => t.abs().mul(t)],
    ["relu · x", () => awayFrom([5], 527), (t) => t.relu().mul(t)],
    ["logsumexp", () => randn([2, 4], 528), (t) => t.logsumexp(-1)],
    ["softmax", () => randn([2, 4], 529), (t) => T.softmax(t, -1)],
    ["logSoftmax", () => randn([2, 4], 530), (t) => T.logSoftmax(t, 0)],
    ["max (distinct) · x", () => distinct([3, 4], 531), (t) => t.max(1, true).mul(t)],
    ["min (distinct) squared", () => distinct([3, 4], 532), (t) => t.min(0).square()],
    ["cumsum squared", () => randn([2, 3], 533), (t) => T.cumsum(t, 1).square()],
    ["slice with negative step, squared", () => randn([5, 4], 534), (t) => t.slice([undefined, undefined, -2], 1).square()],
    ["flip + pad + concat", () => randn([2, 3], 535), (t) => T.concat([T.pad(t.flip(1), [[0, 1], [0, 0]]), t], 0).square()],
    ["gather squared", () => randn([3, 2], 536), (t) => T.gather(t, i32([2, 2, 0, 1], [2, 2]), 0).square()],
    ["indexSelect · sin", () => randn([4, 2], 537), (t) => T.indexSelect(t, i32([3, 3, 1]), 0).sin()],
    ["variance", () => randn([3, 4], 538), (t) => T.variance(t, -1)],
    ["layerNorm", () => randn([2, 5], 539), (t) => T.layerNorm(t)],
    ["rmsNorm", () => randn([2, 5], 540), (t) => T.rmsNorm(t)],
    ["crossEntropy", () => randn([3, 4], 541), (t) => T.crossEntropy(t, i32([0, 3, -100]))],
    ["where on x", () => awayFrom([6], 542), (t) => T.where(t.gt(0), t.exp(), t.square())],
    ["maximum(x², 1) (no ties)", () => f64([0.2, 1.5, -0.5, -2]), (t) => t.square().maximum(1).mul(t)],
    ["matmul with itself", () => randn([3, 3], 543), (t) => t.matmul(t.transpose()).sin()],
    ["tril", () => randn([3, 3], 544), (t) => T.tril(t).square()],
  ];
  it.each(unaryCases)("%s", (_, make, f) => expectGradOk(gradOf(f, 550), [make()]));

  it("binary ops with broadcasting, w.r.t. each argument", () => {
    const a = randn([3, 1], 551);
    const b = awayFrom([4], 552, 0, 0.5);
    const p = positive([3, 1], 553);
    for (const argnum of [0, 1]) {
      expectGradOk(gradOf((x, y) => x.mul(y).sin(), 554, argnum), [a, b]);
      // ∂/∂x of x/y is 1/y, constant in x: its own x-derivative is genuinely zero.
      expectGradOk(gradOf((x, y) => x.div(y), 555, argnum), [a, b], { allowZeroGrad: argnum === 0 });
      expectGradOk(gradOf((x, y) => x.pow(y), 556, argnum), [p, b]);
      expectGradOk(gradOf((x, y) => x.sub(y).square(), 557, argnum), [a, b]);
      expectGradOk(gradOf((x, y) => x.matmul(y.reshape(1, 4)).tanh(), 558, argnum), [a, b]);
    }
  });

  it("attention w.r.t. q, k and v", () => {
    const [q, k, v] = [randn([1, 2, 2, 2], 561), randn([1, 1, 3, 2], 562), randn([1, 1, 3, 2], 563)];
    // The output is linear in v: ∂/∂v does not depend on v (a zero second derivative there).
    for (const argnum of [0, 1, 2]) expectGradOk(gradOf((a, b, c) => T.scaledDotProductAttention(a, b, c), 564, argnum), [q, k, v], { allowZeroGrad: argnum === 2 });
  });

  it("scatterAdd w.r.t. base and source", () => {
    const idx = i32([1, 1, 0], [3, 1]);
    for (const argnum of [0, 1]) expectGradOk(gradOf((b, s) => T.scatterAdd(b, idx, s, 0).square(), 565, argnum), [randn([2, 1], 566), randn([3, 1], 567)]);
  });

  it("repeated grad-of-grad leaves no buffers behind", () => {
    const x = randn([4], 571);
    const f = d(d((t) => t.sin().mul(t.exp())));
    f(x).dispose();
    const before = memoryStats().liveBuffers;
    for (let i = 0; i < 20; i++) f(x).dispose();
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
