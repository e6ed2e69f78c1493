import { describe, expect, it } from "vitest";
import {
  OpError, add, argmax, concat, crossEntropy, eq, expand, gather, indexSelect, layerNorm, logicalAnd, logicalNot, matmul, mul, neg, oneHot, pad,
  permute, rmsNorm, scaledDotProductAttention, scatterAdd, split, squeeze, stack, sum, tensor, tril, where, zeros,
} from "@equigrad/tensor";
import { expectOpError, mk } from "./helpers.js";

const z = (...shape: number[]) => zeros(shape);
const zi = (...shape: number[]) => zeros(shape, { dtype: "int32" });

describe("shape errors name the op and the shapes", () => {
  it("broadcasting binary ops", () => {
    expectOpError(() => add(z(2, 3), z(4, 3)), "add", "[2, 3]", "[4, 3]");
    expectOpError(() => z(2, 3).mul(z(2)), "mul", "[2, 3]", "[2]");
    expectOpError(() => mul(z(5), z(0)), "mul", "[5]", "[0]");
    expectOpError(() => eq(z(3, 1, 2), z(4, 3)), "eq", "[3, 1, 2]", "[4, 3]");
    expectOpError(() => where(zeros([2], { dtype: "bool" }), z(3), 0), "where", "[2]", "[3]");
  });

  it("matmul", () => {
    expectOpError(() => matmul(z(2, 3), z(4, 5)), "matmul", "[2, 3]", "[4, 5]");
    expectOpError(() => z(3).matmul(z(4)), "matmul", "[3]", "[4]");
    expectOpError(() => matmul(z(2, 3, 4), z(3, 4, 5)), "matmul", "[2, 3, 4]", "[3, 4, 5]");
    expectOpError(() => matmul(tensor(1), z(2)), "matmul", "[]", "[2]");
  });

  it("where with a non-bool condition", () => {
    expectOpError(() => where(z(2, 3), z(2, 3), 0), "where", "float32", "[2, 3]", "bool");
    expectOpError(() => where(zi(2), 1, z(2)), "where", "int32", "[2]");
  });

  it("gather / scatterAdd / indexSelect / oneHot indices", () => {
    expectOpError(() => gather(z(3, 4), z(3, 1), 1), "gather", "float32", "[3, 1]", "[3, 4]");
    expectOpError(() => z(3, 4).gather(zi(3), 0), "gather", "[3]", "[3, 4]");
    expectOpError(() => gather(z(3, 4), zi(4, 1), 1), "gather", "[4, 1]", "[3, 4]");
    expectOpError(() => gather(z(3, 4), mk([0, 4], [2, 1], "int32"), 1), "gather", "index 4", "out of range");
    expectOpError(() => scatterAdd(z(3), z(2), z(2), 0), "scatterAdd", "float32", "[2]", "[3]");
    expectOpError(() => scatterAdd(z(3), zi(2), z(3), 0), "scatter_add", "[2]", "[3]");
    expectOpError(() => indexSelect(z(5, 2), z(3), 0), "indexSelect", "float32", "[3]", "[5, 2]");
    expectOpError(() => oneHot(z(3), 4), "oneHot", "float32", "[3]");
  });

  it("concat / stack / split", () => {
    expectOpError(() => concat([z(2, 3), z(2, 4)], 0), "concat", "[2, 3]", "[2, 4]");
    expectOpError(() => concat([z(2, 3), z(2)], 0), "concat", "[2, 3]", "[2]");
    expectOpError(() => concat([z(2), zi(2)]), "concat", "float32", "int32");
    expectOpError(() => concat([]), "concat");
    expectOpError(() => concat([tensor(1), tensor(2)]), "concat", "zero-dimensional");
    expectOpError(() => stack([z(2, 3), z(3, 2)]), "stack", "[2, 3]", "[3, 2]");
    expectOpError(() => split(z(5, 2), 2, 0), "split", "[5, 2]");
    expectOpError(() => split(z(5, 2), [2, 2], 0), "split", "[5, 2]");
  });

  it("reshape and other view ops", () => {
    expectOpError(() => z(2, 3).reshape(4, 2), "reshape", "[2, 3]", "[4, 2]");
    expectOpError(() => z(2, 3).reshape(-1, 4), "reshape", "[2, 3]", "[-1, 4]");
    expectOpError(() => z(2, 3).reshape(-1, -1), "reshape", "[-1, -1]");
    expectOpError(() => z(6).reshape(-2, -3), "reshape", "[6]", "[-2, -3]");
    expectOpError(() => permute(z(2, 3), [0, 0]), "permute", "[0,0]", "[2, 3]");
    expectOpError(() => z(2, 3).permute(0), "permute", "[2, 3]");
    expectOpError(() => expand(z(2, 3), [4, 3]), "expand", "[2, 3]", "[4, 3]");
    expectOpError(() => z(3).expand(-1, 3), "expand", "[3]", "[-1, 3]");
    expectOpError(() => z(2, 3).expand(3), "expand", "[2, 3]", "[3]");
    expectOpError(() => squeeze(z(2, 1), 0), "squeeze", "[2, 1]");
    expectOpError(() => z(2, 3).transpose(0, 2), "transpose", "axis 2");
    expectOpError(() => pad(z(2), [[-1, 0]]), "pad", "[2]");
    expectOpError(() => pad(z(2), [[0, 0], [1, 1]]), "pad", "[2]");
    expectOpError(() => tril(z(3)), "tril", "[3]");
  });

  it("slice", () => {
    expectOpError(() => z(3, 4).slice(5), "slice", "index 5", "axis 0", "[3, 4]");
    expectOpError(() => z(3, 4).slice(null, -5), "slice", "index -5", "axis 1", "[3, 4]");
    expectOpError(() => z(3, 4).slice([0, 2, 0]), "slice", "step");
    expectOpError(() => z(3, 4).slice(0, 0, 0), "slice", "[3, 4]");
  });

  it("axes", () => {
    expectOpError(() => sum(z(2, 3, 4), 3), "sum", "axis 3", "rank 3");
    expectOpError(() => z(2, 3).mean(-3), "mean", "axis -3");
    expectOpError(() => z(2, 3).sum([0, -2]), "sum", "repeated");
    expectOpError(() => argmax(z(2, 3), undefined, true), "argmax", "keepdim");
    expectOpError(() => z(2).item(), "item", "[2]");
  });
});

describe("dtype errors", () => {
  it("ops that need particular dtypes", () => {
    expectOpError(() => neg(zeros([2], { dtype: "bool" })), "neg", "bool", "[2]");
    expectOpError(() => logicalAnd(z(2), z(2)), "logical_and", "float32");
    expectOpError(() => logicalNot(zi(2)), "logical_not", "int32");
    expectOpError(() => zeros([2], { dtype: "bool" }).max(), "max", "bool");
    expectOpError(() => add(1 as never, 2 as never), "add", "tensor");
  });
});

describe("composite op errors", () => {
  it("crossEntropy with mismatched or non-int targets", () => {
    expectOpError(() => crossEntropy(z(4, 5), zi(3)), "crossEntropy", "[4, 5]", "[3]");
    expectOpError(() => crossEntropy(z(2, 3, 5), zi(3, 2)), "crossEntropy", "[2, 3, 5]", "[3, 2]");
    expectOpError(() => crossEntropy(z(4, 5), z(4)), "crossEntropy", "float32", "[4]", "[4, 5]");
  });

  it("attention with bad head counts or shapes", () => {
    expectOpError(() => scaledDotProductAttention(z(1, 3, 2, 4), z(1, 2, 2, 4), z(1, 2, 2, 4)), "attention", "3", "2", "[1, 3, 2, 4]", "[1, 2, 2, 4]");
    expectOpError(() => scaledDotProductAttention(z(3, 2, 4), z(3, 2, 4), z(3, 2, 4)), "attention", "[3, 2, 4]");
    expectOpError(() => scaledDotProductAttention(z(1, 2, 2, 4), z(1, 2, 2, 3), z(1, 2, 2, 3)), "attention", "[1, 2, 2, 4]", "[1, 2, 2, 3]");
    expectOpError(() => scaledDotProductAttention(z(1, 2, 2, 4), z(1, 2, 3, 4), z(1, 2, 2, 4)), "attention", "[1, 2, 3, 4]", "[1, 2, 2, 4]");
    expectOpError(() => scaledDotProductAttention(z(1, 1, 4, 2), z(1, 1, 3, 2), z(1, 1, 3, 2)), "attention", "4", "3");
  });

  it("norms with a weight that does not match the trailing dims", () => {
    expectOpError(() => layerNorm(z(2, 3), z(4)), "layerNorm", "[4]", "[2, 3]");
    expectOpError(() => rmsNorm(z(2, 3), z(2, 3, 1)), "rmsNorm", "[2, 3, 1]", "[2, 3]");
  });

  it("errors are OpError instances with the name OpError", () => {
    try {
      add(z(2), z(3));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OpError);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).name).toBe("OpError");
    }
  });
});
