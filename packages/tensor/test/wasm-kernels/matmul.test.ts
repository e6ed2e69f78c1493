// The wasm backend's matmul kernel generator, run through its own pieces (allocator, kernel
// cache, pool) on one shared memory, against a float64 reference computed here.
import { afterAll, describe, expect, test } from "vitest";
import type { DeviceBuffer, View } from "../../src/backend/view.js";
import { Allocator } from "../../src/backends/wasm/allocator.js";
import { wasmApi } from "../../src/backends/wasm/asm/index.js";
import { KernelCache } from "../../src/backends/wasm/kernel-cache.js";
import { planMatmul, type MatmulTuning } from "../../src/backends/wasm/kernels/matmul.js";
import type { KernelPlan } from "../../src/backends/wasm/kernels/plan.js";
import { Pool } from "../../src/backends/wasm/pool.js";

interface Buf extends DeviceBuffer {
  readonly ptr: number;
}

const memory = new (wasmApi().Memory)({ initial: 64, maximum: 65536, shared: true });
const allocator = new Allocator(memory);
const cache = new KernelCache(memory);
const pools = new Map<number, Pool>();
const pool = (threads: number): Pool => {
  let p = pools.get(threads);
  if (!p) pools.set(threads, (p = new Pool(memory, threads)));
  return p;
};
afterAll(async () => {
  for (const p of pools.values()) await p.close();
});

function alloc(size: number): Buf {
  return { backend: "wasm", dtype: "float32", size, ptr: allocator.alloc(Math.max(size, 1) * 4) };
}
const f32 = (b: Buf): Float32Array => new Float32Array(memory.buffer as ArrayBuffer, b.ptr, b.size);
const ptr = (v: View): number => (v.buffer as Buf).ptr + v.offset * 4;

/** A random generator (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Layout {
  /** Storage order of the dims, outermost first (default: row-major). */
  perm?: readonly number[];
  /** Extra elements after each innermost storage row. */
  pad?: number;
  /** Dims stored with a negative stride. */
  flip?: readonly number[];
  /** Dims broadcast with stride 0. */
  bcast?: readonly number[];
}

interface Operand {
  view: View;
  buf: Buf;
  at: (idx: readonly number[]) => number;
}

/** A float32 view of `shape` laid out per `layout`, filled by `gen` (in storage order). */
function operand(shape: readonly number[], layout: Layout, gen: () => number): Operand {
  const r = shape.length;
  const phys = shape.map((d, i) => (layout.bcast?.includes(i) ? 1 : d));
  const order = layout.perm ?? shape.map((_, i) => i);
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let q = r - 1; q >= 0; q--) {
    const d = order[q]!;
    strides[d] = s;
    s *= phys[d]! + (q === r - 1 ? (layout.pad ?? 0) : 0);
  }
  let offset = 0;
  for (let d = 0; d < r; d++) {
    if (layout.bcast?.includes(d)) strides[d] = 0;
    if (layout.flip?.includes(d)) {
      offset += (shape[d]! - 1) * strides[d]!;
      strides[d] = -strides[d]!;
    }
  }
  const lead = 3; // view offset inside its buffer
  const buf = alloc(s + lead);
  const data = f32(buf);
  for (let i = 0; i < data.length; i++) data[i] = gen();
  const view: View = { buffer: buf, dtype: "float32", shape, strides, offset: offset + lead };
  const at = (idx: readonly number[]) => {
    let o = view.offset;
    for (let d = 0; d < r; d++) o += idx[d]! * strides[d]!;
    return f32(buf)[o]!;
  };
  return { view, buf, at };
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** float64 reference and Σ|a||b| per output element. */
function reference(a: Operand, b: Operand, batch: readonly number[], m: number, k: number, n: number): { val: Float64Array; mag: Float64Array } {
  const nb = prod(batch);
  const val = new Float64Array(nb * m * n), mag = new Float64Array(nb * m * n);
  for (let bi = 0; bi < nb; bi++) {
    const bidx = unravel(bi, batch);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0, am = 0;
        for (let p = 0; p < k; p++) {
          const x = a.at([...bidx, i, p]) * b.at([...bidx, p, j]);
          acc += x;
          am += Math.abs(x);
        }
        val[(bi * m + i) * n + j] = acc;
        mag[(bi * m + i) * n + j] = am;
      }
  }
  return { val, mag };
}

const GUARD = 5;

/**
 * Plans and runs a matmul into a fresh output (NaN-filled, with guard elements around it);
 * returns the plan and the output.
 */
function run(a: View, b: View, outShape: readonly number[], tuning: Partial<MatmulTuning>, threads: number, split: boolean): { plan: KernelPlan; out: Float32Array } {
  const size = prod(outShape);
  const buf = alloc(size + 2 * GUARD);
  f32(buf).fill(NaN);
  f32(buf).fill(7, 0, GUARD).fill(7, GUARD + size);
  const out: View = { buffer: buf, dtype: "float32", shape: outShape, strides: contiguous(outShape), offset: GUARD };
  const plan = planMatmul(a, b, out, { debug: true, tuning });
  expect(plan).not.toBeNull();
  const kernel = cache.get(plan!.key, plan!.build);
  const per = plan!.scratchBytesPerThread ?? 0;
  const scratch = per ? allocator.alloc(per * threads) : 0;
  pool(threads).run(kernel, [ptr(a), ptr(b), ptr(out), scratch], plan!.units, split ? 1 : plan!.minUnitsPerThread);
  const all = f32(buf).slice();
  if (scratch) allocator.free(scratch);
  allocator.free(buf.ptr);
  for (let i = 0; i < GUARD; i++) {
    expect(all[i], "guard before the output").toBe(7);
    expect(all[GUARD + size + i], "guard after the output").toBe(7);
  }
  return { plan: plan!, out: all.subarray(GUARD, GUARD + size) };
}

function contiguous(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) (s[d] = acc), (acc *= shape[d]!);
  return s;
}

interface Case {
  batch?: readonly number[];
  m: number;
  k: number;
  n: number;
  la?: Layout;
  lb?: Layout;
  tuning?: Partial<MatmulTuning>;
  /** Integer inputs: the float32 result must be exact. */
  ints?: boolean;
  seed?: number;
}

/** Checks one case at 1 and 2 threads; returns the plan. */
function check(c: Case): KernelPlan {
  const batch = c.batch ?? [];
  const { m, k, n } = c;
  const g = rng(c.seed ?? m * 1000003 + k * 1009 + n);
  const gen = c.ints ? () => Math.floor(g() * 7) - 3 : () => g() * 2 - 1;
  const a = operand([...batch, m, k], c.la ?? {}, gen);
  const b = operand([...batch, k, n], c.lb ?? {}, gen);
  const outShape = [...batch, m, n];
  const { val, mag } = reference(a, b, batch, m, k, n);
  const { plan: p, out: r1 } = run(a.view, b.view, outShape, c.tuning ?? {}, 1, false);
  const { out: r2 } = run(a.view, b.view, outShape, c.tuning ?? {}, 2, true);
  expect(wasmApi().validate(p.build())).toBe(true);
  let bad = 0;
  for (let i = 0; i < val.length; i++) {
    const tol = c.ints ? 0 : (k + 2) * 2.5e-7 * mag[i]! + 1e-30;
    if (!(Math.abs(r1[i]! - val[i]!) <= tol)) {
      if (bad++ < 5) expect.soft(r1[i], `element ${i} (${unravel(i, outShape)}) of ${JSON.stringify(c)}`).toBeCloseTo(val[i]!, 4);
    }
  }
  expect(bad, `wrong elements for ${JSON.stringify(c)}`).toBe(0);
  expect(Buffer.from(r2.buffer, r2.byteOffset, r2.byteLength).equals(Buffer.from(r1.buffer, r1.byteOffset, r1.byteLength)), "1 vs 2 threads bit-identical").toBe(true);
  allocator.free(a.buf.ptr);
  allocator.free(b.buf.ptr);
  return p;
}

const T: Layout = { perm: [1, 0] };
const TB = (r: number): Layout => ({ perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });

describe("wasm matmul kernel", () => {
  test("exact on integer inputs for ragged sizes (m, n, k not multiples of the tiles)", () => {
    const sizes = [1, 3, 5, 8, 17, 33];
    for (const m of sizes) for (const n of sizes) for (const k of [1, 3, 17, 64]) check({ m, k, n, ints: true });
  });

  test("larger ragged sizes, several k blocks", () => {
    check({ m: 129, k: 129, n: 129 });
    check({ m: 67, k: 300, n: 131, ints: true });
    check({ m: 130, k: 520, n: 35 });
    check({ m: 2, k: 1000, n: 257 });
  });

  test("k = 0 gives zeros", () => {
    for (const [m, n] of [[1, 1], [5, 9], [64, 64], [130, 7]] as const) {
      const p = check({ m, k: 0, n });
      expect(p.scratchBytesPerThread ?? 0).toBe(0);
    }
    check({ batch: [3], m: 9, k: 0, n: 13 });
  });

  test("transposed and strided operands", () => {
    for (const [m, k, n] of [[1, 5, 3], [7, 9, 11], [33, 65, 17], [64, 128, 96], [100, 3, 129]] as const) {
      check({ m, k, n, la: T });
      check({ m, k, n, lb: T });
      check({ m, k, n, la: T, lb: T, ints: true });
      check({ m, k, n, la: { pad: 3 }, lb: { pad: 5 } });
      check({ m, k, n, la: { perm: [1, 0], pad: 2 }, lb: { perm: [1, 0], pad: 1 } });
      check({ m, k, n, la: { flip: [0] }, lb: { flip: [1] } });
      check({ m, k, n, la: { flip: [1], perm: [1, 0] }, lb: { flip: [0, 1] }, ints: true });
    }
  });

  test("batch dims: broadcast (stride 0), transposed, non-mergeable", () => {
    check({ batch: [4], m: 17, k: 9, n: 20 });
    check({ batch: [4], m: 17, k: 9, n: 20, lb: { bcast: [0] } });
    check({ batch: [4], m: 17, k: 9, n: 20, la: { bcast: [0] }, lb: TB(3) });
    check({ batch: [2, 3], m: 6, k: 5, n: 13, la: { bcast: [1] }, lb: { bcast: [0] }, ints: true });
    check({ batch: [2, 3], m: 33, k: 40, n: 9, la: { perm: [1, 0, 3, 2] }, lb: { perm: [2, 0, 1, 3], flip: [1] } });
    check({ batch: [3, 1, 2], m: 5, k: 7, n: 6, la: { bcast: [0] }, lb: { flip: [2] } });
    check({ batch: [6], m: 64, k: 16, n: 64, lb: TB(3) });
    check({ batch: [6], m: 64, k: 64, n: 16, la: { pad: 4 } });
  });

  test("attention-like batched shapes split over threads", () => {
    check({ batch: [2, 3], m: 65, k: 32, n: 65, lb: TB(4) });
    check({ batch: [2, 3], m: 65, k: 65, n: 32 });
  });

  test("tuning variants exercise every path (tiles, packing modes, blocking)", () => {
    const variants: Partial<MatmulTuning>[] = [
      { mr: 3, nr: 8 },
      { mr: 2, nr: 12 },
      { mr: 2, nr: 16, unroll: 2 },
      { mr: 1, nr: 4, unroll: 1 },
      { mr: 5, nr: 8, unroll: 8 },
      { packA: "always", packB: "always" },
      { packB: "never" },
      { packB: "auto", directBMaxM: 1000 },
      { kc: 16, mc: 8, nc: 16 },
      { kc: 7, mc: 12, nc: 24, mr: 3, minUnits: 64 },
      { order: "rows" },
      { order: "rows", mr: 3, nr: 12, kc: 20, packB: "never" },
      { order: "rows", packA: "always", mc: 8, nc: 16 },
    ];
    for (const tuning of variants) {
      for (const [m, k, n] of [[1, 1, 1], [3, 17, 5], [37, 41, 43], [64, 64, 64], [130, 70, 66]] as const) {
        check({ m, k, n, tuning });
        check({ m, k, n, tuning, la: T, lb: { pad: 1 } });
        check({ m, k, n, tuning, lb: T, la: { flip: [0] }, ints: true });
      }
      check({ batch: [3], m: 20, k: 33, n: 19, tuning, la: { bcast: [0] } });
    }
  });

  test("1 and 2 threads are bit-identical on a bigger case", () => {
    const p = check({ m: 257, k: 300, n: 129, seed: 7 });
    expect(p.units).toBeGreaterThan(1);
    check({ m: 16, k: 200, n: 500, seed: 8 }); // few row blocks: split by columns
  });

  test("never touches memory past its operands (each operand in turn ends the memory)", () => {
    const mem = new (wasmApi().Memory)({ initial: 2, maximum: 65536, shared: true });
    const cache2 = new KernelCache(mem);
    const pool2 = new Pool(mem, 1);
    const end = mem.buffer.byteLength;
    const g = rng(3);
    for (const [m, k, n] of [[5, 7, 9], [17, 33, 13], [70, 40, 72]] as const) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const last of [0, 1, 2]) {
            const sizes = [m * k, k * n, m * n];
            // The `last` operand ends at the end of memory, the others sit below it.
            const order = [0, 1, 2].filter((x) => x !== last).concat(last);
            const ptrs: number[] = [];
            let at = end;
            for (const x of [...order].reverse()) ptrs[x] = at -= sizes[x]! * 4;
            const fa = new Float32Array(mem.buffer as ArrayBuffer, ptrs[0], sizes[0]).map(() => Math.floor(g() * 7) - 3);
            const fb = new Float32Array(mem.buffer as ArrayBuffer, ptrs[1], sizes[1]).map(() => Math.floor(g() * 7) - 3);
            new Float32Array(mem.buffer as ArrayBuffer, ptrs[0], sizes[0]).set(fa);
            new Float32Array(mem.buffer as ArrayBuffer, ptrs[1], sizes[1]).set(fb);
            const buf = (x: number): Buf => ({ backend: "wasm", dtype: "float32", size: sizes[x]!, ptr: ptrs[x]! });
            const a: View = { buffer: buf(0), dtype: "float32", shape: [m, k], strides: ta ? [1, m] : [k, 1], offset: 0 };
            const b: View = { buffer: buf(1), dtype: "float32", shape: [k, n], strides: tb ? [1, k] : [n, 1], offset: 0 };
            const o: View = { buffer: buf(2), dtype: "float32", shape: [m, n], strides: [n, 1], offset: 0 };
            for (const tuning of [{}, { packA: "always", packB: "always" } as const, { packB: "never" } as const]) {
              const plan = planMatmul(a, b, o, { debug: true, tuning })!;
              const scratch = 64;
              expect(scratch + (plan.scratchBytesPerThread ?? 0)).toBeLessThan(at);
              pool2.run(cache2.get(plan.key, plan.build), [ptr(a), ptr(b), ptr(o), scratch], plan.units, 1);
              const out = new Float32Array(mem.buffer as ArrayBuffer, ptrs[2], sizes[2]);
              for (let i = 0; i < m; i++)
                for (let j = 0; j < n; j++) {
                  let acc = 0;
                  for (let p = 0; p < k; p++) acc += fa[ta ? p * m + i : i * k + p]! * fb[tb ? j * k + p : p * n + j]!;
                  if (out[i * n + j] !== acc) expect.fail(`${m}x${k}x${n} ta=${ta} tb=${tb} last=${last} ${JSON.stringify(tuning)}: [${i}, ${j}] = ${out[i * n + j]}, want ${acc}`);
                }
            }
          }
        }
      }
    }
    void pool2.close();
  });

  test("plans: keys, null for other dtypes, empty outputs, small work stays on one thread", () => {
    const g = rng(1);
    const a = operand([8, 8], {}, g), b = operand([8, 8], {}, g);
    const out = (shape: number[], dtype: "float32" | "float64" = "float32"): View => ({ buffer: a.buf, dtype, shape, strides: contiguous(shape), offset: 0 });
    expect(planMatmul({ ...a.view, dtype: "float64" }, { ...b.view, dtype: "float64" }, out([8, 8], "float64"))).toBeNull();
    expect(planMatmul({ ...a.view, dtype: "int32" }, { ...b.view, dtype: "int32" }, { ...out([8, 8]), dtype: "int32" })).toBeNull();
    const p = planMatmul(a.view, b.view, out([8, 8]))!;
    expect(p.minUnitsPerThread).toBeGreaterThanOrEqual(p.units);
    expect(planMatmul(a.view, b.view, out([8, 8]))!.key).toBe(p.key);
    const bt: View = { ...b.view, strides: [1, 8] };
    expect(planMatmul(a.view, bt, out([8, 8]))!.key).not.toBe(p.key);
    // Empty batch: no units, still a valid module.
    const ea: View = { ...a.view, shape: [0, 8, 8], strides: [64, 8, 1] };
    const eb: View = { ...b.view, shape: [0, 8, 8], strides: [64, 8, 1] };
    const e = planMatmul(ea, eb, out([0, 8, 8]))!;
    expect(e.units).toBe(0);
    expect(wasmApi().validate(e.build())).toBe(true);
    // A big matmul is split.
    const big = planMatmul({ ...a.view, shape: [512, 512], strides: [512, 1] }, { ...b.view, shape: [512, 512], strides: [512, 1] }, out([512, 512]))!;
    expect(big.units / big.minUnitsPerThread).toBeGreaterThanOrEqual(2);
    allocator.free(a.buf.ptr);
    allocator.free(b.buf.ptr);
  });
});
