// Optimizer step time per ready table (adamw, muon, symmetry) as a fraction of the whole training
// step (forward + cross-entropy + backward + optimizer) on the wasm backend. Issue 5 asks the
// symmetric stack's overhead to stay under 15% of the step for llama-small.
import { PRESETS, buildPreset, type PresetName } from "@equigrad/models";
import { buildTable, partition, step, tableNames, type Param, type State, type Transform } from "@equigrad/optim";
import { valueAndGrad } from "@equigrad/autograd";
import { functionalCall } from "@equigrad/nn";
import { Rng, WasmBackend, registerBackend, tidy, withBackend, type Tensor } from "@equigrad/tensor";
import { report, type Figure } from "../packages/tensor/bench/report.js";

const BASE = { lr: 3e-3, betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.1, schedule: { kind: "constant" as const } };

export function runOptimBench(threads: number, quick = false, preset: PresetName = "llama-small", batch = 8, seq = 256): Figure[] {
  const figures: Figure[] = [];
  const name = `wasm-optim-${threads}`;
  registerBackend(name, () => new WasmBackend({ threads }));
  withBackend(name, () => {
    const model = buildPreset(preset, { seed: 0 });
    const params: Param[] = model.namedParameters();
    const r = new Rng(0);
    const x = r.uniform([batch, seq], 0, PRESETS[preset].vocabSize).cast("int32").keep();
    const y = r.uniform([batch, seq], 0, PRESETS[preset].vocabSize).cast("int32").keep();
    const record = Object.fromEntries(params.map((p) => [p.path, p.value]));
    const lossAndGrad = valueAndGrad((p: Record<string, Tensor>) => functionalCall(model, p, () => model.loss(x, y)));
    for (const table of tableNames()) {
      const opt: Transform<State> = partition(buildTable(table, { steps: 1000, params, base: BASE }), params);
      let state = opt.init(params);
      const one = (): [number, number] => {
        let optMs = 0;
        const t0 = performance.now();
        tidy(() => {
          const [, grads] = lossAndGrad(record) as [Tensor, Record<string, Tensor>];
          const t1 = performance.now();
          state = step(opt, params, grads, state).state;
          optMs = performance.now() - t1;
        });
        return [performance.now() - t0, optMs];
      };
      one();
      const runs = Array.from({ length: quick ? 2 : 4 }, one).sort((a, b) => a[0] - b[0]);
      const [stepMs, optMs] = runs[Math.floor(runs.length / 2)]!;
      const common = { threads, batch, seq, table };
      figures.push({ bench: `optim/${preset}/${table}/step`, value: stepMs, unit: "ms", ...common });
      figures.push({ bench: `optim/${preset}/${table}/optimizer`, value: optMs, unit: "ms", ...common });
      figures.push({ bench: `optim/${preset}/${table}/fraction`, value: (100 * optMs) / stepMs, unit: "% of step", ...common });
    }
  });
  report(figures, `Optimizer step per table (${preset}, batch ${batch}×${seq}; median of the whole step)`);
  return figures;
}
