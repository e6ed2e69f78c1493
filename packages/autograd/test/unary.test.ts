import { describe, expect, it } from "vitest";
import { grad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { awayFrom, expectClose, expectGradOk, f64, positive, randn } from "./helpers.js";

const SHAPE = [3, 4];

describe("gradcheck: unary ops on normal inputs", () => {
  const cases: [string, (x: Tensor) => Tensor][] = [
    ["neg", (x) => x.neg()],
    ["exp", (x) => x.exp()],
    ["sin", (x) => x.sin()],
    ["cos", (x) => x.cos()],
    ["tanh", (x) => x.tanh()],
    ["sigmoid", (x) => x.sigmoid()],
    ["gelu (erf)", (x) => x.gelu()],
    ["gelu (erf, explicit)", (x) => T.gelu(x, "none")],
    ["gelu (tanh)", (x) => x.gelu("tanh")],
    ["silu", (x) => x.silu()],
    ["erf", (x) => x.erf()],
    ["square", (x) => x.square()],
    ["pow 2", (x) => x.pow(2)],
    ["pow 3", (x) => x.pow(3)],
    ["pow -2 (integer exponent, negative base allowed)", (x) => x.add(3).pow(-2)],
    ["function forms", (x) => T.add(T.exp(T.neg(x)), T.tanh(T.sin(x)))],
  ];
  it.each(cases)("%s", (_, f) => expectGradOk(f, [randn(SHAPE, 1)]));

  it("wide inputs (gelu/silu/sigmoid/erf tails)", () => {
    const x = randn([20], 7, 0, 4);
    expectGradOk((t) => t.gelu(), [x]);
    expectGradOk((t) => t.gelu("tanh"), [x]);
    expectGradOk((t) => t.silu(), [x]);
    expectGradOk((t) => t.sigmoid(), [x]);
    expectGradOk((t) => t.erf(), [x], { allowZeroGrad: false });
  });
});

describe("gradcheck: unary ops on restricted domains", () => {
  const pos = (): Tensor => positive(SHAPE, 2, 0.5, 2);
  const cases: [string, () => Tensor, (x: Tensor) => Tensor][] = [
    ["log", pos, (x) => x.log()],
    ["sqrt", pos, (x) => x.sqrt()],
    ["rsqrt", pos, (x) => x.rsqrt()],
    ["reciprocal (positive)", pos, (x) => x.reciprocal()],
    ["reciprocal (both signs)", () => awayFrom(SHAPE, 3, 0, 0.5), (x) => x.reciprocal()],
    ["abs", () => awayFrom(SHAPE, 4), (x) => x.abs()],
    ["relu", () => awayFrom(SHAPE, 5), (x) => x.relu()],
    ["pow 0.5", pos, (x) => x.pow(0.5)],
    ["pow 1.5", pos, (x) => x.pow(1.5)],
    ["pow -1", pos, (x) => x.pow(-1)],
    ["pow -0.5", pos, (x) => x.pow(-0.5)],
    ["pow -2.5", pos, (x) => x.pow(-2.5)],
    ["pow 1/3", pos, (x) => x.pow(1 / 3)],
    ["pow 1", pos, (x) => x.pow(1)],
    ["clamp (away from the bounds)", () => awayFrom(SHAPE, 6, 0, 0.2), (x) => x.clamp(-0.1, 0.1).add(x.clamp(-0.1))],
    ["log of sigmoid", () => randn(SHAPE, 8), (x) => x.sigmoid().log()],
  ];
  it.each(cases)("%s", (_, make, f) => expectGradOk(f, [make()]));

  it("sign has a zero gradient (away from 0)", () => {
    const x = awayFrom(SHAPE, 9);
    expectGradOk((t) => t.sign(), [x], { allowZeroGrad: true });
    expectClose(grad((t: Tensor) => t.sign().mul(t).sum())(x), x.sign());
  });

  it("pow 0 has a zero gradient", () => {
    const x = randn(SHAPE, 10);
    expectGradOk((t) => t.pow(0), [x], { allowZeroGrad: true });
    expectClose(grad((t: Tensor) => t.pow(0).sum())(x), new Array(12).fill(0));
  });
});

describe("closed forms and conventions at kinks", () => {
  it("d/dx sum(x²) = 2x, through square, pow and mul", () => {
    const x = randn([5], 11);
    const two = x.mul(2);
    expectClose(grad((t: Tensor) => t.square().sum())(x), two);
    expectClose(grad((t: Tensor) => t.pow(2).sum())(x), two);
    expectClose(grad((t: Tensor) => t.mul(t).sum())(x), two);
  });

  it("exp, log, tanh, sigmoid, sin, rsqrt match their textbook derivatives", () => {
    const x = positive([6], 12);
    const xs = x.toArray();
    const g = (f: (t: Tensor) => Tensor): number[] => grad((t: Tensor) => f(t).sum())(x).toArray();
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    expectClose(f64(g((t) => t.exp())), xs.map(Math.exp));
    expectClose(f64(g((t) => t.log())), xs.map((v) => 1 / v));
    expectClose(f64(g((t) => t.tanh())), xs.map((v) => 1 - Math.tanh(v) ** 2));
    expectClose(f64(g((t) => t.sigmoid())), xs.map((v) => sig(v) * (1 - sig(v))));
    expectClose(f64(g((t) => t.sin())), xs.map(Math.cos));
    expectClose(f64(g((t) => t.rsqrt())), xs.map((v) => -0.5 * v ** -1.5));
    expectClose(f64(g((t) => t.pow(-2.5))), xs.map((v) => -2.5 * v ** -3.5));
    expectClose(f64(g((t) => t.erf())), xs.map((v) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v)));
  });

  it("relu'(0) = 0, abs'(0) = 0, sign' = 0 (torch's conventions)", () => {
    const x = f64([-1, 0, 2]);
    expectClose(grad((t: Tensor) => t.relu().sum())(x), [0, 0, 1]);
    expectClose(grad((t: Tensor) => t.abs().sum())(x), [-1, 0, 1]);
    expectClose(grad((t: Tensor) => t.sign().sum())(x), [0, 0, 0]);
  });

  it("gradients keep the dtype of a float32 input", () => {
    const x = T.tensor([0.5, 1.5, -2]);
    const g = grad((t: Tensor) => t.exp().sum())(x) as Tensor;
    expect(g.dtype).toBe("float32");
    expectClose(g, [0.5, 1.5, -2].map(Math.exp), 1e-6);
  });

  it("result is finite and exact for gelu at 0 (both forms: 0.5)", () => {
    const x = f64([0]);
    expectClose(grad((t: Tensor) => t.gelu().sum())(x), [0.5]);
    expectClose(grad((t: Tensor) => t.gelu("tanh").sum())(x), [0.5]);
    expectClose(grad((t: Tensor) => t.silu().sum())(x), [0.5]);
  });

  it("neither sign nor int-valued ops make autograd throw", () => {
    const x = f64([1, 2]);
    expect(() => grad((t: Tensor) => t.sign().add(t.argmax().cast("float64")).sum())(x)).not.toThrow();
  });
});

describe("unary ops inside larger expressions", () => {
  it("chained unaries", () => {
    expectGradOk((x) => x.sin().exp().mul(x.tanh()).add(x.square().add(1).log()), [randn([2, 3, 2], 13)]);
  });
  it("a unary applied to a view of the input", () => {
    expectGradOk((x) => x.transpose(0, 1).sigmoid().slice(null, [0, 2]), [randn([3, 4], 14)]);
  });
  it("zero-size inputs give zero-size gradients", () => {
    const x = T.zeros([0, 3], { dtype: "float64" });
    const g = grad((t: Tensor) => t.exp().sum())(x) as Tensor;
    expect(g.shape).toEqual([0, 3]);
  });
});
