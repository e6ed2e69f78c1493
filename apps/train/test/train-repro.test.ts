import { join } from "node:path";
import { getBackend, type WasmBackend } from "@equigrad/tensor";
import { describe, expect, it, vi } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { deterministic, expectSameTensors, lastCheckpointOf, metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { train } from "../src/train/loop.js";

const tmp = tempDirs("train-repro");

describe("reproducibility", () => {
  it("two runs of one config (different run names) give bit-identical metrics, parameters and samples", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const extra = { train: { steps: 6, batchSize: 4, gradAccum: 2 }, model: { dropout: 0.1 }, eval: { every: 2 }, checkpoint: { every: 0 } } as const;
    const a = await train(tinyConfig(root, corpus, { name: "a", ...extra }), { log: null });
    const b = await train(tinyConfig(root, corpus, { name: "b", ...extra }), { log: null });
    const ma = metricsOf(a.runDir);
    const mb = metricsOf(b.runDir);
    expect(ma.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(mb.map(deterministic)).toEqual(ma.map(deterministic));
    // The losses moved (a run that trains nothing would also be "reproducible").
    expect(ma[5]!.loss).not.toBe(ma[0]!.loss);
    expectSameTensors(tensorsOf(join(lastCheckpointOf(b.runDir), "model.safetensors")), tensorsOf(join(lastCheckpointOf(a.runDir), "model.safetensors")));
    expectSameTensors(tensorsOf(join(lastCheckpointOf(b.runDir), "optim.safetensors")), tensorsOf(join(lastCheckpointOf(a.runDir), "optim.safetensors")));
    expect(b.sample).toBe(a.sample);
    expect(b.valLoss).toBe(a.valLoss);
  });

  it("a different seed gives different losses", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const a = await train(tinyConfig(root, corpus, { name: "s1", seed: 1, train: { steps: 2 }, optim: { schedule: { kind: "constant" } } }), { log: null });
    const b = await train(tinyConfig(root, corpus, { name: "s2", seed: 2, train: { steps: 2 }, optim: { schedule: { kind: "constant" } } }), { log: null });
    expect(metricsOf(b.runDir)[1]!.loss).not.toBe(metricsOf(a.runDir)[1]!.loss);
  });

  it("backend.threads 1 and 2 give bit-identical results, and each thread count is really used", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const extra = { model: { overrides: { dModel: 64, nHead: 2, nLayer: 1, contextLength: 32 } }, train: { steps: 4, batchSize: 8, seqLen: 32 }, eval: { every: 2 } } as const;
    const used: number[] = [];
    let parallelCalls = 0;
    const run = async (threads: number) => {
      const s = await train(tinyConfig(root, corpus, { name: `t${threads}`, backend: { threads }, ...extra }), {
        log: () => {
          // After useBackend (the first log line comes after it): watch the pool of the backend in use.
          const pool = (getBackend() as WasmBackend).pool;
          if (!used.includes(threads)) {
            used.push(threads);
            expect(pool.threads).toBe(threads);
            const run = pool.run.bind(pool);
            vi.spyOn(pool, "run").mockImplementation((k, args, units, min = 1) => {
              if (threads > 1 && Math.floor(units / Math.max(min, 1)) >= 2) parallelCalls++;
              run(k, args, units, min);
            });
          }
        },
      });
      expect((getBackend() as WasmBackend).pool.threads).toBe(threads);
      return s;
    };
    const one = await run(1);
    const two = await run(2);
    expect(parallelCalls).toBeGreaterThan(0);
    vi.restoreAllMocks();
    expect(metricsOf(two.runDir).map(deterministic)).toEqual(metricsOf(one.runDir).map(deterministic));
    expectSameTensors(tensorsOf(join(lastCheckpointOf(two.runDir), "model.safetensors")), tensorsOf(join(lastCheckpointOf(one.runDir), "model.safetensors")));
    expect(two.sample).toBe(one.sample);
  });
});
