// Training throughput (tokens/s for forward + cross-entropy + backward + AdamW step) of the
// model presets on the wasm backend at 1 and 2 threads, with a per-op profile of one config.
import { PRESETS, buildPreset, type PresetName } from "@equigrad/models";
import { partition, step, type Param, type State, type Transform } from "@equigrad/optim";
import { valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import {
  Rng, Tensor as TensorClass, WasmBackend, compile, currentBackendName, formatProfile, profile, registerBackend, setBackend, tidy, treeFlatten, withBackend,
  type CallTimings, type StepFunction, type Tensor,
} from "@equigrad/tensor";
import { report, type Figure } from "../packages/tensor/bench/report.js";
import { torchReference, versusTorch } from "./torch-reference.js";

const CASES: { preset: PresetName; batch: number; seq: number }[] = [
  { preset: "gpt-tiny", batch: 16, seq: 128 },
  { preset: "gpt-small", batch: 8, seq: 256 },
  { preset: "llama-small", batch: 8, seq: 256 },
];

function stepper(preset: PresetName, batch: number, seq: number): () => void {
  const model = buildPreset(preset, { seed: 0 });
  const params: Param[] = model.namedParameters();
  const opt: Transform<State> = partition([{ match: { roles: ["*"] }, rule: "adamw", hyper: { lr: 1e-4 } }], params);
  let state = opt.init(params);
  const r = new Rng(0);
  const x = r.uniform([batch, seq], 0, PRESETS[preset].vocabSize).cast("int32").keep();
  const y = r.uniform([batch, seq], 0, PRESETS[preset].vocabSize).cast("int32").keep();
  const record = Object.fromEntries(params.map((p) => [p.path, p.value]));
  const lossAndGrad = valueAndGrad((p: Record<string, Tensor>) => functionalCall(model, p, () => model.loss(x, y)));
  return () =>
    tidy(() => {
      const [, grads] = lossAndGrad(record) as [Tensor, Record<string, Tensor>];
      state = step(opt, params, grads, state).state;
    });
}

/** Steps run before timing, here and in bench/torch/train_reference.py. */
const WARMUP_STEPS = 3;

export function runTrainBench(threads: readonly number[], quick = false, profileCase: PresetName = "gpt-small"): Figure[] {
  const figures: Figure[] = [];
  const torchFigures: Figure[] = [];
  const torch = torchReference();
  for (const t of threads) {
    const name = `wasm-train-${t}`;
    const backend = new WasmBackend({ threads: t });
    registerBackend(name, () => backend);
    for (const c of CASES) {
      withBackend(name, () => {
        const one = stepper(c.preset, c.batch, c.seq);
        // Warm-up steps (as the PyTorch reference takes): kernels compiled and tiered up, memory reused.
        for (let i = 0; i < WARMUP_STEPS; i++) one();
        const reps = quick ? 2 : c.preset === "gpt-tiny" ? 16 : 5;
        const times: number[] = [];
        let table: ReturnType<typeof profile>[1] = [];
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          if (i === reps - 1 && c.preset === profileCase && t === threads[threads.length - 1]) [, table] = profile(one);
          else one();
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        const ms = times[Math.floor(times.length / 2)]!;
        const mine: Figure = { bench: `train/${c.preset}/wasm`, value: (c.batch * c.seq * 1000) / ms, unit: "tokens/s", threads: t, batch: c.batch, seq: c.seq };
        const ref = torch?.(c.preset, t, quick) ?? null;
        if (ref) torchFigures.push(ref);
        figures.push(versusTorch(mine, ref));
        if (table.length) console.log(`\nper-op profile, ${c.preset} batch ${c.batch}×${c.seq}, ${t} threads, one step:\n${formatProfile(table.slice(0, 15))}`);
      });
    }
  }
  report(figures, "Training throughput (forward + backward + AdamW); vsTorch: ratio to the PyTorch run right after");
  if (torchFigures.length) report(torchFigures, "PyTorch reference (same presets, batch and step; each run right after our case)");
  return [...figures, ...torchFigures];
}

/**
 * gpt-small training on ONNX Runtime's CPU provider (backend "onnx"): the same step as the wasm
 * cases, compiled once; K = 1 and 4 steps per session call (and K = 4 with spinning threads). Tokens/s counts the whole call
 * (ORT's compute in its worker thread, the per-step symbolic re-trace for the lifted scalars,
 * copies of the flat parameter/state buffers in and out).
 */
/** `--only=torch`: the PyTorch figures of the train cases alone. */
export function runTorchReference(threads: readonly number[], quick = false): Figure[] {
  const run = torchReference();
  if (!run) return [];
  const figures = threads.flatMap((t) => CASES.map((c) => run(c.preset, t, quick))).filter((f): f is Figure => f !== null);
  report(figures, "PyTorch reference (same presets, batch and step)");
  return figures;
}

export async function runTrainOnnxBench(threads: number, quick = false): Promise<Figure[]> {
  // The bench is bundled into .tmp/: let onnxruntime-node (a dependency of the tensor package) resolve from there.
  const Module = (await import("node:module")).default as unknown as { _initPaths(): void };
  process.env.NODE_PATH = [process.env.NODE_PATH, `${process.cwd()}/packages/tensor/node_modules`].filter(Boolean).join(":");
  Module._initPaths();
  const figures: Figure[] = [];
  const c = { preset: "gpt-small" as PresetName, batch: 8, seq: 256 };
  const name = `wasm-train-onnx-${threads}`;
  registerBackend(name, () => new WasmBackend({ threads }));
  // K = 1 and 4 steps per call as `train` runs them, and K = 4 with spinning ORT threads (backend.spin).
  for (const [k, spin] of [[1, false], [4, false], [4, true]] as const) {
    await withBackendAsync(name, async () => {
      const model = buildPreset(c.preset, { seed: 0 });
      const params: Param[] = model.namedParameters();
      const opt: Transform<State> = partition([{ match: { roles: ["*"] }, rule: "adamw", hyper: { lr: 1e-4 } }], params);
      const state = opt.init(params);
      const lossAndGrad = valueAndGrad((p: Record<string, Tensor>, x: Tensor, y: Tensor) => functionalCall(model, p, () => model.loss(x, y)));
      const stepFn: StepFunction<State> = (s, [x, y]) => {
        const record = Object.fromEntries(params.map((p) => [p.path, p.value]));
        const [loss, grads] = lossAndGrad(record, x!, y!) as [Tensor, Record<string, Tensor>];
        return { host: step(opt, params, grads, s).state, outputs: { loss } };
      };
      const spec = { shape: [c.batch, c.seq], dtype: "int32" as const };
      const t0 = performance.now();
      const compiled = await compile(stepFn, { tensors: [...params.map((p) => p.value), ...(treeFlatten(state as never)[0] as unknown[]).filter((l): l is Tensor => l instanceof TensorClass)], batch: [spec, spec], host: state, stepsPerCall: k, threads, spin });
      const compileMs = performance.now() - t0;
      const r = new Rng(0);
      const batch = () => [0, 1].map(() => r.uniform([c.batch, c.seq], 0, PRESETS[c.preset].vocabSize).cast("int32").data() as Int32Array);
      const call = () => compiled.run(Array.from({ length: k }, batch));
      await call();
      const reps = quick ? 2 : Math.max(2, Math.ceil(8 / k));
      const times: { ms: number; phases: CallTimings }[] = [];
      for (let i = 0; i < reps; i++) {
        const t = performance.now();
        await call();
        times.push({ ms: performance.now() - t, phases: compiled.timings });
      }
      times.sort((a, b) => a.ms - b.ms);
      const { ms, phases } = times[Math.floor(times.length / 2)]!;
      await compiled.release();
      // Where the call's time went, per step (ms): ORT, host tracing not hidden behind it, feeds, write-back.
      const per = (v: number) => Math.round(v / k);
      const ref = torchReference()?.(c.preset, threads, quick) ?? null;
      if (ref) console.log(`PyTorch ${c.preset}, ${threads} threads, right after: ${ref.value.toFixed(0)} tokens/s`);
      figures.push(versusTorch({
        bench: `train/${c.preset}/onnx-cpu`, value: (k * c.batch * c.seq * 1000) / ms, unit: "tokens/s", threads, batch: c.batch, seq: c.seq, stepsPerCall: k, spin,
        compileMs: Math.round(compileMs), ortMs: per(phases.ort), traceMs: per(phases.trace), traceAheadMs: per(phases.traceAhead), feedsMs: per(phases.feeds), writeBackMs: per(phases.writeBack),
      }, ref));
    });
  }
  report(figures, "Training throughput on ONNX Runtime, CPU provider (backend onnx)");
  return figures;
}

async function withBackendAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = currentBackendName();
  setBackend(name);
  try {
    return await fn();
  } finally {
    setBackend(prev);
  }
}
