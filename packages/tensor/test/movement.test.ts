import { describe, expect, it } from "vitest";
import {
  arange, broadcastTo, concat, contiguous, expand, flip, memoryStats, pad, permute, reshape, slice, split, squeeze, stack,
  tensor, transpose, unsqueeze, zeros, type Tensor,
} from "@equigrad/tensor";
import {
  at, expectExact, expectTensor, fromFn, layouts, mk, naivePermute, pythonSlice, randArr, randInts, rowMajorStrides, T, type Arr,
} from "./helpers.js";

const A: Arr = fromFn([2, 3, 4], (_, i) => i); // 0..23
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs fn and returns how many buffers it allocated (still live afterwards). */
function allocs(fn: () => unknown): number {
  const before = memoryStats().liveBuffers;
  fn();
  return memoryStats().liveBuffers - before;
}

describe("reshape", () => {
  it("keeps row-major order and infers -1", () => {
    const x = T(A);
    expectTensor(x.reshape(6, 4), [6, 4], "float64", A.data);
    expectTensor(x.reshape([-1]), [24], "float64", A.data);
    expectTensor(reshape(x, [4, -1, 2]), [4, 3, 2], "float64", A.data);
    expectTensor(x.reshape(-1, 12).reshape(2, 3, 4), [2, 3, 4], "float64", A.data);
    expectTensor(tensor([5]).reshape([]), [], "float32", [5]);
    expectTensor(tensor(5).reshape(1, 1), [1, 1], "float32", [5]);
    expectTensor(zeros([0, 3]).reshape(-1), [0], "float32", []);
    expectTensor(zeros([0, 3]).reshape(3, 0), [3, 0], "float32", []);
  });

  it("of a non-viewable layout copies the logical values in row-major order", () => {
    const x = T(A).transpose(0, 2); // [4, 3, 2]
    const want = naivePermute(A, [2, 1, 0]).data;
    let y!: Tensor;
    expect(allocs(() => (y = x.reshape(-1)))).toBe(1);
    expectTensor(y, [24], "float64", want);
    expect(y.storage).not.toBe(x.storage);
    const f = T(A).slice(null, null, [undefined, undefined, 2]); // [2, 3, 2] with stride 2
    expectTensor(f.reshape(12), [12], "float64", A.data.filter((v) => v % 2 === 0));
  });

  it("of a non-contiguous but compatible layout is a view", () => {
    const rows = T(A).slice([0, 1]); // [1, 3, 4] at offset 0 but part of a bigger buffer
    let y!: Tensor;
    expect(allocs(() => (y = rows.reshape(12)))).toBe(0);
    expectExact(y, iota(12));
    const cols = T(A).reshape(6, 4).slice(null, [1, 3]); // [6, 2], strides [4, 1]
    let z!: Tensor;
    expect(allocs(() => (z = cols.reshape(3, 2, 2)))).toBe(0);
    expectExact(z, [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22]);
    const fl = T(A).reshape(24).flip(0);
    expect(allocs(() => (z = fl.reshape(4, 6)))).toBe(0);
    expectExact(z, iota(24).reverse());
    // A non-contiguous empty tensor reshapes without trouble.
    expectTensor(zeros([0, 3]).transpose().reshape(-1), [0], "float32", []);
  });
});

describe("permute / transpose", () => {
  it("matches a naive permutation for every perm of 3 axes", () => {
    const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (const p of perms) {
      const y = T(A).permute(p);
      const e = naivePermute(A, p);
      expectTensor(y, e.shape, "float64", e.data);
    }
    expectExact(permute(T(A), [-1, 0, -2]), naivePermute(A, [2, 0, 1]).data);
  });

  it("transpose defaults to the last two axes and accepts negative axes", () => {
    expectTensor(T(A).transpose(), [2, 4, 3], "float64", naivePermute(A, [0, 2, 1]).data);
    expectTensor(transpose(T(A), 0, -1), [4, 3, 2], "float64", naivePermute(A, [2, 1, 0]).data);
    expectTensor(tensor([[1, 2, 3]]).transpose(), [3, 1], "float32", [1, 2, 3]);
  });
});

describe("expand / squeeze / unsqueeze / flatten", () => {
  it("expand broadcasts size-1 and new leading dims; -1 keeps a dim", () => {
    expectTensor(tensor([1, 2, 3]).expand(2, 3), [2, 3], "float32", [1, 2, 3, 1, 2, 3]);
    expectTensor(expand(tensor([[1], [2]]), [2, 4]), [2, 4], "float32", [1, 1, 1, 1, 2, 2, 2, 2]);
    expectTensor(tensor([[1], [2]]).expand(3, -1, 2), [3, 2, 2], "float32", [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
    expectTensor(tensor([7]).expand(0), [0], "float32", []);
    expectTensor(broadcastTo(tensor(4), [2, 2]), [2, 2], "float32", [4, 4, 4, 4]);
    const e = tensor([1, 2, 3]).expand(4, 3);
    expect(e.strides).toEqual([0, 1]);
  });

  it("squeeze / unsqueeze", () => {
    const x = zeros([1, 3, 1, 2]);
    expect(x.squeeze().shape).toEqual([3, 2]);
    expect(x.squeeze(0).shape).toEqual([3, 1, 2]);
    expect(squeeze(x, -2).shape).toEqual([1, 3, 2]);
    expect(x.squeeze([0, 2]).shape).toEqual([3, 2]);
    const y = T(A);
    expectTensor(y.unsqueeze(0), [1, 2, 3, 4], "float64", A.data);
    expectTensor(unsqueeze(y, -1), [2, 3, 4, 1], "float64", A.data);
    expectTensor(y.unsqueeze(2), [2, 3, 1, 4], "float64", A.data);
    expectTensor(y.unsqueeze(-2), [2, 3, 1, 4], "float64", A.data);
    expectTensor(tensor(3).unsqueeze(0), [1], "float32", [3]);
  });

  it("flatten ranges of axes", () => {
    const y = T(A);
    expect(y.flatten().shape).toEqual([24]);
    expect(y.flatten(1).shape).toEqual([2, 12]);
    // (The top-level `flatten` export is the pytree one; the tensor op is the method.)
    expect(y.flatten(0, 1).shape).toEqual([6, 4]);
    expect(y.flatten(-2, -1).shape).toEqual([2, 12]);
    expectExact(y.transpose().flatten(1), naivePermute(A, [0, 2, 1]).data);
    expectTensor(tensor(2).flatten(), [1], "float32", [2]);
  });
});

describe("slice", () => {
  it("follows Python slice semantics (negative indices, clamping, negative steps)", () => {
    const x = arange(7);
    const bounds = [undefined, -10, -8, -7, -3, -1, 0, 1, 3, 6, 7, 8, 20];
    for (const step of [1, 2, 3, -1, -2, -3, 7, -8]) {
      for (const start of bounds) {
        for (const stop of bounds) {
          const y = x.slice([start, stop, step]);
          const want = pythonSlice(7, start, stop, step);
          expect(y.shape, `[${start}:${stop}:${step}]`).toEqual([want.length]);
          expectExact(y, want);
        }
      }
    }
  });

  it("integer indices drop axes; null keeps them; missing specs mean the whole axis", () => {
    const x = T(A);
    expectTensor(x.slice(1), [3, 4], "float64", A.data.slice(12));
    expectTensor(x.slice(-1, 2), [4], "float64", [20, 21, 22, 23]);
    expectTensor(x.slice(null, 0, -1), [2], "float64", [3, 15]);
    expectTensor(x.slice(0, 1, 2), [], "float64", [6]);
    expectTensor(slice(x, [null, [1, 3], [undefined, undefined, -2]]), [2, 2, 2], "float64", [7, 5, 11, 9, 19, 17, 23, 21]);
    expectTensor(x.slice([5, 9]), [0, 3, 4], "float64", []);
    expectTensor(x.slice(null, [2, 1]), [2, 0, 4], "float64", []);
  });

  it("matches a naive multi-axis slice", () => {
    const specs: [number | undefined, number | undefined, number][][] = [
      [[1, undefined, 1], [undefined, undefined, -1], [3, 0, -2]],
      [[undefined, undefined, -1], [0, 3, 2], [-1, -5, -1]],
      [[0, 1, 1], [1, 2, 1], [1, 4, 2]],
    ];
    for (const sp of specs) {
      const picks = sp.map(([s, e, st], i) => pythonSlice(A.shape[i]!, s, e, st));
      const want = fromFn(picks.map((p) => p.length), (idx) => at(A, idx.map((v, i) => picks[i]![v]!)));
      expectTensor(T(A).slice(...sp), want.shape, "float64", want.data);
    }
  });

  it("slices of slices and of flipped views compose", () => {
    const x = arange(10);
    expectExact(x.slice([1, undefined, 2]).slice([undefined, undefined, -1]), [9, 7, 5, 3, 1]);
    expectExact(x.flip(0).slice([2, 8, 3]), [7, 4]);
    expectExact(x.slice([8, 1, -3]).slice([1]), [5, 2]);
    const y = T(A).transpose(0, 2).slice([1, 3], null, 1); // [2, 3]
    expectExact(y, [13, 17, 21, 14, 18, 22]);
  });
});

describe("flip", () => {
  it("reverses the given axes", () => {
    const x = T(A);
    expectExact(x.flip(0), fromFn([2, 3, 4], (i) => at(A, [1 - i[0]!, i[1]!, i[2]!])).data);
    expectExact(flip(x, [0, -1]), fromFn([2, 3, 4], (i) => at(A, [1 - i[0]!, i[1]!, 3 - i[2]!])).data);
    expectExact(x.flip([0, 1, 2]), [...A.data].reverse());
    expectExact(x.flip(1).flip(1), A.data);
    expectExact(zeros([0]).flip(0), []);
  });
});

describe("pad", () => {
  it("zero-pads before and after each axis (from the first axis)", () => {
    const x = tensor([[1, 2], [3, 4]]);
    expectTensor(pad(x, [[1, 0], [0, 2]]), [3, 4], "float32", [0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
    expectTensor(pad(x, [[0, 1]]), [3, 2], "float32", [1, 2, 3, 4, 0, 0]);
    expectTensor(pad(mk([5], [1], "int32"), [[2, 1]]), [4], "int32", [0, 0, 5, 0]);
    expectTensor(pad(zeros([0]), [[1, 1]]), [2], "float32", [0, 0]);
    expect(pad(x, [[0, 0], [0, 0]])).toBe(x);
  });

  it("pads non-contiguous inputs by their logical values", () => {
    const x = tensor([[1, 2], [3, 4]]).transpose();
    expectExact(pad(x, [[0, 0], [1, 1]]), [0, 1, 3, 0, 0, 2, 4, 0]);
  });

  // Sizes past the wasm row-copy kernel's work units and thread split, rows of slices (strided
  // rows, contiguous within), each dtype; the naive index arithmetic is the reference.
  it("large inputs and slices, every dtype and padded axis, match the naive result", () => {
    const x = randInts([6, 40, 70], 7, -9, 9);
    // A slice along the last axis: rows of 30 elements, 70 apart.
    const cutArr = fromFn([6, 40, 30], ([i, j, k]) => at(x, [i!, j!, k! + 10]));
    // Transposed (rows not contiguous: copied to a row-major temporary first on wasm).
    const swapArr = fromFn([6, 70, 40], ([i, j, k]) => at(x, [i!, k!, j!]));
    // Reversed along a row axis (a negative row stride).
    const flipArr = fromFn([6, 40, 70], ([i, j, k]) => at(x, [i!, 39 - j!, k!]));
    const naivePad = (a: Arr, pads: readonly (readonly [number, number])[]): Arr =>
      fromFn(a.shape.map((n, d) => n + pads[d]![0] + pads[d]![1]), (idx) => {
        const src = idx.map((i, d) => i - pads[d]![0]);
        return src.every((i, d) => i >= 0 && i < a.shape[d]!) ? at(a, src) : 0;
      });
    for (const dtype of ["float32", "float64", "int32", "bool"] as const) {
      const cast = (v: number) => (dtype === "bool" ? +(v !== 0) : v);
      for (let k = 0; k < 3; k++) {
        const pads = x.shape.map((_, d) => (d === k ? ([2, 3] as const) : ([0, 0] as const)));
        for (const [input, arr] of [[T(x, dtype), x], [T(x, dtype).slice(null, null, [10, 40]), cutArr], [T(x, dtype).transpose(1, 2), swapArr], [T(x, dtype).flip(1), flipArr]] as const) {
          const want = naivePad(arr, pads);
          expectTensor(pad(input, pads), want.shape, dtype, want.data.map(cast));
        }
      }
    }
  });
});

describe("contiguous", () => {
  it("returns the tensor itself when already contiguous, else a row-major copy", () => {
    const x = T(A);
    let c!: Tensor;
    expect(allocs(() => (c = contiguous(x)))).toBe(0);
    expect(c).toBe(x);
    const r = x.reshape(6, 4);
    expect(r.contiguous()).toBe(r);
    for (const { name, t } of layouts(randArr([3, 4], 3)).slice(1)) {
      let y!: Tensor;
      expect(allocs(() => (y = t.contiguous())), name).toBe(1);
      expect(y.strides).toEqual([4, 1]);
      expect(y.offset).toBe(0);
      expectExact(y, t.toArray());
    }
    // A contiguous window of a bigger buffer is copied (it does not own its buffer).
    const rows = x.slice([1, 2]);
    expect(allocs(() => (c = rows.contiguous()))).toBe(1);
    expectExact(c, A.data.slice(12));
  });
});

describe("concat / stack / split", () => {
  it("concat along any axis, including negative and with empty inputs", () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6]]);
    expectTensor(concat([a, b]), [3, 2], "float32", [1, 2, 3, 4, 5, 6]);
    expectTensor(concat([a, b.transpose(), a], 1), [2, 5], "float32", [1, 2, 5, 1, 2, 3, 4, 6, 3, 4]);
    expectTensor(concat([a, zeros([2, 0]), a], -1), [2, 4], "float32", [1, 2, 1, 2, 3, 4, 3, 4]);
    expectTensor(concat([zeros([0, 2]), b]), [1, 2], "float32", [5, 6]);
    expect(concat([a])).toBe(a);
    const x = randArr([2, 3, 2], 4);
    const y = randArr([2, 1, 2], 5);
    const want = fromFn([2, 4, 2], ([i, j, k]) => (j! < 3 ? at(x, [i!, j!, k!]) : at(y, [i!, j! - 3, k!])));
    expectExact(concat([T(x), T(y)], 1), want.data);
    // Non-contiguous inputs.
    expectExact(concat([T(x).flip(1), T(y)], 1), concat([T(x).flip(1).contiguous(), T(y)], 1).toArray());
  });

  it("concat of large inputs and slices (strided rows), every dtype and axis, matches the naive result", () => {
    const a = randInts([6, 40, 70], 8, -9, 9);
    const b = randInts([6, 40, 70], 9, -9, 9);
    for (const dtype of ["float32", "float64", "int32", "bool"] as const) {
      const cast = (v: number) => (dtype === "bool" ? +(v !== 0) : v);
      for (let axis = 0; axis < 3; axis++) {
        const want = fromFn(a.shape.map((n, d) => (d === axis ? 2 * n : n)), (idx) => {
          const n = a.shape[axis]!;
          return idx[axis]! < n ? at(a, idx) : at(b, idx.map((i, d) => (d === axis ? i - n : i)));
        });
        expectTensor(concat([T(a, dtype), T(b, dtype)], axis), want.shape, dtype, want.data.map(cast));
      }
      // Halves of the last axis swapped (RoPE's rotate-half): slices whose rows are 70 apart.
      const t = T(a, dtype);
      const swapped = fromFn(a.shape, ([i, j, k]) => at(a, [i!, j!, (k! + 35) % 70]));
      expectTensor(concat([t.slice(null, null, [35, 70]), t.slice(null, null, [0, 35])], -1), a.shape, dtype, swapped.data.map(cast));
      // A transposed input beside a row-major one.
      const tb = fromFn([6, 70, 40], ([i, j, k]) => at(b, [i!, k!, j!]));
      const mixed = fromFn([6, 140, 40], ([i, j, k]) => (j! < 70 ? at(a, [i!, k!, j!]) : at(tb, [i!, j! - 70, k!])));
      expectTensor(concat([t.transpose(1, 2), T(tb, dtype)], 1), mixed.shape, dtype, mixed.data.map(cast));
    }
  });

  it("stack adds a new axis", () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([4, 5, 6]);
    expectTensor(stack([a, b]), [2, 3], "float32", [1, 2, 3, 4, 5, 6]);
    expectTensor(stack([a, b], 1), [3, 2], "float32", [1, 4, 2, 5, 3, 6]);
    expectTensor(stack([a, b], -1), [3, 2], "float32", [1, 4, 2, 5, 3, 6]);
    expectTensor(stack([tensor(1), tensor(2)]), [2], "float32", [1, 2]);
  });

  it("split into equal parts or given sizes; pieces are views", () => {
    const x = T(A);
    let parts!: Tensor[];
    expect(allocs(() => (parts = split(x, 2, 0)))).toBe(0);
    expect(parts.map((p) => p.shape)).toEqual([[1, 3, 4], [1, 3, 4]]);
    expectExact(parts[1]!, A.data.slice(12));
    const q = split(x, [1, 0, 3], -1);
    expect(q.map((p) => p.shape)).toEqual([[2, 3, 1], [2, 3, 0], [2, 3, 3]]);
    expectExact(q[0]!, [0, 4, 8, 12, 16, 20]);
    expectExact(q[2]!, A.data.filter((v) => v % 4 !== 0));
    expectExact(concat(split(x, [2, 1], 1), 1), A.data);
  });
});

describe("views share storage", () => {
  it("view ops allocate nothing and share the buffer", () => {
    const x = T(A);
    const views: [string, (t: Tensor) => Tensor][] = [
      ["reshape", (t) => t.reshape(4, 6)],
      ["reshape -1", (t) => t.reshape(-1)],
      ["transpose", (t) => t.transpose()],
      ["permute", (t) => t.permute(2, 0, 1)],
      ["slice", (t) => t.slice(null, [1, 3], [undefined, undefined, 2])],
      ["index", (t) => t.slice(1, 2)],
      ["flip", (t) => t.flip([0, 2])],
      ["expand", (t) => t.unsqueeze(0).expand(5, 2, 3, 4)],
      ["squeeze/unsqueeze", (t) => t.unsqueeze(1).squeeze(1)],
      ["flatten", (t) => t.flatten(1)],
      ["split", (t) => split(t, 2, 0)[1]!],
      ["detach", (t) => t.detach()],
    ];
    for (const [name, f] of views) {
      let v!: Tensor;
      expect(allocs(() => (v = f(x))), name).toBe(0);
      expect(v.storage, name).toBe(x.storage);
    }
  });

  it("a view sees the same elements as the original (offsets and strides)", () => {
    const x = T(A);
    const v = x.slice(1, [1, 3], [3, 0, -2]);
    expect(v.storage).toBe(x.storage);
    expect(v.offset).toBe(12 + 4 + 3);
    expect(v.strides).toEqual([4, -2]);
    expect(v.shape).toEqual([2, 2]);
    expectExact(v, [19, 17, 23, 21]);
    expect(x.transpose().strides).toEqual([12, 1, 4]);
    expect(rowMajorStrides([2, 3, 4])).toEqual([...x.strides]);
  });

  it("ops produce fresh buffers and never mutate their inputs", () => {
    const x = T(A);
    const v = x.reshape(24);
    let y!: Tensor;
    expect(allocs(() => (y = v.neg()))).toBe(1);
    expect(y.storage).not.toBe(x.storage);
    expectExact(x, A.data);
  });
});
