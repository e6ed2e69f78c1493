import { describe, expect, it } from "vitest";
import { currentBackendName, matmul, tensor, zeros } from "@equigrad/tensor";
import { expectClose, expectExact, expectTensor, layouts, mk, naiveBatchedMatmul, naiveMatmul2d, randArr, randInts, T } from "./helpers.js";

const TOL = { rtol: 1e-13, atol: 1e-14 };

describe("matmul", () => {
  it("2-D hand values", () => {
    expectTensor(matmul(tensor([[1, 2], [3, 4]]), tensor([[5, 6], [7, 8]])), [2, 2], "float32", [19, 22, 43, 50]);
    expectTensor(tensor([[1, 2, 3]]).matmul(tensor([[1], [0], [-1]])), [1, 1], "float32", [-2]);
    expectTensor(tensor([[1], [2]]).matmul(tensor([[3, 4]])), [2, 2], "float32", [3, 4, 6, 8]);
  });

  it("2-D random against a naive triple loop", () => {
    for (const [m, k, n] of [[3, 4, 5], [1, 7, 1], [6, 1, 2], [5, 9, 3]] as const) {
      const a = randArr([m, k], m * 100 + k);
      const b = randArr([k, n], k * 100 + n);
      const y = matmul(T(a), T(b));
      expect(y.shape).toEqual([m, n]);
      expect(y.dtype).toBe("float64");
      expectClose(y, naiveMatmul2d(a.data, b.data, m, k, n), TOL);
    }
  });

  it("1-D operands (NumPy rules): vector-matrix, matrix-vector, dot", () => {
    const v = randArr([4], 1);
    const M = randArr([4, 3], 2);
    const N = randArr([2, 4], 3);
    expectTensor(matmul(T(v), T(M)), [3], "float64", naiveMatmul2d(v.data, M.data, 1, 4, 3));
    const mv = matmul(T(N), T(v));
    expect(mv.shape).toEqual([2]);
    expectClose(mv, naiveMatmul2d(N.data, v.data, 2, 4, 1), TOL);
    const d = matmul(T(v), T(v));
    expect(d.shape).toEqual([]);
    expectClose(d, [v.data.reduce((s, x) => s + x * x, 0)], TOL);
    expectTensor(matmul(tensor([1, 2, 3]), tensor([4, 5, 6])), [], "float32", [32]);
  });

  it("1-D with batched operands", () => {
    const v = randArr([4], 5);
    const B = randArr([3, 4, 2], 6);
    const vb = matmul(T(v), T(B));
    expect(vb.shape).toEqual([3, 2]);
    expectClose(vb, naiveBatchedMatmul({ shape: [1, 4], data: v.data }, B).data, TOL);
    const C = randArr([3, 2, 4], 7);
    const cv = matmul(T(C), T(v));
    expect(cv.shape).toEqual([3, 2]);
    expectClose(cv, naiveBatchedMatmul(C, { shape: [4, 1], data: v.data }).data, TOL);
  });

  it("batched and broadcast batch dims", () => {
    const cases: [number[], number[], number[]][] = [
      [[2, 3, 4], [2, 4, 5], [2, 3, 5]],
      [[2, 1, 3, 4], [3, 4, 5], [2, 3, 3, 5]],
      [[1, 3, 4], [5, 4, 2], [5, 3, 2]],
      [[3, 4], [2, 2, 4, 1], [2, 2, 3, 1]],
      [[2, 1, 2, 3], [1, 4, 3, 2], [2, 4, 2, 2]],
    ];
    cases.forEach(([sa, sb, so], i) => {
      const a = randArr(sa, 30 + i);
      const b = randArr(sb, 40 + i);
      const y = matmul(T(a), T(b));
      expect(y.shape).toEqual(so);
      expectClose(y, naiveBatchedMatmul(a, b).data, TOL);
    });
  });

  it("transposed, stepped, flipped and expanded views as inputs", () => {
    const a = randArr([3, 4], 50);
    const b = randArr([4, 5], 51);
    const want = naiveMatmul2d(a.data, b.data, 3, 4, 5);
    for (const la of layouts(a)) {
      for (const lb of layouts(b)) {
        expectClose(matmul(la.t, lb.t), want, TOL);
      }
    }
    // x @ xᵀ through a transposed view of the same buffer.
    const x = T(a);
    const xt = naiveMatmul2d(a.data, [0, 1, 2, 3].flatMap((j) => [0, 1, 2].map((i) => a.data[i * 4 + j]!)), 3, 4, 3);
    expectClose(x.matmul(x.transpose()), xt, TOL);
    // Expanded (stride-0) batch.
    const e = T(b).unsqueeze(0).expand(2, 4, 5);
    const lhs = randArr([2, 3, 4], 52);
    expectClose(matmul(T(lhs), e), naiveBatchedMatmul(lhs, { shape: [1, 4, 5], data: b.data }).data, TOL);
  });

  it("float32: Math.fround of the float64 accumulation (reference), within k·eps·Σ|ab| (float32 accumulators)", () => {
    const a = randArr([4, 6], 60, -3, 3, true);
    const b = randArr([6, 3], 61, -3, 3, true);
    const y = matmul(T(a, "float32"), T(b, "float32"));
    expect(y.dtype).toBe("float32");
    const want = naiveMatmul2d(a.data, b.data, 4, 6, 3);
    if (currentBackendName() === "reference") expectExact(y, want.map(Math.fround));
    else expectClose(y, want, { atol: 6 * 2 ** -23 * 6 * 9 });
  });

  it("integer and mixed dtypes", () => {
    const a = randInts([2, 3], 70, -5, 6);
    const b = randInts([3, 2], 71, -5, 6);
    const want = naiveMatmul2d(a.data, b.data, 2, 3, 2);
    expectTensor(matmul(T(a, "int32"), T(b, "int32")), [2, 2], "int32", want);
    expectTensor(matmul(T(a, "int32"), T(b, "float32")), [2, 2], "float32", want);
    expectTensor(matmul(T(a, "float32"), T(b, "float64")), [2, 2], "float64", want);
    expectTensor(matmul(mk([1, 0, 1, 1], [2, 2], "bool"), mk([1, 1, 0, 1], [2, 2], "bool")), [2, 2], "int32", [1, 1, 1, 2]);
  });

  it("empty dims", () => {
    expectTensor(matmul(zeros([2, 0]), zeros([0, 3])), [2, 3], "float32", [0, 0, 0, 0, 0, 0]);
    expectTensor(matmul(zeros([0, 3]), zeros([3, 2])), [0, 2], "float32", []);
    expectTensor(matmul(zeros([0, 2, 3]), zeros([3, 4])), [0, 2, 4], "float32", []);
    expectTensor(matmul(zeros([0]), zeros([0])), [], "float32", [0]);
  });
});
