import { describe, expect, it } from "vitest";
import { grad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { distinct, expectClose, expectGradOk, f64, randn } from "./helpers.js";

const SHAPE = [2, 3, 4];
type Axes = number | number[] | undefined;
const AXES: [string, Axes][] = [
  ["all", undefined],
  ["0", 0],
  ["1", 1],
  ["-1", -1],
  ["[0, 2]", [0, 2]],
  ["[-1, -2]", [-1, -2]],
  ["[0, 1, 2]", [0, 1, 2]],
];

describe.each(AXES)("gradcheck: reductions over axes %s", (_, axes) => {
  for (const keepdim of [false, true]) {
    describe(`keepdim ${keepdim}`, () => {
      it("sum", () => expectGradOk((x) => x.sum(axes, keepdim), [randn(SHAPE, 61)]));
      it("mean", () => expectGradOk((x) => x.mean(axes, keepdim), [randn(SHAPE, 62)]));
      it("max (distinct values)", () => expectGradOk((x) => x.max(axes, keepdim), [distinct(SHAPE, 63)]));
      it("min (distinct values)", () => expectGradOk((x) => x.min(axes, keepdim), [distinct(SHAPE, 64)]));
      it("logsumexp", () => expectGradOk((x) => x.logsumexp(axes, keepdim), [randn(SHAPE, 65, 0, 3)]));
      it("variance", () => expectGradOk((x) => T.variance(x, axes, keepdim), [randn(SHAPE, 66)]));
      it("variance, correction 1", () => expectGradOk((x) => T.variance(x, axes, keepdim, 1), [randn(SHAPE, 67)]));
    });
  }
});

describe("reductions: closed forms", () => {
  it("sum and mean spread the cotangent evenly", () => {
    const x = randn([2, 3], 71);
    expectClose(grad((t: Tensor) => t.sum())(x), new Array(6).fill(1));
    expectClose(grad((t: Tensor) => t.mean())(x), new Array(6).fill(1 / 6));
    expectClose(grad((t: Tensor) => t.mean(1).mul(f64([1, 2])).sum())(x), [1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3]);
  });

  it("max and min ties split the gradient evenly", () => {
    const x = f64([1, 3, 3, 2, 3, 0, 0, 0], [2, 4]);
    expectClose(grad((t: Tensor) => t.max())(x), [0, 1 / 3, 1 / 3, 0, 1 / 3, 0, 0, 0]);
    expectClose(grad((t: Tensor) => t.max(1).sum())(x), [0, 0.5, 0.5, 0, 1, 0, 0, 0]);
    expectClose(grad((t: Tensor) => t.min(1).mul(f64([2, 3])).sum())(x), [2, 0, 0, 0, 0, 1, 1, 1]);
    expectClose(grad((t: Tensor) => t.min(0, true).sum())(x), [1, 0, 0, 0, 0, 1, 1, 1]);
    // Every element equal: each gets 1/n.
    expectClose(grad((t: Tensor) => t.max())(f64([5, 5, 5, 5])), [0.25, 0.25, 0.25, 0.25]);
  });

  it("max over several axes with a tie across them", () => {
    const x = f64([4, 1, 2, 4, 0, 1, 3, 3], [2, 2, 2]);
    // Over axes [0, 2] per middle index j: j=0 holds {4,1,0,1} → one winner, j=1 holds {2,4,3,3} → one winner.
    expectClose(grad((t: Tensor) => t.max([0, 2]).sum())(x), [1, 0, 0, 1, 0, 0, 0, 0]);
    // Over axes [1, 2] per first index: i=0 holds {4,1,2,4} → a tie.
    expectClose(grad((t: Tensor) => t.max([1, 2]).sum())(x), [0.5, 0, 0, 0.5, 0, 0, 0.5, 0.5]);
  });

  it("logsumexp's gradient is softmax", () => {
    const x = randn([2, 5], 72);
    expectClose(grad((t: Tensor) => t.logsumexp(-1).sum())(x), T.softmax(x, -1), 1e-12);
  });

  it("logsumexp with -inf entries gives them zero gradient and stays finite", () => {
    const x = f64([0, -Infinity, 1, -Infinity]);
    const e = Math.exp(1);
    expectClose(grad((t: Tensor) => t.logsumexp())(x), [1 / (1 + e), 0, e / (1 + e), 0]);
  });

  it("variance: d var / dx = 2 (x - mean) / (n - correction)", () => {
    const x = randn([6], 73);
    const mean = x.mean().item();
    const d = x.toArray().map((v) => v - mean);
    expectClose(grad((t: Tensor) => T.variance(t))(x), d.map((v) => (2 * v) / 6));
    expectClose(grad((t: Tensor) => T.variance(t, undefined, false, 1))(x), d.map((v) => (2 * v) / 5));
  });

  it("argmax / argmin give no gradient and do not break the pass", () => {
    const x = distinct([3, 4], 74);
    const g = grad((t: Tensor) => t.argmax(1).cast("float64").sum().add(t.sum()))(x);
    expectClose(g, new Array(12).fill(1));
  });
});

describe("cumsum", () => {
  it.each([0, 1, 2, -1])("gradcheck along axis %i", (axis) => expectGradOk((x) => T.cumsum(x, axis), [randn(SHAPE, 75)]));
  it("closed form: d/dx_i Σ_j w_j cumsum(x)_j = Σ_{j ≥ i} w_j", () => {
    const w = f64([1, 2, 3, 4]);
    expectClose(grad((t: Tensor) => T.cumsum(t, 0).mul(w).sum())(randn([4], 76)), [10, 9, 7, 4]);
  });
  it("of a non-contiguous view", () => expectGradOk((x) => T.cumsum(x.transpose(0, 2), 1), [randn(SHAPE, 77)]));
});

describe("reduction of views and broadcast results", () => {
  it("sum of an expanded tensor counts each element once per copy", () => {
    const g = grad((t: Tensor) => t.expand([3, 2, 4]).sum())(randn([2, 1], 78));
    expectClose(g, [12, 12]);
    expect(g.shape).toEqual([2, 1]);
  });
  it("max of a permuted slice", () => {
    expectGradOk((x) => x.permute(2, 0, 1).slice([1, 3]).max([1, 2]), [distinct(SHAPE, 79)]);
  });
});
