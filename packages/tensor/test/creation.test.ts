import { describe, expect, it } from "vitest";
import { arange, eye, fromTypedArray, full, fullLike, ones, onesLike, tensor, zeros, zerosLike } from "@equigrad/tensor";
import { expectExact, expectOpError, expectTensor } from "./helpers.js";

describe("tensor()", () => {
  it("infers shape and dtype from nested arrays", () => {
    expectTensor(tensor([[1, 2, 3], [4, 5, 6]]), [2, 3], "float32", [1, 2, 3, 4, 5, 6]);
    expectTensor(tensor([[true], [false]]), [2, 1], "bool", [1, 0]);
    expectTensor(tensor(2.5), [], "float32", [2.5]);
    expectTensor(tensor([]), [0], "float32", []);
    expect(tensor([[1, 2], [3, 4]]).tolist()).toEqual([[1, 2], [3, 4]]);
    expect(tensor([true, false]).tolist()).toEqual([true, false]);
    expect(tensor(7).tolist()).toBe(7);
  });

  it("rounds to the requested dtype", () => {
    expectTensor(tensor([0.1, 1 / 3]), [2], "float32", [Math.fround(0.1), Math.fround(1 / 3)]);
    expectTensor(tensor([0.1], { dtype: "float64" }), [1], "float64", [0.1]);
    expectTensor(tensor([2.7, -2.7], { dtype: "int32" }), [2], "int32", [2, -2]);
    expectTensor(tensor([0, 2, -1], { dtype: "bool" }), [3], "bool", [0, 1, 1]);
  });

  it("typed arrays pick the dtype and take an optional shape", () => {
    expectTensor(tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }), [2, 2], "int32", [1, 2, 3, 4]);
    expectTensor(tensor(new Float64Array([0.1])), [1], "float64", [0.1]);
    expectTensor(tensor(new Float32Array([1.5, 2])), [2], "float32", [1.5, 2]);
    expectTensor(fromTypedArray(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2], "float64"), [3, 2], "float64", [1, 2, 3, 4, 5, 6]);
  });

  it("rejects ragged arrays and mismatched shapes", () => {
    expectOpError(() => tensor([[1, 2], [3]]), "tensor", "ragged");
    expectOpError(() => tensor([1, [2]] as never), "tensor", "ragged");
    expectOpError(() => tensor(new Float32Array(5), { shape: [2, 3] }), "constant", "[2, 3]");
  });

  it("does not alias the caller's array", () => {
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 99;
    expectExact(t, [1, 2]);
  });
});

describe("arange", () => {
  it("integer ranges are int32", () => {
    expectTensor(arange(5), [5], "int32", [0, 1, 2, 3, 4]);
    expectTensor(arange(2, 8, 2), [3], "int32", [2, 4, 6]);
    expectTensor(arange(2, 9, 3), [3], "int32", [2, 5, 8]);
    expectTensor(arange(5, 0, -2), [3], "int32", [5, 3, 1]);
    expectTensor(arange(-3, 0), [3], "int32", [-3, -2, -1]);
    expectTensor(arange(5, 2), [0], "int32", []);
    expectTensor(arange(0), [0], "int32", []);
  });

  it("fractional ranges are float32; dtype can be given", () => {
    expectTensor(arange(0, 1, 0.25), [4], "float32", [0, 0.25, 0.5, 0.75]);
    expectTensor(arange(0, 0.3, 0.1), [3], "float32", [0, Math.fround(0.1), Math.fround(0.2)]);
    expectTensor(arange(1.5, 4), [3], "float32", [1.5, 2.5, 3.5]);
    expectTensor(arange(0, 3, 1, { dtype: "float64" }), [3], "float64", [0, 1, 2]);
    expectTensor(arange(1, -1, -0.5, { dtype: "float64" }), [4], "float64", [1, 0.5, 0, -0.5]);
  });

  it("step 0 is an error", () => {
    expectOpError(() => arange(0, 3, 0), "arange", "step");
  });
});

describe("zeros / ones / full / *Like / eye", () => {
  it("fill with the value in the requested dtype", () => {
    expectTensor(zeros([2, 3]), [2, 3], "float32", [0, 0, 0, 0, 0, 0]);
    expectTensor(ones([3], { dtype: "int32" }), [3], "int32", [1, 1, 1]);
    expectTensor(full([2, 2], 0.1, { dtype: "float64" }), [2, 2], "float64", [0.1, 0.1, 0.1, 0.1]);
    expectTensor(full([2], 0.1), [2], "float32", [Math.fround(0.1), Math.fround(0.1)]);
    expectTensor(full([2], 3.9, { dtype: "int32" }), [2], "int32", [3, 3]);
    expectTensor(full([2], true), [2], "bool", [1, 1]);
    expectTensor(full([], -Infinity), [], "float32", [-Infinity]);
    expectTensor(zeros([0, 4]), [0, 4], "float32", []);
    expectTensor(ones([]), [], "float32", [1]);
  });

  it("*Like copy shape and dtype", () => {
    const x = tensor([[1, 2, 3]], { dtype: "int32" });
    expectTensor(zerosLike(x), [1, 3], "int32", [0, 0, 0]);
    expectTensor(onesLike(x), [1, 3], "int32", [1, 1, 1]);
    expectTensor(fullLike(x, 7), [1, 3], "int32", [7, 7, 7]);
  });

  it("eye", () => {
    expectTensor(eye(3), [3, 3], "float32", [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expectTensor(eye(2, 3), [2, 3], "float32", [1, 0, 0, 0, 1, 0]);
    expectTensor(eye(3, 2, { dtype: "int32" }), [3, 2], "int32", [1, 0, 0, 1, 0, 0]);
    expectTensor(eye(0), [0, 0], "float32", []);
  });

  it("invalid shapes throw", () => {
    expectOpError(() => zeros([2, -1]), "full", "[2, -1]");
    expectOpError(() => full([1.5], 0), "full", "[1.5]");
  });
});
