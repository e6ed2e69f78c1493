import { describe, expect, it } from "vitest";
import { causalMask, cumsum, gather, indexSelect, oneHot, scatterAdd, tensor, tril, triu, zeros } from "@equigrad/tensor";
import { at, expectExact, expectTensor, fromFn, layouts, mk, naivePermute, randArr, randInts, T, type Arr } from "./helpers.js";

/** torch.gather: out[..i..] = x[..idx[..i..]..] with the axis coordinate replaced. */
const naiveGather = (x: Arr, idx: Arr, axis: number): Arr =>
  fromFn(idx.shape, (i) => at(x, i.map((v, d) => (d === axis ? at(idx, i) : v))));

/** torch.scatter_add, accumulating in index order. */
function naiveScatterAdd(base: Arr, idx: Arr, src: Arr, axis: number): Arr {
  const out = { shape: [...base.shape], data: [...base.data] };
  for (let f = 0; f < idx.data.length; f++) {
    const i = unravelIn(f, idx.shape);
    const target = i.map((v, d) => (d === axis ? idx.data[f]! : v));
    out.data[target.reduce((acc, v, d) => acc * base.shape[d]! + v, 0)] += src.data[f]!;
  }
  return out;
}
const unravelIn = (f: number, shape: number[]): number[] => {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) (idx[d] = f % shape[d]!), (f = Math.floor(f / shape[d]!));
  return idx;
};

describe("gather", () => {
  it("hand-computed (torch.gather docs example)", () => {
    const x = tensor([[1, 2], [3, 4]]);
    const idx = mk([0, 0, 1, 0], [2, 2], "int32");
    expectTensor(gather(x, idx, 1), [2, 2], "float32", [1, 1, 4, 3]);
    expectTensor(x.gather(idx, 0), [2, 2], "float32", [1, 2, 3, 2]);
  });

  for (const axis of [0, 1, 2]) {
    it(`3-D along axis ${axis} (and ${axis - 3}) with smaller index dims matches a naive gather`, () => {
      const x = randArr([3, 4, 5], 11 + axis);
      const ishape = [2, 3, 4].map((d, i) => (i === axis ? 6 : d));
      const idx = randInts(ishape, 20 + axis, 0, x.shape[axis]!);
      const e = naiveGather(x, idx, axis);
      expectTensor(gather(T(x), T(idx, "int32"), axis), e.shape, "float64", e.data);
      expectExact(gather(T(x), T(idx, "int32"), axis - 3), e.data);
    });
  }

  it("non-contiguous source and index", () => {
    const x = randArr([4, 5], 3);
    const idx = randInts([4, 5], 4, 0, 5);
    const e = naiveGather(x, idx, 1);
    for (const lx of layouts(x)) {
      for (const li of layouts(idx, "int32")) {
        expectExact(gather(lx.t, li.t, 1), e.data);
      }
    }
  });

  it("empty index gives an empty result", () => {
    expectTensor(gather(tensor([[1, 2]]), zeros([1, 0], { dtype: "int32" }), 1), [1, 0], "float32", []);
  });
});

describe("scatterAdd", () => {
  it("repeated indices accumulate", () => {
    const y = scatterAdd(zeros([3]), mk([0, 2, 0, 0], [4], "int32"), tensor([1, 2, 3, 4]), 0);
    expectTensor(y, [3], "float32", [8, 0, 2]);
    const base = tensor([[10, 20, 30], [40, 50, 60]]);
    const z = scatterAdd(base, mk([2, 2, 0, 1, 1, 1], [2, 3], "int32"), tensor([[1, 2, 3], [4, 5, 6]]), 1);
    expectTensor(z, [2, 3], "float32", [13, 20, 33, 40, 65, 60]);
    expectExact(base, [10, 20, 30, 40, 50, 60]); // input untouched
  });

  for (const axis of [0, 1, -1]) {
    it(`3-D along axis ${axis} matches a naive scatter-add`, () => {
      const ax = axis < 0 ? axis + 3 : axis;
      const base = randArr([3, 4, 5], 40);
      const ishape = [2, 3, 4].map((d, i) => (i === ax ? 7 : d));
      const idx = randInts(ishape, 41 + ax, 0, base.shape[ax]!);
      const src = randArr(ishape, 44);
      const e = naiveScatterAdd(base, idx, src, ax);
      const y = scatterAdd(T(base), T(idx, "int32"), T(src), axis);
      expect(y.shape).toEqual([3, 4, 5]);
      expectExact(y, e.data);
    });
  }

  it("casts the source to the base dtype", () => {
    const y = scatterAdd(mk([0, 0], [2], "int32"), mk([1, 1], [2], "int32"), tensor([1.9, 2.9]), 0);
    expectTensor(y, [2], "int32", [0, 3]);
  });
});

describe("indexSelect", () => {
  it("embedding lookup with an index of any shape", () => {
    const table = fromFn([5, 3], ([r, c]) => 10 * r! + c!);
    const idx = mk([4, 0, 4, 2, 1, 1], [2, 3], "int32");
    const y = indexSelect(T(table), idx, 0);
    expect(y.shape).toEqual([2, 3, 3]);
    expectExact(y, [4, 0, 4, 2, 1, 1].flatMap((r) => [10 * r, 10 * r + 1, 10 * r + 2]));
  });

  it("along a middle axis and with a 0-d index", () => {
    const x = randArr([2, 4, 3], 8);
    const idx = [3, 0, 3];
    const y = indexSelect(T(x), mk(idx, [3], "int32"), 1);
    expectTensor(y, [2, 3, 3], "float64", fromFn([2, 3, 3], ([a, b, c]) => at(x, [a!, idx[b!]!, c!])).data);
    const s = indexSelect(T(x), mk([2], [], "int32"), 1);
    expectTensor(s, [2, 3], "float64", fromFn([2, 3], ([a, c]) => at(x, [a!, 2, c!])).data);
    const last = indexSelect(T(x), mk([2, 0], [2], "int32"), -1);
    expectTensor(last, [2, 4, 2], "float64", fromFn([2, 4, 2], ([a, b, c]) => at(x, [a!, b!, [2, 0][c!]!])).data);
  });
});

describe("oneHot", () => {
  it("adds a last axis of size n", () => {
    expectTensor(oneHot(mk([0, 2, 1], [3], "int32"), 3), [3, 3], "float32", [1, 0, 0, 0, 0, 1, 0, 1, 0]);
    const y = oneHot(mk([1, 0, 3, 3], [2, 2], "int32"), 4, "int32");
    expectTensor(y, [2, 2, 4], "int32", [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    expectTensor(oneHot(mk([1], [1], "int32"), 2, "bool"), [1, 2], "bool", [0, 1]);
  });
});

describe("triu / tril", () => {
  const naiveTri = (x: Arr, k: number, lower: boolean): Arr =>
    fromFn(x.shape, (idx, f) => {
      const [i, j] = idx.slice(-2) as [number, number];
      return (lower ? j - i <= k : j - i >= k) ? x.data[f]! : 0;
    });

  for (const k of [-3, -2, -1, 0, 1, 2, 4]) {
    it(`k = ${k} on [3, 4] and batched [2, 4, 3]`, () => {
      for (const shape of [[3, 4], [2, 4, 3]]) {
        const x = randArr(shape, 60 + k, 1, 2);
        expectExact(tril(T(x), k), naiveTri(x, k, true).data);
        expectExact(triu(T(x), k), naiveTri(x, k, false).data);
      }
    });
  }

  it("hand values, dtype kept (bool stays bool), non-contiguous input", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expectExact(tril(x), [1, 0, 0, 4, 5, 0, 7, 8, 9]);
    expectExact(triu(x, 1), [0, 2, 3, 0, 0, 6, 0, 0, 0]);
    expectExact(tril(x, -1), [0, 0, 0, 4, 0, 0, 7, 8, 0]);
    expectExact(triu(x.transpose()), [1, 4, 7, 0, 5, 8, 0, 0, 9]);
    expectTensor(tril(mk([1, 1, 1, 1], [2, 2], "bool")), [2, 2], "bool", [1, 0, 1, 1]);
    expectTensor(triu(mk([1, 2, 3, 4], [2, 2], "int32")), [2, 2], "int32", [1, 2, 0, 4]);
  });

  it("causalMask", () => {
    expectTensor(causalMask(3), [3, 3], "bool", [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  });
});

describe("cumsum", () => {
  const naiveCumsum = (x: Arr, axis: number): Arr =>
    fromFn(x.shape, (idx) => {
      let s = 0;
      for (let i = 0; i <= idx[axis]!; i++) s += at(x, idx.map((v, d) => (d === axis ? i : v)));
      return s;
    });

  for (const axis of [0, 1, 2, -1]) {
    it(`axis ${axis} matches a naive running sum`, () => {
      const x = randInts([3, 4, 5], 70, -9, 10);
      const e = naiveCumsum(x, axis < 0 ? axis + 3 : axis);
      expectTensor(cumsum(T(x), axis), [3, 4, 5], "float64", e.data);
      expectTensor(cumsum(T(x, "int32"), axis), [3, 4, 5], "int32", e.data);
    });
  }

  it("non-contiguous input, bool input, empty", () => {
    const x = randInts([4, 3], 5, 0, 10);
    for (const { t } of layouts(x)) expectExact(cumsum(t, 0), naiveCumsum(x, 0).data);
    const moved = naivePermute(x, [1, 0]);
    expectExact(cumsum(T(x).transpose(), 1), naiveCumsum(moved, 1).data);
    expectTensor(cumsum(mk([1, 0, 1, 1], [4], "bool"), 0), [4], "int32", [1, 1, 2, 3]);
    expectTensor(cumsum(zeros([0, 2]), 0), [0, 2], "float32", []);
    expectExact(cumsum(tensor([0.1, 0.2, 0.3], { dtype: "float64" }), 0), [0.1, 0.1 + 0.2, 0.1 + 0.2 + 0.3]);
  });
});
