// Elementwise and reduction throughput of the wasm backend in GB/s (bytes read + written),
// next to a plain Float32Array.set copy measured in the same run.
import { Rng, WasmBackend, registerBackend, tidy, withBackend, type Tensor } from "../src/index.js";
import { medianMs, report, type Figure } from "./report.js";

const N = 1 << 22; // 4M floats, 16 MiB per tensor: past the caches

export function runThroughputBench(threads: readonly number[] = [1, 2], quick = false): Figure[] {
  const reps = quick ? 3 : 9;
  const figures: Figure[] = [];
  const src = new Float32Array(N).fill(1);
  const dst = new Float32Array(N);
  const copyMs = medianMs(() => dst.set(src), reps);
  figures.push({ bench: "copy/Float32Array.set", value: (2 * 4 * N) / copyMs / 1e6, unit: "GB/s", threads: 1, n: N });
  for (const t of threads) {
    const name = `wasm-bench-${t}`;
    const backend = new WasmBackend({ threads: t });
    registerBackend(name, () => backend);
    withBackend(name, () => {
      const r = new Rng(0);
      const a = r.normal([N]).keep();
      const b = r.normal([N]).keep();
      const m = a.reshape(2048, N / 2048).keep();
      const cases: [string, number, () => Tensor][] = [
        ["elementwise/add", 3, () => a.add(b)],
        ["elementwise/mul-broadcast-row", 2, () => m.mul(m.slice(0))],
        ["elementwise/exp", 2, () => a.exp()],
        ["elementwise/gelu", 2, () => a.gelu()],
        ["reduce/sum-rows", 1, () => m.sum(-1)],
        ["reduce/sum-columns", 1, () => m.sum(0)],
        ["fused/softmax-rows", 2, () => m.softmax(-1)],
      ];
      for (const [bench, passes, fn] of cases) {
        const ms = medianMs(() => tidy(() => void fn()), reps);
        figures.push({ bench, value: (passes * 4 * N) / ms / 1e6, unit: "GB/s", threads: t, n: N });
      }
    });
  }
  report(figures, "Elementwise and reduction throughput (wasm backend)");
  return figures;
}
