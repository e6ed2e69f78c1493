import { describe, it } from "vitest";
import type { DType } from "@equigrad/tensor";
import { checkOp, meta, randomData, rng } from "./onnx-helpers.js";

// Matmul, concat, gather/scatter_add, pad and the view ops in ORT vs the reference backend.

describe("onnx: matmul", () => {
  const cases: [number[], number[]][] = [[[3, 4], [4, 5]], [[2, 3, 4], [4, 2]], [[2, 1, 3, 4], [5, 4, 6]], [[1, 4], [4, 1]], [[3, 0], [0, 2]], [[2, 3, 4], [2, 4, 5]]];
  for (const dtype of ["float32", "float64", "int32"] as DType[]) {
    it(`batched, broadcast ${dtype}`, async () => {
      for (const [a, b] of cases) await checkOp({ op: "matmul" }, [meta(a, dtype), meta(b, dtype)], { lo: -3, hi: 3, scale: 8 });
    });
  }
});

describe("onnx: concat", () => {
  for (const dtype of ["float32", "int32", "bool"] as DType[]) {
    it(`concat ${dtype}`, async () => {
      await checkOp({ op: "concat", axis: 1 }, [meta([2, 3], dtype), meta([2, 1], dtype), meta([2, 0], dtype)]);
      await checkOp({ op: "concat", axis: 0 }, [meta([1, 3], dtype), meta([2, 3], dtype)]);
      await checkOp({ op: "concat", axis: 2 }, [meta([2, 2, 1], dtype)]);
    });
  }
});

/** Int32 indices in [0, n). */
const indices = (count: number, n: number, seed: number) => {
  const r = rng(seed);
  return Int32Array.from({ length: count }, () => Math.floor(r() * n));
};

const randomOf = (m: ReturnType<typeof meta>, r: () => number) => randomData(m, r, -3, 3);

describe("onnx: gather and scatter_add", () => {
  it("gather along each axis, indices smaller than the data off the axis", async () => {
    for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
      const r = rng(5);
      const x = meta([3, 4, 5], dtype);
      await checkOp({ op: "gather", axis: 2 }, [x, meta([3, 4, 7], "int32")], { data: [randomOf(x, r), indices(84, 5, 1)] });
      await checkOp({ op: "gather", axis: 0 }, [x, meta([2, 2, 5], "int32")], { data: [randomOf(x, r), indices(20, 3, 2)] });
      await checkOp({ op: "gather", axis: 1 }, [x, meta([1, 6, 1], "int32")], { data: [randomOf(x, r), indices(6, 4, 3)] });
    }
  });
  it("scatter_add accumulates duplicate indices", async () => {
    for (const dtype of ["float32", "float64", "int32"] as DType[]) {
      const r = rng(6);
      const base = meta([4, 5], dtype);
      await checkOp({ op: "scatter_add", axis: 0 }, [base, meta([6, 5], "int32"), meta([6, 5], dtype)], { data: [randomOf(base, r), indices(30, 4, 4), randomOf(meta([6, 5], dtype), r)], scale: 4 });
      await checkOp({ op: "scatter_add", axis: 1 }, [base, meta([2, 9], "int32"), meta([2, 9], dtype)], { data: [randomOf(base, r), indices(18, 5, 5), randomOf(meta([2, 9], dtype), r)], scale: 4 });
    }
  });
});

describe("onnx: pad", () => {
  for (const dtype of ["float32", "float64", "int32", "bool"] as DType[]) {
    it(`pad ${dtype}`, async () => {
      await checkOp({ op: "pad", pads: [[1, 0], [2, 3]] }, [meta([2, 3], dtype)]);
      await checkOp({ op: "pad", pads: [[0, 0], [0, 0], [1, 1]] }, [meta([2, 1, 3], dtype)]);
      await checkOp({ op: "pad", pads: [[0, 0]] }, [meta([4], dtype)]);
    });
  }
});

describe("onnx: views", () => {
  for (const dtype of ["float32", "int32", "bool"] as DType[]) {
    it(`reshape ${dtype}`, async () => {
      await checkOp({ op: "reshape", shape: [6, 2] }, [meta([3, 4], dtype)]);
      await checkOp({ op: "reshape", shape: [1, 12, 1] }, [meta([3, 4], dtype)]);
      await checkOp({ op: "reshape", shape: [] }, [meta([1, 1], dtype)]);
      await checkOp({ op: "reshape", shape: [0, 5] }, [meta([5, 0], dtype)]);
    });
    it(`permute ${dtype}`, async () => {
      await checkOp({ op: "permute", perm: [1, 0] }, [meta([3, 4], dtype)]);
      await checkOp({ op: "permute", perm: [2, 0, 1] }, [meta([2, 3, 4], dtype)]);
      await checkOp({ op: "permute", perm: [0, 1] }, [meta([2, 3], dtype)]);
    });
    it(`expand ${dtype}`, async () => {
      await checkOp({ op: "expand", shape: [3, 4] }, [meta([1, 4], dtype)]);
      await checkOp({ op: "expand", shape: [2, 3, 4] }, [meta([3, 1], dtype)]);
      await checkOp({ op: "expand", shape: [5] }, [meta([], dtype)]);
      await checkOp({ op: "expand", shape: [0, 4] }, [meta([1, 4], dtype)]);
    });
  }
  it("slice with positive, negative and size-1 steps", async () => {
    const x = meta([6, 5], "float32");
    await checkOp({ op: "slice", starts: [1, 0], steps: [2, 1], shape: [3, 5] }, [x]);
    await checkOp({ op: "slice", starts: [5, 4], steps: [-1, -2], shape: [6, 3] }, [x]); // full reversal reaches index 0
    await checkOp({ op: "slice", starts: [4, 3], steps: [-3, 1], shape: [2, 2] }, [x]);
    await checkOp({ op: "slice", starts: [2, 1], steps: [1, 1], shape: [0, 3] }, [x]);
    await checkOp({ op: "slice", starts: [0, 0], steps: [1, 1], shape: [6, 5] }, [x]);
    await checkOp({ op: "slice", starts: [3, 2], steps: [-1, 7], shape: [1, 1] }, [x]);
    await checkOp({ op: "slice", starts: [0, 0, 1], steps: [1, -1, 1], shape: [2, 1, 2] }, [meta([2, 1, 3], "int32")]);
  });
});
