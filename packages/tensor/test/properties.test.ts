/** Property tests over random shapes (fast-check), against the naive references in helpers.ts. */
import { describe, it } from "vitest";
import fc from "fast-check";
import { OpError, Tensor, add, arange, matmul, maximum, mul, sub, tidy } from "@equigrad/tensor";
import {
  broadcastPair, expectClose, expectExact, mk, naiveBatchedMatmul, naiveBinary, naiveMax, naiveMean, naiveMin, naivePermute, naiveSum,
  prod, pythonSlice, randArr, type Arr,
} from "./helpers.js";

const RUNS = { numRuns: 80 };

/** A dim: mostly 1..4, sometimes 0. */
const dim = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: fc.integer({ min: 1, max: 4 }) });
const shapeArb = (minRank: number, maxRank: number, d: fc.Arbitrary<number> = dim) => fc.array(d, { minLength: minRank, maxLength: maxRank });

/** Two shapes that broadcast to `out`: each drops some leading dims and turns some dims into 1. */
const broadcastPairArb = shapeArb(0, 4).chain((out) =>
  fc.record({
    out: fc.constant(out),
    dropA: fc.integer({ min: 0, max: out.length }),
    dropB: fc.integer({ min: 0, max: out.length }),
    onesA: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    onesB: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    seed: fc.integer(),
    transposeA: fc.boolean(),
  }),
).map(({ out, dropA, dropB, onesA, onesB, seed, transposeA }) => ({
  a: out.slice(dropA).map((d, i) => (onesA[i + dropA] ? 1 : d)),
  b: out.slice(dropB).map((d, i) => (onesB[i + dropB] ? 1 : d)),
  seed,
  transposeA,
}));

/** A tensor with the values of `a`, as a transposed view (last two axes) when asked and possible. */
function tensorOf(a: Arr, transposed: boolean, dtype: "float64" | "float32" = "float64"): Tensor {
  const r = a.shape.length;
  if (!transposed || r < 2) return mk(a.data, a.shape, dtype);
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  const stored = naivePermute(a, perm);
  return mk(stored.data, stored.shape, dtype).transpose(-2, -1);
}

describe("broadcasting binary ops (property)", () => {
  const ops: [string, (x: Tensor, y: Tensor) => Tensor, (p: number, q: number) => number][] = [
    ["add", add, (p, q) => p + q],
    ["sub", sub, (p, q) => p - q],
    ["mul", mul, (p, q) => p * q],
    ["maximum", maximum, (p, q) => Math.max(p, q)],
  ];
  for (const [name, fn, f] of ops) {
    it(`${name} matches a naive broadcasting implementation`, () => {
      fc.assert(
        fc.property(broadcastPairArb, ({ a, b, seed, transposeA }) =>
          tidy(() => {
            const A = randArr(a, seed);
            const B = randArr(b, seed + 1);
            const e = naiveBinary(A, B, f);
            const y = fn(tensorOf(A, transposeA), mk(B.data, B.shape));
            expectExact(y.shape, e.shape);
            expectExact(y, e.data);
            // float32: Math.fround of the exact result of the float32 inputs.
            const A32 = { shape: A.shape, data: A.data.map(Math.fround) };
            const B32 = { shape: B.shape, data: B.data.map(Math.fround) };
            expectExact(fn(tensorOf(A32, transposeA, "float32"), mk(B32.data, B32.shape, "float32")), naiveBinary(A32, B32, f).data.map(Math.fround));
          }),
        ),
        RUNS,
      );
    });
  }

  it("shapes that do not broadcast throw an OpError; others give the NumPy shape", () => {
    fc.assert(
      fc.property(shapeArb(0, 3, fc.integer({ min: 0, max: 3 })), shapeArb(0, 3, fc.integer({ min: 0, max: 3 })), (a, b) =>
        tidy(() => {
          const want = broadcastPair(a, b);
          let got: readonly number[] | null = null;
          try {
            got = add(mk(new Array(prod(a)).fill(1), a), mk(new Array(prod(b)).fill(2), b)).shape;
          } catch (e) {
            if (!(e instanceof OpError)) throw e;
          }
          if (want === null) expectExact([got === null ? 1 : 0], [1]);
          else expectExact(got ?? [-1], want);
        }),
      ),
      RUNS,
    );
  });
});

describe("reductions over random axis subsets (property)", () => {
  const reductionArb = shapeArb(1, 4, fc.integer({ min: 1, max: 4 })).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axes: fc.subarray([...shape.keys()]),
      negative: fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      reversed: fc.boolean(),
      keepdim: fc.boolean(),
      transposed: fc.boolean(),
      op: fc.constantFrom("sum", "mean", "max", "min"),
      seed: fc.integer(),
    }),
  );
  const naive = { sum: naiveSum, mean: naiveMean, max: naiveMax, min: naiveMin };

  it("sum / mean / max / min match a naive reduction", () => {
    fc.assert(
      fc.property(reductionArb, ({ shape, axes, negative, reversed, keepdim, transposed, op, seed }) =>
        tidy(() => {
          const A = randArr(shape, seed);
          const spec = axes.map((a) => (negative[a] ? a - shape.length : a));
          if (reversed) spec.reverse();
          const x = tensorOf(A, transposed);
          const y = x[op](spec, keepdim);
          const e = naive[op](A, axes, keepdim);
          expectExact(y.shape, e.shape);
          expectClose(y, e.data, { rtol: 1e-12, atol: 1e-13 });
        }),
      ),
      RUNS,
    );
  });

  it("sum over axes containing empty dims gives zeros of the right shape", () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.boolean(), (shape, keepdim) =>
        tidy(() => {
          const A = randArr(shape, 3);
          const axes = [...shape.keys()].filter((i) => shape[i] === 0 || i === 0);
          const e = naiveSum(A, axes, keepdim);
          const y = mk(A.data, shape).sum(axes, keepdim);
          expectExact(y.shape, e.shape);
          expectExact(y, e.data);
        }),
      ),
      RUNS,
    );
  });
});

describe("reshape / permute round trips (property)", () => {
  const permArb = shapeArb(1, 4).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
      seed: fc.integer(),
    }),
  );

  it("permute matches a naive permutation; the inverse permutation restores the original", () => {
    fc.assert(
      fc.property(permArb, ({ shape, perm, seed }) =>
        tidy(() => {
          const A = randArr(shape, seed);
          const x = mk(A.data, shape);
          const p = x.permute(perm);
          const e = naivePermute(A, perm);
          expectExact(p.shape, e.shape);
          expectExact(p, e.data);
          const inverse = perm.map((_, i) => perm.indexOf(i));
          const back = p.permute(inverse);
          expectExact(back.shape, shape);
          expectExact(back, A.data);
          // Flattening the permuted view gives its row-major order (a copy unless viewable).
          expectExact(p.reshape(-1), e.data);
        }),
      ),
      RUNS,
    );
  });

  it("reshape to another shape and back is the identity, for contiguous and permuted views", () => {
    fc.assert(
      fc.property(permArb, fc.integer({ min: 0, max: 3 }), ({ shape, perm, seed }, split) =>
        tidy(() => {
          const A = randArr(shape, seed);
          const p = mk(A.data, shape).permute(perm);
          const e = naivePermute(A, perm);
          // Another shape with the same size: the dims reversed, then one more split or merge.
          const other = [...e.shape].reverse();
          const merged = other.length > 1 ? [other[0]! * other[1]!, ...other.slice(2)] : other;
          const target = split % 2 === 0 ? other : merged;
          const r = p.reshape(target);
          expectExact(r.shape, target);
          expectExact(r, e.data);
          const back = r.reshape(e.shape);
          expectExact(back.shape, e.shape);
          expectExact(back, e.data);
        }),
      ),
      RUNS,
    );
  });
});

describe("slice (property)", () => {
  it("matches Python slicing on random bounds and steps", () => {
    const bound = fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined });
    const step = fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), bound, bound, step, (len, start, stop, st) =>
        tidy(() => {
          const want = pythonSlice(len, start, stop, st);
          const y = arange(len).slice([start, stop, st]);
          expectExact(y.shape, [want.length]);
          expectExact(y, want);
        }),
      ),
      { numRuns: 200 },
    );
  });
});

describe("matmul with broadcast batch dims (property)", () => {
  it("matches a naive batched matmul", () => {
    const batch = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 });
    fc.assert(
      fc.property(
        batch,
        fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
        fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
        fc.integer({ min: 0, max: 2 }),
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 4 })),
        fc.boolean(),
        fc.integer(),
        (bs, onesA, onesB, dropB, [m, k, n], transposed, seed) =>
          tidy(() => {
            const ba = bs.map((d, i) => (onesA[i] ? 1 : d));
            const bb = bs.slice(Math.min(dropB, bs.length)).map((d, i) => (onesB[i] ? 1 : d));
            const A = randArr([...ba, m, k], seed);
            const B = randArr([...bb, k, n], seed + 1);
            const y = matmul(tensorOf(A, transposed), tensorOf(B, !transposed));
            const e = naiveBatchedMatmul(A, B);
            expectExact(y.shape, e.shape);
            expectClose(y, e.data, { rtol: 1e-12, atol: 1e-13 });
          }),
      ),
      RUNS,
    );
  });
});
