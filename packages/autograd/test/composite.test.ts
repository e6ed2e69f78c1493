import { describe, expect, it } from "vitest";
import { grad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { expectClose, expectGradOk, randn } from "./helpers.js";

const i32 = (values: number[], shape: number[] = [values.length]): Tensor => T.tensor(Int32Array.from(values), { shape });

describe("softmax and logSoftmax", () => {
  it.each([-1, 0, 1])("softmax along axis %i", (axis) => expectGradOk((x) => T.softmax(x, axis), [randn([2, 3, 4], 171, 0, 2)]));
  it.each([-1, 0, 1])("logSoftmax along axis %i", (axis) => expectGradOk((x) => T.logSoftmax(x, axis), [randn([2, 3, 4], 172, 0, 2)]));
  it("method forms on large logits (the max shift must not leak into the gradient)", () => {
    expectGradOk((x) => x.softmax().add(x.logSoftmax(0)), [randn([3, 5], 173, 50, 3)]);
  });
  it("closed form: softmax Jacobian-vector product s ⊙ (v - s·v)", () => {
    const x = randn([5], 174);
    const v = randn([5], 175);
    const s = T.softmax(x).toArray();
    const vs = v.toArray();
    const dot = s.reduce((acc, si, i) => acc + si * vs[i]!, 0);
    expectClose(grad((t: Tensor) => T.softmax(t).mul(v).sum())(x), s.map((si, i) => si * (vs[i]! - dot)));
  });
});

describe("crossEntropy", () => {
  const logits = (): Tensor => randn([4, 5], 181, 0, 2);
  const targets = i32([1, 0, 4, 2]);
  it.each(["mean", "sum", "none"] as const)("gradcheck, reduction %s", (reduction) => {
    expectGradOk((x) => T.crossEntropy(x, targets, { reduction }), [logits()]);
  });
  it.each(["mean", "sum", "none"] as const)("gradcheck with ignored targets (default -100 and a custom index), reduction %s", (reduction) => {
    expectGradOk((x) => T.crossEntropy(x, i32([1, -100, 4, -100]), { reduction }), [logits()]);
    expectGradOk((x) => T.crossEntropy(x, i32([3, 3, 1, 0]), { reduction, ignoreIndex: 3 }), [logits()]);
  });
  it("gradcheck over a [B, T, C] batch", () => {
    expectGradOk((x) => T.crossEntropy(x, i32([0, 2, 1, 2, 2, 0], [2, 3])), [randn([2, 3, 3], 182)]);
  });

  it("closed form: mean CE gradient = (softmax - onehot) / #valid, zero on ignored rows", () => {
    const x = logits();
    const t = i32([1, -100, 4, 2]);
    const g = grad((l: Tensor) => T.crossEntropy(l, t))(x) as Tensor;
    const s = T.softmax(x, -1).toArray();
    const expected = s.map((v, i) => {
      const [row, col] = [Math.floor(i / 5), i % 5];
      const target = t.toArray()[row]!;
      if (target === -100) return 0;
      return (v - (col === target ? 1 : 0)) / 3;
    });
    expectClose(g, expected);
    expect(g.toArray().slice(5, 10)).toEqual([0, 0, 0, 0, 0]);
  });

  it("closed form: sum CE gradient = softmax - onehot", () => {
    const x = logits();
    const g = grad((l: Tensor) => T.crossEntropy(l, targets, { reduction: "sum" }))(x);
    expectClose(g, T.softmax(x, -1).sub(T.oneHot(targets, 5, "float64")));
  });
});

describe("layerNorm and rmsNorm", () => {
  it("layerNorm without weight and bias", () => expectGradOk((x) => T.layerNorm(x), [randn([3, 5], 191)]));
  it("layerNorm with weight and bias", () => {
    expectGradOk((x, w, b) => T.layerNorm(x, w, b), [randn([2, 3, 5], 192), randn([5], 193, 1, 0.5), randn([5], 194)]);
  });
  it("layerNorm with weight only", () => expectGradOk((x, w) => T.layerNorm(x, w), [randn([3, 4], 195), randn([4], 196)]));
  it("layerNorm over two trailing dims (2-D weight)", () => {
    expectGradOk((x, w, b) => T.layerNorm(x, w, b), [randn([2, 3, 4], 197), randn([3, 4], 198), randn([3, 4], 199)]);
  });
  it("layerNorm with a large eps (eps enters the gradient)", () => {
    expectGradOk((x) => T.layerNorm(x, undefined, undefined, 0.5), [randn([3, 4], 200)]);
  });
  it("rmsNorm without and with weight", () => {
    expectGradOk((x) => T.rmsNorm(x), [randn([3, 5], 201)]);
    expectGradOk((x, w) => T.rmsNorm(x, w), [randn([2, 3, 5], 202), randn([5], 203)]);
  });
  it("closed form: layerNorm output sums to zero along the axis, so the gradient of Σ LN(x) is 0", () => {
    const g = grad((x: Tensor) => T.layerNorm(x).sum())(randn([3, 6], 204));
    expectClose(g, new Array(18).fill(0), 1e-12);
  });
  it("closed form: d/dw Σ LN(x)·w = Σ over rows of LN(x); d/db = row count", () => {
    const x = randn([4, 3], 205);
    const [gw, gb] = grad((w: Tensor, b: Tensor) => T.layerNorm(x, w, b).sum(), { argnums: [0, 1] })(randn([3], 206), randn([3], 207));
    expectClose(gw, T.layerNorm(x).sum(0));
    expectClose(gb, [4, 4, 4]);
  });
});

describe("scaledDotProductAttention", () => {
  const qkv = (b: number, hq: number, hkv: number, tq: number, tk: number, d: number, seed: number): Tensor[] => [
    randn([b, hq, tq, d], seed),
    randn([b, hkv, tk, d], seed + 1),
    randn([b, hkv, tk, d], seed + 2),
  ];
  it("causal", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v), qkv(2, 2, 2, 3, 3, 4, 211)));
  it("non-causal", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: false }), qkv(1, 2, 2, 3, 3, 4, 214)));
  it("GQA, Hq = 4 and Hkv = 2, causal", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v), qkv(1, 4, 2, 3, 3, 2, 217)));
  it("GQA, Hq = 4 and Hkv = 2, non-causal", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: false }), qkv(1, 4, 2, 2, 3, 2, 220)));
  it("Tq < Tk, causal (queries are the last positions)", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v), qkv(1, 2, 1, 2, 5, 3, 223)));
  it("Tq < Tk, non-causal", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: false }), qkv(1, 2, 2, 2, 4, 3, 226)));
  it("custom scale", () => expectGradOk((q, k, v) => T.scaledDotProductAttention(q, k, v, { scale: 0.3 }), qkv(1, 1, 1, 3, 3, 2, 229)));
  it("closed form: causal attention's first query only sees the first key, so its output is v₀ and ∂/∂v₀ carries it", () => {
    const [q, k, v] = qkv(1, 1, 1, 3, 3, 2, 232);
    const w = T.zeros([1, 1, 3, 2], { dtype: "float64" }).add(T.tensor([[1, 0], [0, 0], [0, 0]], { dtype: "float64" }));
    const [gq, gk, gv] = grad((a: Tensor, b: Tensor, c: Tensor) => T.scaledDotProductAttention(a, b, c).mul(w).sum(), { argnums: [0, 1, 2] })(q!, k!, v!);
    expectClose(gq, new Array(6).fill(0));
    expectClose(gk, new Array(6).fill(0));
    expectClose(gv, [1, 0, 0, 0, 0, 0]);
  });
});
