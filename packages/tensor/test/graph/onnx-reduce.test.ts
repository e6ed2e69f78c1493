import { describe, it } from "vitest";
import type { DType } from "@equigrad/tensor";
import { checkOp, meta } from "./onnx-helpers.js";

// Reductions (dims kept), arg-reductions and cumsum in ORT vs the reference backend.

describe("onnx: sum/max/min", () => {
  const cases: [number[], number[]][] = [[[3, 4], [1]], [[3, 4], [0]], [[2, 3, 4], [0, 2]], [[2, 3, 4], [0, 1, 2]], [[2, 1, 4], [1]], [[5], [0]], [[2, 3], []], [[], []]];
  for (const op of ["sum", "max", "min"] as const) {
    for (const dtype of ["float32", "float64", "int32"] as DType[]) {
      it(`${op} ${dtype}`, async () => {
        for (const [shape, axes] of cases) await checkOp({ op, axes }, [meta(shape, dtype)], { lo: -9, hi: 9, scale: 4 });
      });
    }
  }
  it("sum of bool counts as int32", async () => {
    await checkOp({ op: "sum", axes: [1] }, [meta([3, 5], "bool")]);
    await checkOp({ op: "sum", axes: [] }, [meta([3, 5], "bool")]);
  });
  it("max/min propagate NaN (torch semantics; ORT's kernels skip it) and keep ±∞", async () => {
    const x = Float32Array.of(1, NaN, 3, 2, 5, -Infinity, Infinity, 0, NaN, NaN, 1, 2);
    for (const op of ["max", "min"] as const) {
      await checkOp({ op, axes: [1] }, [meta([3, 4])], { data: [x] });
      await checkOp({ op, axes: [0] }, [meta([3, 4])], { data: [x] });
      await checkOp({ op, axes: [0, 1] }, [meta([3, 4], "float64")], { data: [Float64Array.from(x)] });
    }
  });
  it("sum over an empty axis is 0", async () => {
    await checkOp({ op: "sum", axes: [1] }, [meta([3, 0], "float32")]);
    await checkOp({ op: "sum", axes: [0] }, [meta([0, 2], "int32")]);
  });
});

describe("onnx: argmax/argmin", () => {
  for (const op of ["argmax", "argmin"] as const) {
    for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
      it(`${op} ${dtype} (ties pick the first)`, async () => {
        // Values from {-1, 0, 1}: ties everywhere.
        for (const [shape, axis] of [[[4, 6], 1], [[4, 6], 0], [[2, 3, 5], 1], [[7], 0], [[3, 1], 1]] as [number[], number][]) {
          await checkOp({ op, axis }, [meta(shape, dtype)], { lo: -1, hi: 2 });
        }
      });
    }
  }
});

describe("onnx: arg-reductions with NaN", () => {
  it("the first NaN is both the argmax and the argmin", async () => {
    const x = Float32Array.of(1, NaN, 3, NaN, 5, Infinity, -Infinity, 0, 2, 2, 1, NaN);
    for (const op of ["argmax", "argmin"] as const) {
      await checkOp({ op, axis: 1 }, [meta([3, 4])], { data: [x] });
      await checkOp({ op, axis: 0 }, [meta([3, 4])], { data: [x] });
    }
  });
});

describe("onnx: cumsum", () => {
  for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
    it(`cumsum ${dtype}`, async () => {
      for (const [shape, axis] of [[[3, 5], 1], [[3, 5], 0], [[2, 3, 4], 1], [[6], 0], [[2, 0], 1]] as [number[], number][]) {
        await checkOp({ op: "cumsum", axis }, [meta(shape, dtype)], { lo: -5, hi: 5, scale: 4 });
      }
    });
  }
});
