// The PyTorch reference of the training benchmark (bench/torch/train_reference.py). The train
// benches run it right after each of their own cases (same preset, batch and threads), so each
// ratio compares two figures measured back to back: this VM's speed drifts by tens of percent
// over minutes. Optional: skipped with a note where no python3 with torch is found.
import { spawnSync } from "node:child_process";
import type { Figure } from "../packages/tensor/bench/report.js";

const SCRIPT = "bench/torch/train_reference.py";

/** Measures one preset at one thread count in PyTorch (null where that failed). */
export type TorchCase = (preset: string, threads: number, quick: boolean) => Figure | null;

let found: TorchCase | null | undefined;

/** The PyTorch case runner, or null (once, with a note) where no python3 imports torch. */
export function torchReference(): TorchCase | null {
  if (found !== undefined) return found;
  // $EQUIGRAD_TORCH_PYTHON, else Debian's python3, else the one on PATH.
  const python = [process.env.EQUIGRAD_TORCH_PYTHON, "/usr/bin/python3", "python3"]
    .filter((p): p is string => !!p)
    .find((py) => spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
  if (!python) {
    console.log("\nPyTorch reference: skipped (no python3 with torch; on Debian: apt install python3-torch libopenblas0-pthread, or set EQUIGRAD_TORCH_PYTHON)");
    return (found = null);
  }
  return (found = (preset, threads, quick) => {
    // One process per figure: thread counts are read when the libraries load. Passive OpenMP
    // waiting: spinning OpenMP workers starve OpenBLAS's own threads on a 2-core machine
    // (measured: gpt-tiny at 2 threads 3,505 tokens/s spinning, 8,272 passive).
    const t = `${threads}`;
    const env = { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, OMP_WAIT_POLICY: "passive" };
    const r = spawnSync(python, [SCRIPT, t, preset, ...(quick ? ["2"] : [])], { env, encoding: "utf8" });
    const line = r.stdout?.trim().split("\n").pop();
    if (r.status === 0 && line) return JSON.parse(line) as Figure;
    console.log(`PyTorch reference ${preset} at ${threads} threads failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`);
    return null;
  });
}

/** A figure with its ratio to the PyTorch figure measured right after it (when there is one). */
export function versusTorch(f: Figure, torch: Figure | null): Figure {
  return torch ? { ...f, vsTorch: Number((f.value / torch.value).toFixed(2)) } : f;
}
