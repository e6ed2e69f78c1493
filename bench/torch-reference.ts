// The PyTorch reference of the training benchmark (bench/torch/train_reference.py), run in the
// same `pnpm bench` so ratios compare figures measured on one machine in one sitting. Optional:
// skipped with a note where no python3 with torch is found (CI, most machines).
import { spawnSync } from "node:child_process";
import { report, type Figure } from "../packages/tensor/bench/report.js";

const SCRIPT = "bench/torch/train_reference.py";
const PRESETS = ["gpt-tiny", "gpt-small", "llama-small"] as const;

/** A python3 that imports torch: $EQUIGRAD_TORCH_PYTHON, else Debian's, else the one on PATH. */
function findPython(): string | null {
  const candidates = [process.env.EQUIGRAD_TORCH_PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p);
  for (const py of candidates) if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  return null;
}

export function runTorchReference(threads: readonly number[], quick = false): Figure[] {
  const python = findPython();
  if (!python) {
    console.log("\n## PyTorch reference: skipped (no python3 with torch; on Debian: apt install python3-torch libopenblas0-pthread, or set EQUIGRAD_TORCH_PYTHON)");
    return [];
  }
  const figures: Figure[] = [];
  for (const t of threads) {
    for (const preset of PRESETS) {
      // One process per figure: thread counts are read when the libraries load. Passive OpenMP
      // waiting: spinning OpenMP workers starve OpenBLAS's own threads on a 2-core machine
      // (measured: gpt-tiny at 2 threads 3,505 tokens/s spinning, 8,272 passive).
      const env = { ...process.env, OMP_NUM_THREADS: `${t}`, OPENBLAS_NUM_THREADS: `${t}`, MKL_NUM_THREADS: `${t}`, OMP_WAIT_POLICY: "passive" };
      const r = spawnSync(python, [SCRIPT, `${t}`, preset, ...(quick ? ["2"] : [])], { env, encoding: "utf8" });
      const line = r.stdout?.trim().split("\n").pop();
      if (r.status !== 0 || !line) {
        console.log(`PyTorch reference ${preset} at ${t} threads failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
        continue;
      }
      figures.push(JSON.parse(line) as Figure);
    }
  }
  report(figures, `PyTorch reference (${python}; same presets, batch and step)`);
  return figures;
}
