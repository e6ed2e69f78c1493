import { describe, expect, it } from "vitest";
import { Tensor, currentBackendName, argmax, argmin, logsumexp, max, mean, min, sum, tensor, variance, zeros } from "@equigrad/tensor";
import {
  expectClose, expectExact, expectOpError, expectTensor, fromFn, layouts, mk, naiveLogSumExpRows, naiveMax, naiveMean, naiveMin,
  naivePermute, naiveReduce, naiveSum, prod, randArr, T, type Arr,
} from "./helpers.js";

const A = randArr([2, 3, 4], 101);
const axisSpecs: (number | number[] | undefined)[] = [0, 1, 2, -1, -2, [0, 2], [2, 0], [-1, -3], [0, 1, 2], undefined, []];
const axesOf = (spec: number | number[] | undefined, rank: number): number[] =>
  spec === undefined ? [...Array(rank).keys()] : (typeof spec === "number" ? [spec] : spec).map((a) => (a < 0 ? a + rank : a));

const reducers: [string, (t: Tensor, axis: number | number[] | undefined, keepdim: boolean) => Tensor, (a: Arr, axes: number[], keepdim: boolean) => Arr][] = [
  ["sum", (t, a, k) => sum(t, a, k), naiveSum],
  ["mean", (t, a, k) => mean(t, a, k), naiveMean],
  ["max", (t, a, k) => max(t, a, k), naiveMax],
  ["min", (t, a, k) => min(t, a, k), naiveMin],
  ["logsumexp", (t, a, k) => logsumexp(t, a, k), (a, axes, k) => {
    const m = naiveMax(a, axes, true);
    const s = naiveReduce(fromFn(a.shape, (idx) => {
      const off = idx.map((v, i) => (axes.includes(i) ? 0 : v));
      return Math.exp(a.data[idx.reduce((f, v, i) => f * a.shape[i]! + v, 0)]! - m.data[off.reduce((f, v, i) => f * m.shape[i]! + v, 0)]!);
    }), axes, true, 0, (p, q) => p + q);
    const out = s.data.map((v, i) => Math.log(v) + m.data[i]!);
    return { shape: k ? m.shape : a.shape.filter((_, i) => !axes.includes(i)), data: out };
  }],
];

describe("reductions over axes", () => {
  for (const [name, fn, naive] of reducers) {
    for (const spec of axisSpecs) {
      for (const keepdim of [false, true]) {
        it(`${name} axis=${JSON.stringify(spec)} keepdim=${keepdim}`, () => {
          const y = fn(T(A), spec, keepdim);
          const e = naive(A, axesOf(spec, 3), keepdim);
          expect(y.shape).toEqual(e.shape);
          expect(y.dtype).toBe("float64");
          expectClose(y, e.data, { rtol: 1e-13, atol: 1e-14 });
        });
      }
    }
  }

  it("hand-computed values", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float64" });
    expectTensor(x.sum(), [], "float64", [21]);
    expectTensor(x.sum(0), [3], "float64", [5, 7, 9]);
    expectTensor(x.sum(-1, true), [2, 1], "float64", [6, 15]);
    expectTensor(x.mean(1), [2], "float64", [2, 5]);
    expectTensor(x.max(0), [3], "float64", [4, 5, 6]);
    expectTensor(x.min(), [], "float64", [1]);
    expectTensor(x.max([0, 1], true), [1, 1], "float64", [6]);
  });

  it("float32 sums are Math.fround of the float64 sum (reference) or within n·eps of it (float32 backends); mean divides in float32", () => {
    const a = randArr([5, 7], 5, -10, 10, true);
    // Backends that accumulate in float32 round once per addition: |error| ≤ n·eps·Σ|x|.
    const exact = currentBackendName() === "reference";
    for (const axes of [[0], [1], [0, 1]]) {
      const s = naiveSum(a, axes);
      const n = prod(axes.map((i) => a.shape[i]!));
      if (exact) {
        expectExact(sum(T(a, "float32"), axes), s.data.map(Math.fround));
        expectExact(mean(T(a, "float32"), axes), s.data.map((v) => Math.fround(Math.fround(v) / n)));
      } else {
        expectClose(sum(T(a, "float32"), axes), s.data, { atol: n * 2 ** -23 * 10 * n });
        expectClose(mean(T(a, "float32"), axes), s.data.map((v) => v / n), { atol: 2 ** -23 * 10 * n });
      }
    }
  });

  it("int32 and bool inputs", () => {
    const x = mk([1, 2, 3, 4, 5, 7], [2, 3], "int32");
    expectTensor(x.sum(1), [2], "int32", [6, 16]);
    expectTensor(x.max(0), [3], "int32", [4, 5, 7]);
    expectTensor(x.min(1), [2], "int32", [1, 4]);
    expectTensor(x.mean(1), [2], "float32", [2, Math.fround(16 / 3)]);
    const b = mk([1, 0, 1, 1, 1, 0], [2, 3], "bool");
    expectTensor(b.sum(0), [3], "int32", [2, 1, 1]);
    expectTensor(b.mean(), [], "float32", [Math.fround(4 / 6)]);
  });

  it("NaN propagates through sum, max and min", () => {
    const x = tensor([[1, NaN, 3], [4, 5, 6]], { dtype: "float64" });
    expectExact(x.sum(1), [NaN, 15]);
    expectExact(x.max(1), [NaN, 6]);
    expectExact(x.min(1), [NaN, 4]);
    expectExact(x.max(0), [4, NaN, 6]);
    expectExact(tensor([NaN, 1, 2]).max(), [NaN]);
    expectExact(tensor([1, 2, NaN]).min(), [NaN]);
  });

  it("an empty axis list reduces nothing (NumPy axis=())", () => {
    const y = sum(T(A), []);
    expect(y.shape).toEqual([2, 3, 4]);
    expectExact(y, A.data);
  });
});

describe("argmax / argmin", () => {
  const naiveArg = (a: Arr, axis: number, better: (x: number, y: number) => boolean): Arr => {
    const rank = a.shape.length;
    const ax = axis < 0 ? axis + rank : axis;
    const outShape = a.shape.filter((_, i) => i !== ax);
    return fromFn(outShape, (oidx) => {
      let best = 0;
      let bv = NaN;
      for (let i = 0; i < a.shape[ax]!; i++) {
        const idx = [...oidx.slice(0, ax), i, ...oidx.slice(ax)];
        const v = a.data[idx.reduce((f, q, d) => f * a.shape[d]! + q, 0)]!;
        if (i === 0 || (!Number.isNaN(bv) && (Number.isNaN(v) || better(v, bv)))) (best = i), (bv = v);
      }
      return best;
    });
  };

  for (const axis of [0, 1, 2, -1, -2]) {
    it(`axis ${axis} (keepdim false/true) matches a naive scan`, () => {
      const a = { shape: A.shape, data: A.data.map((v) => Math.round(v * 2) / 2) }; // ties included
      for (const [fn, better] of [[argmax, (x: number, y: number) => x > y], [argmin, (x: number, y: number) => x < y]] as const) {
        const e = naiveArg(a, axis, better);
        expectTensor(fn(T(a), axis), e.shape, "int32", e.data);
        const k = fn(T(a), axis, true);
        const ax = axis < 0 ? axis + 3 : axis;
        expect(k.shape).toEqual(a.shape.map((d, i) => (i === ax ? 1 : d)));
        expectExact(k, e.data);
      }
    });
  }

  it("first occurrence wins on ties; NaN is the extreme; no axis flattens", () => {
    expectTensor(argmax(tensor([1, 3, 3, 2])), [], "int32", [1]);
    expectTensor(argmin(tensor([2, 0, 1, 0])), [], "int32", [1]);
    expectExact(argmax(tensor([1, NaN, 5, NaN])), [1]);
    expectExact(argmin(tensor([1, NaN, -5, NaN])), [1]);
    expectExact(argmax(tensor([[1, 9], [7, 3]])), [1]);
    expectExact(argmin(tensor([[1, 9], [-7, 3]])), [2]);
    expectExact(tensor([[1, 9], [7, 3]]).argmax(0), [1, 0]);
    expectExact(mk([5, 2, 8, 8], [4], "int32").argmax(), [2]);
  });
});

describe("logsumexp stability", () => {
  it("large values do not overflow", () => {
    const x = tensor([[1000, 1000, 1000], [-1000, -1000, -1000], [1000, 0, -1000]], { dtype: "float64" });
    expectClose(logsumexp(x, 1), [1000 + Math.log(3), -1000 + Math.log(3), 1000], { rtol: 1e-15 });
    expectClose(logsumexp(tensor([1000, 1000]), 0), [Math.fround(1000 + Math.log(2))], { rtol: 1e-7 });
  });

  it("-inf rows give -inf, -inf entries are ignored, +inf gives +inf", () => {
    const x = tensor([[-Infinity, -Infinity], [-Infinity, 0], [Infinity, 1], [Infinity, -Infinity]], { dtype: "float64" });
    expectExact(logsumexp(x, -1), [-Infinity, 0, Infinity, Infinity]);
    expectExact(logsumexp(tensor([NaN, 1]), 0), [NaN]);
  });

  it("matches the naive form on moderate values over multiple axes", () => {
    const a = randArr([3, 5], 9, -3, 3);
    expectClose(logsumexp(T(a), [0, 1]), [Math.log(a.data.reduce((s, v) => s + Math.exp(v), 0))], { rtol: 1e-14 });
    expectClose(logsumexp(T(a), 1, true), naiveLogSumExpRows(a.data, 5), { rtol: 1e-14 });
  });
});

describe("variance", () => {
  const naiveVar = (a: Arr, axes: number[], keepdim: boolean, correction: number): Arr => {
    const m = naiveMean(a, axes, true);
    const sq = fromFn(a.shape, (idx) => {
      const oi = idx.map((v, i) => (axes.includes(i) ? 0 : v)).reduce((f, v, i) => f * m.shape[i]! + v, 0);
      return (a.data[idx.reduce((f, v, i) => f * a.shape[i]! + v, 0)]! - m.data[oi]!) ** 2;
    });
    const s = naiveSum(sq, axes, keepdim);
    const n = prod(axes.map((i) => a.shape[i]!));
    return { shape: s.shape, data: s.data.map((v) => v / (n - correction)) };
  };

  for (const [axes, keepdim, correction] of [[[0], false, 0], [[2], true, 1], [[0, 2], false, 1], [[0, 1, 2], true, 0]] as [number[], boolean, number][]) {
    it(`axes ${JSON.stringify(axes)} keepdim=${keepdim} correction=${correction}`, () => {
      const y = variance(T(A), axes, keepdim, correction);
      const e = naiveVar(A, axes, keepdim, correction);
      expect(y.shape).toEqual(e.shape);
      expectClose(y, e.data, { rtol: 1e-13 });
    });
  }

  it("hand values", () => {
    expectClose(variance(tensor([1, 2, 3, 4], { dtype: "float64" })), [1.25]);
    expectClose(variance(tensor([1, 2, 3, 4], { dtype: "float64" }), 0, false, 1), [5 / 3]);
    expectClose(variance(mk([2, 4, 4, 4, 5, 5, 7, 9], [8], "int32")), [4], { rtol: 1e-7 });
  });
});

describe("reductions on non-contiguous inputs", () => {
  const a = randArr([3, 4, 5], 77);
  for (const { name, t } of layouts(a)) {
    it(`${name}: sum / max / min / argmax / mean`, () => {
      for (const axes of [[0], [2], [1, 2], [0, 1, 2]]) {
        expectClose(t.sum(axes), naiveSum(a, axes).data, { rtol: 1e-13, atol: 1e-14 });
        expectExact(t.max(axes), naiveMax(a, axes).data);
        expectExact(t.min(axes, true), naiveMin(a, axes, true).data);
        expectClose(t.mean(axes), naiveMean(a, axes).data, { rtol: 1e-13, atol: 1e-14 });
      }
      const moved = naivePermute(a, [0, 2, 1]);
      const am = t.argmax(1).toArray();
      // argmax along axis 1 = position of the max in each (i, k) column.
      const want = Array.from({ length: 15 }, (_, f) => {
        const col = moved.data.slice(f * 4, f * 4 + 4);
        return col.indexOf(Math.max(...col));
      });
      expectExact(am, want);
    });
  }

  it("expanded inputs count repeated elements", () => {
    const x = tensor([1, 2, 3], { dtype: "float64" }).expand(4, 3);
    expectExact(x.sum(0), [4, 8, 12]);
    expectExact(x.sum(), [24]);
    expectExact(x.mean(1), [2, 2, 2, 2]);
  });
});

describe("empty, size-1 and 0-d", () => {
  it("sum over an empty axis is 0; mean is NaN", () => {
    expectTensor(zeros([2, 0]).sum(1), [2], "float32", [0, 0]);
    expectTensor(zeros([0]).sum(), [], "float32", [0]);
    expectTensor(zeros([0, 3]).sum(0, true), [1, 3], "float32", [0, 0, 0]);
    expectTensor(zeros([0, 3]).sum(1), [0], "float32", []);
    expectExact(zeros([0]).mean(), [NaN]);
    expectTensor(logsumexp(zeros([2, 0]), 1), [2], "float32", [-Infinity, -Infinity]);
  });

  it("max / argmax over a non-empty axis of an empty tensor give an empty result", () => {
    expectTensor(zeros([0, 3]).max(1), [0], "float32", []);
    expectTensor(zeros([0, 3]).argmax(1), [0], "int32", []);
  });

  it("max / min / argmax over an empty axis throw", () => {
    expectOpError(() => zeros([0, 3]).max(0), "max", "[0, 3]");
    expectOpError(() => zeros([2, 0]).min(), "min", "[2, 0]");
    expectOpError(() => zeros([0]).argmax(), "argmax", "[0]");
  });

  it("size-1 dims and 0-d tensors", () => {
    const x = tensor([[[5]], [[7]]], { dtype: "float64" });
    expectTensor(x.sum([1, 2]), [2], "float64", [5, 7]);
    expectTensor(x.max(-1, true), [2, 1, 1], "float64", [5, 7]);
    const s = tensor(4.5, { dtype: "float64" });
    expectTensor(s.sum(), [], "float64", [4.5]);
    expectTensor(s.mean(), [], "float64", [4.5]);
    expectTensor(s.max(), [], "float64", [4.5]);
  });
});
