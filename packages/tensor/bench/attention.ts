// Fused (flash) attention vs its decomposition on the wasm backend, forward and forward +
// backward, at 1 and 2 threads:
//
//   npx esbuild packages/tensor/bench/attention.ts --bundle --platform=node --format=esm \
//     --alias:@equigrad/tensor=./packages/tensor/src/index.ts \
//     --alias:@equigrad/autograd=./packages/autograd/src/index.ts \
//     --outfile=.tmp/bench-attention.mjs && node .tmp/bench-attention.mjs [--quick] [--threads=1,2]
//
// "fused": scaledDotProductAttention runs the "attention" op and its VJP rule the
// "attention_grad" op (the wasm kernels). "decomposed": the same calls with the two attention
// ops refused (an interceptor), i.e. the composite in primitives — [B, H, T, T] scores, masked
// softmax and matmuls — differentiated op by op, as before the fused op existed.
// Forward + backward is valueAndGrad of Σ attention(q, k, v) ⊙ w with respect to q, k and v.
//
// Prints a table of median milliseconds and one JSON line per figure (bench/report.ts), e.g.
//   {"bench":"attention/fwd+bwd","value":41.2,"unit":"ms","threads":1,"config":"gpt-small","path":"fused","B":8,"H":6,"T":256,"D":64}
// and the speedups (decomposed ms / fused ms) as figures with unit "x".
import { pathToFileURL } from "node:url";
import { valueAndGrad } from "@equigrad/autograd";
import { Rng, WasmBackend, decomposed, registerBackend, scaledDotProductAttention, tidy, withBackend, type Tensor } from "@equigrad/tensor";
import { medianMs, report, type Figure } from "./report.js";

export interface AttentionBenchConfig {
  readonly name: string;
  readonly B: number;
  readonly H: number;
  readonly T: number;
  readonly D: number;
}

export const ATTENTION_BENCH_CONFIGS: readonly AttentionBenchConfig[] = [
  { name: "gpt-small", B: 8, H: 6, T: 256, D: 64 },
  { name: "gpt-tiny", B: 16, H: 4, T: 128, D: 32 },
];

export interface AttentionBenchOptions {
  readonly threads?: readonly number[];
  readonly quick?: boolean;
  readonly configs?: readonly AttentionBenchConfig[];
}

/** The decomposed path refuses only the attention ops (the rest stays as in training). */
const withPath = <R>(path: "fused" | "decomposed", fn: () => R): R => (path === "fused" ? fn() : decomposed(fn, ["attention", "attention_grad"]));

export function runAttentionBench(opts: AttentionBenchOptions = {}): Figure[] {
  const { threads = [1, 2], quick = false, configs = ATTENTION_BENCH_CONFIGS } = opts;
  const reps = quick ? 3 : 7;
  const figures: Figure[] = [];
  for (const t of threads) {
    const name = `wasm-attention-bench-${t}`;
    const backend = new WasmBackend({ threads: t });
    registerBackend(name, () => backend);
    withBackend(name, () => {
      for (const c of configs) {
        const r = new Rng(1);
        const [q, k, v, w] = [0, 1, 2, 3].map(() => r.normal([c.B, c.H, c.T, c.D]).keep()) as [Tensor, Tensor, Tensor, Tensor];
        const loss = (a: Tensor, b: Tensor, d: Tensor) => scaledDotProductAttention(a, b, d).mul(w).sum();
        const step = valueAndGrad(loss, { argnums: [0, 1, 2] });
        const ms: Record<string, number> = {};
        for (const path of ["fused", "decomposed"] as const) {
          const params = { config: c.name, path, B: c.B, H: c.H, T: c.T, D: c.D };
          const fwd = medianMs(() => withPath(path, () => tidy(() => void scaledDotProductAttention(q, k, v))), reps);
          const both = medianMs(() => withPath(path, () => tidy(() => void step(q, k, v))), reps);
          ms[`fwd/${path}`] = fwd;
          ms[`both/${path}`] = both;
          figures.push({ bench: "attention/fwd", value: fwd, unit: "ms", threads: t, ...params });
          figures.push({ bench: "attention/fwd+bwd", value: both, unit: "ms", threads: t, ...params });
        }
        const shape = { config: c.name, B: c.B, H: c.H, T: c.T, D: c.D };
        figures.push({ bench: "attention/fwd speedup", value: ms["fwd/decomposed"]! / ms["fwd/fused"]!, unit: "x", threads: t, ...shape });
        figures.push({ bench: "attention/fwd+bwd speedup", value: ms["both/decomposed"]! / ms["both/fused"]!, unit: "x", threads: t, ...shape });
        for (const x of [q, k, v, w]) x.dispose();
      }
    });
  }
  report(figures, "Causal attention, fused (flash) vs decomposed (wasm backend, float32)");
  return figures;
}

// Main guard: run when executed directly (also as an esbuild bundle of this file).
const entry = typeof process !== "undefined" ? process.argv[1] : undefined;
if (entry && import.meta.url === pathToFileURL(entry).href && /attention[^/\\]*\.[cm]?[jt]s$/.test(entry)) {
  const args = process.argv.slice(2);
  const threadsArg = args.find((a) => a.startsWith("--threads="));
  runAttentionBench({ quick: args.includes("--quick"), ...(threadsArg ? { threads: threadsArg.slice(10).split(",").map(Number) } : {}) });
  process.exit(0);
}
