import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad } from "@equigrad/autograd";
import * as T from "@equigrad/tensor";
import type { Tensor } from "@equigrad/tensor";
import { expectClose, expectGradOk, f64, randn } from "./helpers.js";

const i32 = (values: number[], shape: number[] = [values.length]): Tensor => T.tensor(Int32Array.from(values), { shape });

describe("matmul", () => {
  it.each([
    ["2-D", [3, 4], [4, 2]],
    ["batched", [2, 3, 4], [2, 4, 5]],
    ["broadcast batch [2,1,...] x [5,...]", [2, 1, 3, 4], [5, 4, 2]],
    ["batched x 2-D", [2, 3, 4], [4, 2]],
    ["2-D x batched", [3, 4], [2, 4, 2]],
    ["vector x matrix", [4], [4, 3]],
    ["matrix x vector", [3, 4], [4]],
    ["vector x vector", [4], [4]],
    ["batched x vector", [2, 3, 4], [4]],
    ["vector x batched", [3], [2, 3, 4]],
  ])("gradcheck %s: %j @ %j", (_, sa, sb) => expectGradOk((a, b) => a.matmul(b), [randn(sa, 81), randn(sb, 82)]));

  it("transposed operands (non-contiguous inputs)", () => {
    expectGradOk((a, b) => a.transpose().matmul(b.transpose()), [randn([4, 3], 83), randn([2, 4], 84)]);
    expectGradOk((a, b) => a.permute(1, 0, 2).matmul(b.transpose(0, 2)), [randn([3, 2, 4], 85), randn([5, 4, 2], 86)]);
  });

  it("a @ aᵀ (one input used twice)", () => expectGradOk((a) => a.matmul(a.transpose()), [randn([3, 4], 87)]));

  it("closed form: d/dA Σ G⊙(AB) = G Bᵀ and d/dB = Aᵀ G", () => {
    const [m, k, n] = [3, 4, 2];
    const A = randn([m, k], 88);
    const B = randn([k, n], 89);
    const G = randn([m, n], 90);
    const [ga, gb] = grad((a: Tensor, b: Tensor) => a.matmul(b).mul(G).sum(), { argnums: [0, 1] })(A, B);
    const a = A.toArray(), b = B.toArray(), g = G.toArray();
    const expA = Array.from({ length: m * k }, (_, idx) => {
      const [i, p] = [Math.floor(idx / k), idx % k];
      let s = 0;
      for (let j = 0; j < n; j++) s += g[i * n + j]! * b[p * n + j]!;
      return s;
    });
    const expB = Array.from({ length: k * n }, (_, idx) => {
      const [p, j] = [Math.floor(idx / n), idx % n];
      let s = 0;
      for (let i = 0; i < m; i++) s += a[i * k + p]! * g[i * n + j]!;
      return s;
    });
    expectClose(ga, expA);
    expectClose(gb, expB);
  });

  it("x @ Wᵀ (a Linear): dW comes out contiguous in W's layout, with the bits of (xᵀ G)ᵀ", () => {
    const x = new T.Rng(93).normal([300, 70]);
    const W = new T.Rng(94).normal([40, 70]);
    const G = new T.Rng(95).normal([300, 40]);
    const gw = grad((w: Tensor) => x.matmul(w.transpose()).mul(G).sum())(W) as Tensor;
    expect(gw.shape).toEqual([40, 70]);
    expect(gw.strides).toEqual([70, 1]);
    expect(Array.from(gw.toArray())).toEqual(Array.from(x.transpose().matmul(G).transpose().toArray()));
  });

  it("broadcast batch: the gradient of the broadcast operand sums over the batch", () => {
    const A = randn([3, 2, 4], 91);
    const B = randn([4, 2], 92);
    const gb = grad((a: Tensor, b: Tensor) => a.matmul(b).sum(), { argnums: 1 })(A, B) as Tensor;
    expect(gb.shape).toEqual([4, 2]);
    const colSums = A.sum([0, 1]).toArray(); // Σ over batch and rows of A[.., p]
    expectClose(gb, colSums.flatMap((s) => [s, s]));
  });
});

describe("views", () => {
  const x = (): Tensor => randn([2, 3, 4], 101);
  it.each([
    ["reshape", (t: Tensor) => t.reshape(4, 6)],
    ["reshape with -1", (t: Tensor) => t.reshape(-1, 2)],
    ["reshape of a transposed view (copies)", (t: Tensor) => t.transpose(0, 2).reshape(12, 2)],
    ["permute", (t: Tensor) => t.permute(2, 0, 1)],
    ["permute with negative axes", (t: Tensor) => t.permute(-1, -3, -2)],
    ["transpose", (t: Tensor) => t.transpose()],
    ["transpose(0, 2)", (t: Tensor) => t.transpose(0, 2)],
    ["expand", (t: Tensor) => t.slice(null, [0, 1]).expand(3, 2, 5, 4)],
    ["broadcastTo", (t: Tensor) => T.broadcastTo(t.sum(1, true), [2, 3, 4])],
    ["unsqueeze + squeeze", (t: Tensor) => t.unsqueeze(1).unsqueeze(-1).mul(2).squeeze([1, 4])],
    ["squeeze all", (t: Tensor) => t.slice(null, [1, 2]).squeeze()],
    ["flatten", (t: Tensor) => t.flatten()],
    ["flatten(1)", (t: Tensor) => t.flatten(1)],
    ["flatten(0, 1) of a permuted view", (t: Tensor) => t.permute(1, 0, 2).flatten(0, 1)],
    ["flip one axis", (t: Tensor) => t.flip(1)],
    ["flip two axes", (t: Tensor) => t.flip([0, 2])],
    ["contiguous copy of a view", (t: Tensor) => t.transpose(0, 1).contiguous()],
    ["views of views", (t: Tensor) => t.permute(2, 1, 0).slice([undefined, undefined, -1], [1]).reshape(16).flip(0)],
  ] as [string, (t: Tensor) => Tensor][])("gradcheck %s", (_, f) => expectGradOk(f, [x()]));
});

describe("slice", () => {
  const x = (): Tensor => randn([5, 6], 111);
  it.each([
    ["a range", [[1, 4]]],
    ["step 2", [[0, 5, 2], [1, 6, 2]]],
    ["step 3, open start/end", [[undefined, undefined, 3], null]],
    ["negative start/stop", [[-3, -1], [-4]]],
    ["step -1 (reverse)", [[undefined, undefined, -1]]],
    ["step -2", [null, [undefined, undefined, -2]]],
    ["step -3 from an inner start", [[4, 0, -3], [5, undefined, -2]]],
    ["an integer index (drops the axis)", [2]],
    ["a negative integer index", [null, -1]],
    ["integer and stepped", [1, [undefined, undefined, -2]]],
    ["empty result", [[3, 3]]],
  ] as [string, T.SliceSpec[]][])("gradcheck %s", (_, spec) => {
    const empty = spec.some((s) => Array.isArray(s) && s[0] === s[1] && s[0] !== undefined);
    if (empty) {
      const g = grad((t: Tensor) => t.slice(...spec).sum())(x()) as Tensor;
      expect(g.shape).toEqual([5, 6]);
      expectClose(g, new Array(30).fill(0));
    } else expectGradOk((t) => t.slice(...spec), [x()]);
  });

  it("split pieces used differently", () => {
    expectGradOk((t) => {
      const [a, b, c] = T.split(t, [1, 2, 3], 1);
      return a!.mul(b!.sum(1, true)).add(c!.sin().sum(1, true));
    }, [randn([3, 6], 112)]);
  });

  it("property: the gradient of Σ w ⊙ x[spec] puts each w at the position it was read from (Python slice semantics)", () => {
    const dim = fc.integer({ min: 1, max: 5 });
    const entry = (len: number) =>
      fc.oneof(
        fc.constant(null),
        fc.integer({ min: -len, max: len - 1 }),
        fc.tuple(
          fc.option(fc.integer({ min: -7, max: 7 }), { nil: undefined }),
          fc.option(fc.integer({ min: -7, max: 7 }), { nil: undefined }),
          fc.constantFrom(-3, -2, -1, 1, 2, 3),
        ),
      );
    const arb = fc.array(dim, { minLength: 1, maxLength: 3 }).chain((shape) => fc.tuple(fc.constant(shape), fc.tuple(...shape.map((d) => entry(d)))));
    fc.assert(
      fc.property(arb, ([shape, spec]) => {
        T.tidy(() => {
          const n = shape.reduce((a, b) => a * b, 1);
          const x = f64(Array.from({ length: n }, (_, i) => i), shape);
          // Independent oracle: the flat source position of each element of x[spec].
          const perAxis = shape.map((len, a) => axisIndices(len, spec[a] as T.SliceSpec));
          const positions = cartesian(perAxis).map((idx) => idx.reduce((acc, v, a) => acc * shape[a]! + v, 0));
          const y = x.slice(...(spec as T.SliceSpec[]));
          expect(y.toArray()).toEqual(positions);
          const w = f64(positions.map((_, i) => i + 1), y.shape);
          const g = grad((t: Tensor) => t.slice(...(spec as T.SliceSpec[])).mul(w).sum())(x) as Tensor;
          const expected = new Array<number>(n).fill(0);
          positions.forEach((p, i) => (expected[p]! += i + 1));
          expect(g.shape).toEqual(shape);
          expect(g.toArray()).toEqual(expected);
        });
      }),
      { numRuns: 150, seed: 4242 },
    );
  });
});

/** Python's slice.indices() followed by range(), or a single index. */
function axisIndices(len: number, s: T.SliceSpec): number[] {
  if (s === null) return Array.from({ length: len }, (_, i) => i);
  if (typeof s === "number") return [s < 0 ? s + len : s];
  const [start, stop, step = 1] = s;
  const [lower, upper] = step > 0 ? [0, len] : [-1, len - 1];
  const adjust = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (v < 0) return Math.max(v + len, lower);
    return Math.min(v, upper);
  };
  const b = adjust(start, step > 0 ? lower : upper);
  const e = adjust(stop, step > 0 ? upper : lower);
  const out: number[] = [];
  for (let i = b; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

function cartesian(axes: number[][]): number[][] {
  return axes.reduce<number[][]>((acc, vs) => acc.flatMap((prefix) => vs.map((v) => [...prefix, v])), [[]]);
}

describe("concat, stack, split, pad", () => {
  it("concat along each axis with unequal sizes", () => {
    expectGradOk((a, b, c) => T.concat([a, b, c], 1), [randn([2, 1, 3], 121), randn([2, 2, 3], 122), randn([2, 3, 3], 123)]);
    expectGradOk((a, b) => T.concat([a, b], -1), [randn([2, 3], 124), randn([2, 1], 125)]);
    expectGradOk((a, b) => T.concat([a, b], 0), [randn([1, 3], 126), randn([2, 3], 127)]);
  });
  it("concat of the same tensor twice accumulates", () => {
    const g = grad((t: Tensor) => T.concat([t, t.mul(2)], 0).sum())(randn([3], 128));
    expectClose(g, [3, 3, 3]);
  });
  it("stack along the first, a middle and the last axis", () => {
    const ins = [randn([2, 3], 129), randn([2, 3], 130), randn([2, 3], 131)];
    expectGradOk((a, b, c) => T.stack([a, b, c], 0), ins);
    expectGradOk((a, b, c) => T.stack([a, b, c], 1), ins);
    expectGradOk((a, b, c) => T.stack([a, b, c], -1), ins);
  });
  it("stack of one tensor", () => expectGradOk((a) => T.stack([a], 0), [randn([3], 132)]));
  it("split into equal parts, only some used: unused parts get zero gradient", () => {
    const x = randn([6, 2], 133);
    const g = grad((t: Tensor) => {
      const [, b, c] = T.split(t, 3, 0);
      return b!.sum().add(c!.mul(3).sum());
    })(x);
    expectClose(g, [0, 0, 0, 0, 1, 1, 1, 1, 3, 3, 3, 3]);
  });
  it("the slices of one tensor along one axis join with one concat, not a pad per slice", () => {
    const x = randn([4, 3, 12], 136);
    const w = randn([4, 3, 4], 137);
    // Parts of the last axis (like a fused QKV projection): q used twice, k once, v not at all (a gap).
    const f = (t: Tensor) => {
      const [q, k] = T.split(t, [5, 4, 3], -1);
      return q!.mul(k!.mul(w).sum(-1, true)).sum().add(q!.mul(2).sum());
    };
    const [g, table] = T.profile(() => grad(f)(x) as Tensor);
    expect(table.some((e) => e.op === "pad")).toBe(false);
    expect(table.find((e) => e.op === "concat")?.calls).toBe(1);
    expectGradOk(f, [x]);
    // Overlapping slices (and slices along two axes) fall back to padding.
    expectGradOk((t: Tensor) => t.slice(null, [0, 2]).mul(t.slice(null, [1, 3])).sum().add(t.slice([1, 3]).sum()), [randn([4, 3], 138)]);
    expect(g.shape).toEqual([4, 3, 12]);
  });
  it.each([
    ["both sides, both axes", [[1, 2], [0, 3]]],
    ["only the first axis", [[2, 0]]],
    ["one side", [[0, 0], [1, 0]]],
  ] as [string, [number, number][]][])("pad %s", (_, pads) => expectGradOk((t) => T.pad(t, pads), [randn([2, 3], 134)]));
  it("pad of a flipped view, then slice back", () => expectGradOk((t) => T.pad(t.flip(0), [[1, 1], [2, 0]]).slice([0, 3], [1]), [randn([3, 4], 135)]));
});

describe("gather, scatterAdd, indexSelect", () => {
  it("gather along axis 0 with repeated indices", () => {
    const idx = i32([0, 2, 2, 1, 0, 0, 1, 2], [2, 4]);
    expectGradOk((x) => T.gather(x, idx, 0), [randn([3, 4], 141)]);
  });
  it("gather along the last axis with an index smaller than the input off-axis", () => {
    const idx = i32([3, 3, 0, 1, 2, 3], [2, 3]);
    expectGradOk((x) => x.gather(idx, -1), [randn([3, 5], 142)]);
  });
  it("gather with negative indices (counted from the end)", () => {
    const idx = i32([-1, 0, -1], [1, 3]);
    expectGradOk((x) => T.gather(x, idx, 0), [randn([2, 3], 143)]);
  });
  it("gather closed form: repeated reads add up", () => {
    const g = grad((x: Tensor) => T.gather(x, i32([2, 2, 0, 2]), 0).sum())(randn([3], 144));
    expectClose(g, [1, 0, 3]);
  });
  it("scatterAdd: gradients of base and source", () => {
    const idx = i32([0, 2, 2, 1, 1, 0, 0, 1], [2, 4]);
    expectGradOk((base, src) => T.scatterAdd(base, idx, src, 0), [randn([3, 4], 145), randn([2, 4], 146)]);
    const idx1 = i32([4, 4, 0, 1, 1, 1], [3, 2]);
    expectGradOk((base, src) => T.scatterAdd(base, idx1, src, 1), [randn([3, 5], 147), randn([3, 2], 148)]);
  });
  it("scatterAdd closed form: d src = g at the scattered positions", () => {
    const w = f64([1, 2, 3]);
    const [gBase, gSrc] = grad((b: Tensor, s: Tensor) => T.scatterAdd(b, i32([2, 0, 2, 2]), s, 0).mul(w).sum(), { argnums: [0, 1] })(randn([3], 149), randn([4], 150));
    expectClose(gBase, [1, 2, 3]);
    expectClose(gSrc, [3, 1, 3, 3]);
  });
  it("indexSelect: embedding lookup with repeated indices", () => {
    const table = randn([5, 3], 151);
    const ids = i32([1, 3, 1, 1, 4, 0], [2, 3]);
    expectGradOk((t) => T.indexSelect(t, ids, 0), [table]);
    // Closed form: row r of the gradient is Σ of the cotangent rows looked up with id r.
    const cot = randn([2, 3, 3], 152);
    const g = grad((t: Tensor) => T.indexSelect(t, ids, 0).mul(cot).sum())(table) as Tensor;
    const c = cot.toArray();
    const expected = new Array(15).fill(0);
    ids.toArray().forEach((r, i) => {
      for (let j = 0; j < 3; j++) expected[r * 3 + j] += c[i * 3 + j]!;
    });
    expectClose(g, expected);
    // Row 2 is never looked up: exactly zero.
    expect(g.toArray().slice(6, 9)).toEqual([0, 0, 0]);
  });
  it("indexSelect along a middle axis", () => {
    expectGradOk((t) => T.indexSelect(t, i32([2, 0, 2]), 1), [randn([2, 3, 2], 153)]);
  });
});

describe("tril / triu on float inputs", () => {
  it.each([0, 1, -1, 2])("k = %i", (k) => {
    expectGradOk((t) => T.tril(t, k), [randn([3, 4], 161)]);
    expectGradOk((t) => T.triu(t, k), [randn([2, 3, 3], 162)]);
  });
  it("closed form: the gradient is the mask", () => {
    expectClose(grad((t: Tensor) => T.tril(t).sum())(randn([3, 3], 163)), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
    expectClose(grad((t: Tensor) => T.triu(t, 1).sum())(randn([2, 3], 164)), [0, 1, 1, 0, 0, 1]);
  });
});

/** A plain-JS model of a view: for each element (row-major), the flat index in the source it reads. */
interface Model {
  shape: number[];
  src: number[];
}

const strides = (shape: number[]): number[] => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
const unravel = (flat: number, shape: number[]): number[] => strides(shape).map((s, i) => Math.floor(flat / s) % shape[i]!);
const ravel = (idx: number[], shape: number[]): number => idx.reduce((acc, v, i) => acc * shape[i]! + v, 0);

/** One random view op, chosen and parameterised by `r`, applied to the tensor and to its model alike. */
function randomView(t: Tensor, m: Model, kind: number, r: number[]): [Tensor, Model] {
  const rank = m.shape.length;
  const n = m.src.length;
  const pick = (k: number, bound: number): number => r[k % r.length]! % bound;
  switch (kind) {
    case 0: {
      // permute
      const perm = [...Array(rank).keys()];
      for (let i = rank - 1; i > 0; i--) {
        const j = pick(i, i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const shape = perm.map((p) => m.shape[p]!);
      const src = Array.from({ length: n }, (_, o) => {
        const oi = unravel(o, shape);
        const ii: number[] = [];
        perm.forEach((p, k) => (ii[p] = oi[k]!));
        return m.src[ravel(ii, m.shape)]!;
      });
      return [t.permute(perm), { shape, src }];
    }
    case 1: {
      // slice with a random spec per axis (ranges with steps of either sign; integer indices while rank > 1)
      let dropped = 0;
      const spec: T.SliceSpec[] = m.shape.map((len, i) => {
        const c = pick(i, 4);
        if (c === 0 && rank - dropped > 1 && len > 0) {
          dropped++;
          return pick(i + 4, 2 * len) - len;
        }
        if (c === 1) return null;
        const step = [-2, -1, 1, 2, 3][pick(i + 1, 5)]!;
        return [pick(i + 2, 2 * len + 3) - len - 1, pick(i + 3, 2 * len + 3) - len - 1, step] as const;
      });
      const per = m.shape.map((len, i) => axisIndices(len, spec[i]!));
      const shape = per.flatMap((ix, i) => (typeof spec[i] === "number" ? [] : [ix.length]));
      const src = cartesian(per).map((ii) => m.src[ravel(ii, m.shape)]!);
      return [t.slice(...spec), { shape, src }];
    }
    case 2: {
      // flip one axis
      const a = pick(0, rank);
      const src = Array.from({ length: n }, (_, o) => {
        const ii = unravel(o, m.shape);
        ii[a] = m.shape[a]! - 1 - ii[a]!;
        return m.src[ravel(ii, m.shape)]!;
      });
      return [t.flip(a), { shape: m.shape, src }];
    }
    case 3: {
      // reshape: flatten, or split the element count into two or three factors
      const divisors = [...Array(n + 1).keys()].filter((d) => d > 0 && n % d === 0);
      const a = divisors[pick(0, divisors.length)] ?? 1;
      const rest = n / a;
      const restDiv = [...Array(rest + 1).keys()].filter((d) => d > 0 && rest % d === 0);
      const b = restDiv[pick(1, restDiv.length)] ?? 1;
      const shape = n === 0 ? [0] : [[n], [a, rest], [a, b, rest / b]][pick(2, 3)]!;
      return [t.reshape(shape), { shape, src: m.src }];
    }
    case 4: {
      // expand: a new leading axis of 2, or a size-1 axis to 3
      const ones = m.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      const shape = ones.length && pick(0, 2) ? m.shape.map((d, i) => (i === ones[pick(1, ones.length)] ? 3 : d)) : [2, ...m.shape];
      const src = Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, o) => {
        const oi = unravel(o, shape).slice(shape.length - rank);
        return m.src[ravel(oi.map((v, i) => (m.shape[i] === 1 ? 0 : v)), m.shape)]!;
      });
      return [t.expand(shape), { shape, src }];
    }
    default: {
      // unsqueeze at a random position
      const a = pick(0, rank + 1);
      const shape = [...m.shape.slice(0, a), 1, ...m.shape.slice(a)];
      return [t.unsqueeze(a), { shape, src: m.src }];
    }
  }
}

describe("property: random chains of view ops", () => {
  it("read the right elements and send each cotangent back to the element it read (accumulating repeats)", () => {
    const op = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }));
    const arb = fc.tuple(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.array(op, { minLength: 1, maxLength: 5 }));
    fc.assert(
      fc.property(arb, ([shape, ops]) => {
        T.tidy(() => {
          const n = shape.reduce((a, b) => a * b, 1);
          const x = f64(Array.from({ length: n }, (_, i) => i), shape);
          const chain = (t: Tensor): [Tensor, Model] => {
            let cur: [Tensor, Model] = [t, { shape: [...shape], src: Array.from({ length: n }, (_, i) => i) }];
            for (const [kind, r] of ops) {
              if (cur[1].src.length > 400) break; // expand can grow it: keep it small
              cur = randomView(cur[0], cur[1], kind, r);
            }
            return cur;
          };
          const [y, model] = chain(x);
          expect(y.shape).toEqual(model.shape);
          expect(y.toArray()).toEqual(model.src);
          const w = f64(model.src.map((_, i) => (i % 7) + 1), model.shape);
          const g = grad((t: Tensor) => chain(t)[0].mul(w).sum())(x) as Tensor;
          const expected = new Array<number>(n).fill(0);
          model.src.forEach((s, i) => (expected[s]! += (i % 7) + 1));
          expect(g.shape).toEqual(shape);
          expect(g.toArray()).toEqual(expected);
        });
      }),
      // FUZZ_RUNS / FUZZ_SEED widen the search by hand; the default run is fixed and quick.
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 777) },
    );
  });
});
