// Training throughput (tokens/s for forward + cross-entropy + backward + AdamW step) of the
// model presets on the wasm backend at 1 and 2 threads, with a per-op profile of one config.
import { PRESETS, buildPreset, type PresetName } from "@equigrad/models";
import { partition, step, type Param, type State, type Transform } from "@equigrad/optim";
import { valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import { Rng, WasmBackend, formatProfile, profile, registerBackend, tidy, withBackend, type Tensor } from "@equigrad/tensor";
import { report, type Figure } from "../packages/tensor/bench/report.js";

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

export function runTrainBench(threads: readonly number[], quick = false, profileCase: PresetName = "gpt-small"): Figure[] {
  const figures: Figure[] = [];
  for (const t of threads) {
    const name = `wasm-train-${t}`;
    const backend = new WasmBackend({ threads: t });
    registerBackend(name, () => backend);
    for (const c of CASES) {
      withBackend(name, () => {
        const one = stepper(c.preset, c.batch, c.seq);
        one();
        const reps = quick ? 2 : c.preset === "gpt-tiny" ? 8 : 3;
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
        figures.push({ bench: `train/${c.preset}/wasm`, value: (c.batch * c.seq * 1000) / ms, unit: "tokens/s", threads: t, batch: c.batch, seq: c.seq });
        if (table.length) console.log(`\nper-op profile, ${c.preset} batch ${c.batch}×${c.seq}, ${t} threads, one step:\n${formatProfile(table.slice(0, 15))}`);
      });
    }
  }
  report(figures, "Training throughput (forward + backward + AdamW)");
  return figures;
}
