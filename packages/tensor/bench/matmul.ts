// Matmul benchmark of the wasm backend's generated kernel (planMatmul), on the backend's own
// allocator / kernel cache / worker pool over one shared memory.
//
//   npx esbuild packages/tensor/bench/matmul.ts --bundle --platform=node --format=esm \
//     --outfile=.tmp/bench-matmul.mjs && node .tmp/bench-matmul.mjs [--quick] [--filter=sq] \
//     [--threads=1,2] [--tuning='{"mr":4,"nr":8}'] [--cpu-clock]
//
// Prints a table of median GFLOP/s and one JSON line per figure:
//   {"bench":"matmul","value":..,"unit":"GFLOP/s","threads":..,"m":..,"n":..,"k":..,"batch":..,"transA":..,"transB":..}
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import type { DeviceBuffer, View } from "../src/backend/view.js";
import { Allocator } from "../src/backends/wasm/allocator.js";
import { wasmApi } from "../src/backends/wasm/asm/index.js";
import { KernelCache } from "../src/backends/wasm/kernel-cache.js";
import { planMatmul, type MatmulTuning } from "../src/backends/wasm/kernels/matmul.js";
import { Pool } from "../src/backends/wasm/pool.js";

export interface MatmulBenchCase {
  readonly name: string;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

export interface MatmulBenchResult extends MatmulBenchCase {
  readonly threads: number;
  /** Median GFLOP/s over the samples. */
  readonly gflops: number;
  readonly samples: readonly number[];
}

export interface MatmulBenchOptions {
  readonly threads?: readonly number[];
  /** Substring filter on case names. */
  readonly filter?: string;
  /** Fewer and shorter samples. */
  readonly quick?: boolean;
  readonly tuning?: Partial<MatmulTuning>;
  /** Print the table and JSON lines (default true). */
  readonly print?: boolean;
  /**
   * "wall" (default): elapsed time. "cpu": process CPU time divided by the thread count, a
   * steadier figure on a shared machine (time spent descheduled is not counted).
   */
  readonly clock?: "wall" | "cpu";
}

const sq = (n: number): MatmulBenchCase => ({ name: `square ${n}`, batch: 1, m: n, k: n, n, transA: false, transB: false });
const mk = (name: string, batch: number, m: number, k: number, n: number, transA = false, transB = false): MatmulBenchCase => ({ name, batch, m, k, n, transA, transB });

export const MATMUL_BENCH_CASES: readonly MatmulBenchCase[] = [
  sq(128),
  sq(256),
  sq(512),
  sq(1024),
  sq(2048),
  mk("square 1024 Aᵀ", 1, 1024, 1024, 1024, true, false),
  mk("square 1024 Bᵀ", 1, 1024, 1024, 1024, false, true),
  mk("mlp up x·W", 1, 2048, 384, 1536),
  mk("mlp up x·Wᵀ", 1, 2048, 384, 1536, false, true),
  mk("mlp down x·W", 1, 2048, 1536, 384),
  mk("mlp down x·Wᵀ", 1, 2048, 1536, 384, false, true),
  mk("grad W up dyᵀ·x", 1, 384, 2048, 1536, true, false),
  mk("grad W down dyᵀ·x", 1, 1536, 2048, 384, true, false),
  mk("attn scores Q·Kᵀ", 12, 256, 64, 256, false, true),
  mk("attn mix P·V", 12, 256, 256, 64),
  mk("attn grad dQ=dS·K", 6, 256, 256, 64),
  mk("attn grad dK=dSᵀ·Q", 6, 256, 256, 64, true, false),
];

interface Buf extends DeviceBuffer {
  readonly ptr: number;
}

/** Runs the benchmark; returns one result per (case, thread count). */
export function runMatmulBench(opts: MatmulBenchOptions = {}): MatmulBenchResult[] {
  const threadsList = opts.threads ?? [1, Math.min(2, availableParallelism())].filter((t, i, xs) => xs.indexOf(t) === i);
  const print = opts.print ?? true;
  const memory = new (wasmApi().Memory)({ initial: 256, maximum: 65536, shared: true });
  const allocator = new Allocator(memory);
  const cache = new KernelCache(memory);
  const pools = new Map(threadsList.map((t) => [t, new Pool(memory, t)] as const));
  const alloc = (size: number): Buf => ({ backend: "wasm", dtype: "float32", size, ptr: allocator.alloc(size * 4) });
  const f32 = (b: Buf) => new Float32Array(memory.buffer as ArrayBuffer, b.ptr, b.size);
  const ptr = (v: View) => (v.buffer as Buf).ptr + v.offset * 4;
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;

  const cases = MATMUL_BENCH_CASES.filter((c) => !opts.filter || c.name.includes(opts.filter));
  const nSamples = opts.quick ? 3 : 7;
  const sampleMs = opts.quick ? 10 : 25;

  // Set up every (case, threads) figure and warm it up (V8 tiers the kernel up from Liftoff).
  interface Figure {
    c: MatmulBenchCase;
    threads: number;
    once: () => void;
    inner: number;
    flops: number;
    samples: number[];
  }
  const figures: Figure[] = [];
  const setups: { c: MatmulBenchCase; a: View; b: View; bufs: Buf[]; scratch: number }[] = [];
  for (const c of cases) {
    const { batch, m, k, n } = c;
    // Operands: a [batch, m, k] (stored [batch, k, m] when transposed), b likewise.
    const aBuf = alloc(batch * m * k), bBuf = alloc(batch * k * n), oBuf = alloc(batch * m * n);
    for (const b of [aBuf, bBuf]) {
      const d = f32(b);
      for (let i = 0; i < d.length; i++) d[i] = rand();
    }
    const a: View = { buffer: aBuf, dtype: "float32", shape: [batch, m, k], strides: c.transA ? [m * k, 1, m] : [m * k, k, 1], offset: 0 };
    const b: View = { buffer: bBuf, dtype: "float32", shape: [batch, k, n], strides: c.transB ? [k * n, 1, k] : [k * n, n, 1], offset: 0 };
    const out: View = { buffer: oBuf, dtype: "float32", shape: [batch, m, n], strides: [m * n, n, 1], offset: 0 };
    const plan = planMatmul(a, b, out, { tuning: opts.tuning ?? {} });
    if (!plan) throw new Error("planMatmul returned null");
    const kernel = cache.get(plan.key, plan.build);
    const scratch = plan.scratchBytesPerThread ? allocator.alloc(plan.scratchBytesPerThread * Math.max(...threadsList)) : 0;
    const args = [ptr(a), ptr(b), ptr(out), scratch];
    setups.push({ c, a, b, bufs: [aBuf, bBuf, oBuf], scratch });
    for (const t of threadsList) {
      const pool = pools.get(t)!;
      const once = () => pool.run(kernel, args, plan.units, plan.minUnitsPerThread);
      const warmEnd = performance.now() + (opts.quick ? 60 : 250);
      let inner = 1;
      for (let w = 0; w < 3 || performance.now() < warmEnd; w++) {
        const t0 = performance.now();
        once();
        inner = Math.max(1, Math.ceil(sampleMs / Math.max(performance.now() - t0, 1e-3)));
      }
      figures.push({ c, threads: t, once, inner, flops: 2 * batch * m * n * k, samples: [] });
    }
  }

  // Samples are taken round-robin over the figures, so a burst of load from other processes
  // on a shared machine spoils one sample of many figures rather than all samples of one.
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let s = 0; s < nSamples; s++) {
    for (const fig of figures) {
      const now = opts.clock === "cpu" ? () => cpuMs() / fig.threads : () => performance.now();
      const t0 = now();
      for (let i = 0; i < fig.inner; i++) fig.once();
      fig.samples.push((fig.flops * fig.inner) / ((now() - t0) * 1e6));
    }
  }

  const results: MatmulBenchResult[] = figures.map((fig) => {
    const sorted = [...fig.samples].sort((x, y) => x - y);
    return { ...fig.c, threads: fig.threads, gflops: sorted[sorted.length >> 1]!, samples: fig.samples };
  });
  for (const { c, a, b, bufs, scratch } of setups) {
    spotCheck(a, b, f32(bufs[0]!), f32(bufs[1]!), f32(bufs[2]!), c);
    for (const x of bufs) allocator.free(x.ptr);
    if (scratch) allocator.free(scratch);
  }
  if (print) {
    console.log(`matmul (wasm kernel), median GFLOP/s of ${nSamples} samples; threads: ${threadsList.join(", ")}`);
    console.log(`${"case".padEnd(30)} ${"batch×m×k×n".padEnd(20)} ${threadsList.map((t) => `${t}T`.padStart(8)).join("")}`);
    for (const c of cases) {
      const row = results.filter((r) => r.name === c.name).map((r) => r.gflops.toFixed(1).padStart(8));
      console.log(`${c.name.padEnd(30)} ${`${c.batch}×${c.m}×${c.k}×${c.n}`.padEnd(20)} ${row.join("")}`);
    }
    for (const f of matmulFigures(results)) console.log(JSON.stringify(f));
  }
  for (const p of pools.values()) void p.close();
  return results;
}

/** The JSON-line figures of results (the shape of bench/report.ts's Figure). */
export function matmulFigures(results: readonly MatmulBenchResult[]) {
  return results.map((r) => ({ bench: "matmul", value: Number(r.gflops.toFixed(2)), unit: "GFLOP/s", threads: r.threads, m: r.m, n: r.n, k: r.k, batch: r.batch, transA: r.transA, transB: r.transB }));
}

function spotCheck(a: View, b: View, A: Float32Array, B: Float32Array, O: Float32Array, c: MatmulBenchCase): void {
  const { batch, m, k, n } = c;
  for (let t = 0; t < 16; t++) {
    const bi = (t * 7) % batch, i = (t * 131) % m, j = (t * 977) % n;
    let acc = 0, mag = 0;
    for (let p = 0; p < k; p++) {
      const x = A[bi * a.strides[0]! + i * a.strides[1]! + p * a.strides[2]!]! * B[bi * b.strides[0]! + p * b.strides[1]! + j * b.strides[2]!]!;
      acc += x;
      mag += Math.abs(x);
    }
    const got = O[(bi * m + i) * n + j]!;
    if (!(Math.abs(got - acc) <= 1e-6 * (k + 2) * mag)) throw new Error(`matmul bench ${c.name}: wrong result at [${bi}, ${i}, ${j}]: ${got} vs ${acc}`);
  }
}

function parseArgs(argv: readonly string[]): MatmulBenchOptions {
  const get = (name: string) => argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
  const threads = get("threads")?.split(",").map(Number);
  const tuning = get("tuning");
  const filter = get("filter");
  return {
    quick: argv.includes("--quick"),
    ...(argv.includes("--cpu-clock") ? { clock: "cpu" as const } : {}),
    ...(threads ? { threads } : {}),
    ...(filter ? { filter } : {}),
    ...(tuning ? { tuning: JSON.parse(tuning) as Partial<MatmulTuning> } : {}),
  };
}

// Main guard: run when executed directly, also as an esbuild bundle of this file (whose name
// still says matmul; a bundle of another entry that imports runMatmulBench does not run it).
const entry = typeof process !== "undefined" ? process.argv[1] : undefined;
if (entry && import.meta.url === pathToFileURL(entry).href && /matmul[^/\\]*\.[cm]?[jt]s$/.test(entry)) {
  runMatmulBench(parseArgs(process.argv.slice(2)));
}
