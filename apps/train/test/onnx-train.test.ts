import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { rmSync } from "node:fs";
import { deterministic, expectSameTensors, lastCheckpointOf, metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { train } from "../src/train/loop.js";
import { ConfigError } from "../src/config/load.js";
import { checkpointName, listCheckpoints, readCheckpointMeta } from "../src/checkpoint/index.js";

const tmp = tempDirs("onnx-train");

describe('train with backend "onnx"', () => {
  it("follows the wasm backend's loss curve (float32 noise), evaluates, checkpoints and samples; K = 2 steps per call (on 2 spinning ORT threads) too", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const extra = { train: { steps: 6, batchSize: 4, gradAccum: 2 }, eval: { every: 2 }, checkpoint: { every: 2 } } as const;
    const wasm = await train(tinyConfig(root, corpus, { name: "wasm", ...extra }), { log: null });
    const onnx = await train(tinyConfig(root, corpus, { name: "onnx", ...extra, backend: { name: "onnx", threads: 1 } }), { log: null });
    const k2 = await train(tinyConfig(root, corpus, { name: "k2", ...extra, backend: { name: "onnx", threads: 2, stepsPerCall: 2, spin: true } }), { log: null });
    const mw = metricsOf(wasm.runDir);
    for (const run of [onnx, k2]) {
      const m = metricsOf(run.runDir);
      expect(m.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
      m.forEach((r, i) => expect(Math.abs((r.loss as number) - (mw[i]!.loss as number)), `loss of step ${i + 1}`).toBeLessThan(1e-4));
      expect(Math.abs(run.valLoss - wasm.valLoss)).toBeLessThan(1e-4);
      expect(run.sample.length).toBeGreaterThan(0);
    }
    expect(metricsOf(onnx.runDir)[5]!.loss).not.toBe(metricsOf(onnx.runDir)[0]!.loss);
  });

  it("MoE: losses and router metrics (from the compiled step's assignment counts) follow the wasm backend", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const extra = { model: { preset: "moe-small", overrides: { nLayer: 2, dModel: 32, nHead: 2, nKvHeads: 1, dFF: 24, contextLength: 32 } }, train: { steps: 4 }, eval: { every: 4 }, checkpoint: { every: 4 } } as const;
    const wasm = await train(tinyConfig(root, corpus, { name: "wasm", ...extra }), { log: null });
    const onnx = await train(tinyConfig(root, corpus, { name: "onnx", ...extra, backend: { name: "onnx", threads: 1, stepsPerCall: 2 } }), { log: null });
    const [mw, mo] = [metricsOf(wasm.runDir), metricsOf(onnx.runDir)];
    mo.forEach((r, i) => {
      expect(Math.abs((r.loss as number) - (mw[i]!.loss as number))).toBeLessThan(1e-4);
      const [a, b] = [r.moe as Record<string, number>, mw[i]!.moe as Record<string, number>];
      expect(Object.keys(a).sort()).toEqual(["dead_fraction", "load_cv", "max_load"]);
      for (const k of Object.keys(b)) expect(a[k]).toBeCloseTo(b[k]!, 9);
    });
  });

  it("dropout: masks drawn in the graph follow the wasm run (losses), K = 1 and 2; the streams' counters checkpointed are wasm's", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const extra = { model: { dropout: 0.1 }, train: { steps: 4, batchSize: 4, gradAccum: 2 }, eval: { every: 2 }, checkpoint: { every: 2 } } as const;
    const wasm = await train(tinyConfig(root, corpus, { name: "wasm", ...extra }), { log: null });
    const plain = await train(tinyConfig(root, corpus, { name: "plain", ...extra, model: { dropout: 0 } }), { log: null });
    const onnx = await train(tinyConfig(root, corpus, { name: "onnx", ...extra, backend: { name: "onnx", threads: 1 } }), { log: null });
    const k2 = await train(tinyConfig(root, corpus, { name: "k2", ...extra, backend: { name: "onnx", threads: 1, stepsPerCall: 2 } }), { log: null });
    const mw = metricsOf(wasm.runDir);
    // Dropout is on: its losses are not those without it.
    expect(Math.abs((mw[3]!.loss as number) - (metricsOf(plain.runDir)[3]!.loss as number))).toBeGreaterThan(1e-3);
    const counters = (runDir: string, step: number) => readCheckpointMeta(join(runDir, "checkpoints", checkpointName(step))).state.dropout as Record<string, number>;
    for (const run of [onnx, k2]) {
      const m = metricsOf(run.runDir);
      expect(m.map((r) => r.step)).toEqual([1, 2, 3, 4]);
      m.forEach((r, i) => expect(Math.abs((r.loss as number) - (mw[i]!.loss as number)), `loss of step ${i + 1}`).toBeLessThan(1e-4));
      expect(Math.abs(run.valLoss - wasm.valLoss)).toBeLessThan(1e-4);
      for (const step of [2, 4]) {
        expect(Object.keys(counters(run.runDir, step)).length).toBeGreaterThan(0);
        expect(counters(run.runDir, step)).toEqual(counters(wasm.runDir, step));
      }
    }
  });

  it("dropout: an onnx run interrupted and resumed ends where an uninterrupted one does (streams resume where they stopped)", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const cfg = (name: string) =>
      tinyConfig(root, corpus, { name, model: { dropout: 0.2 }, train: { steps: 4, batchSize: 4 }, eval: { every: 2 }, checkpoint: { every: 2, keep: 3 }, backend: { name: "onnx", threads: 1, stepsPerCall: 2 } });
    const straight = await train(cfg("straight"), { log: null });
    const crashed = await train(cfg("crashed"), { log: null });
    rmSync(join(crashed.runDir, "checkpoints", checkpointName(4)), { recursive: true });
    expect(listCheckpoints(join(crashed.runDir, "checkpoints")).map((c) => c.step)).toEqual([2]);
    const resumed = await train(cfg("crashed"), { resume: true, log: null });
    const [ms, mr] = [metricsOf(straight.runDir), metricsOf(resumed.runDir)];
    expect(mr.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(mr.map(deterministic)).toEqual(ms.map(deterministic));
    expect(readCheckpointMeta(lastCheckpointOf(resumed.runDir)).state.dropout).toEqual(readCheckpointMeta(lastCheckpointOf(straight.runDir)).state.dropout);
    expectSameTensors(tensorsOf(join(lastCheckpointOf(resumed.runDir), "model.safetensors")), tensorsOf(join(lastCheckpointOf(straight.runDir), "model.safetensors")));
  });

  it("stepsPerCall must divide the step count and the eval and checkpoint cadence", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    await expect(train(tinyConfig(root, corpus, { backend: { name: "onnx", stepsPerCall: 4 } }), { log: null })).rejects.toThrow(ConfigError);
    await expect(train(tinyConfig(root, corpus, { name: "x", backend: { name: "onnx", stepsPerCall: 4 } }), { log: null })).rejects.toThrow(/train.steps \(6\), eval.every \(3\), checkpoint.every \(3\) must be multiples/);
  });

  it('provider "cuda" where it is not installed is a config error that says how to install it', async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    await expect(train(tinyConfig(root, corpus, { backend: { name: "onnx", provider: "cuda" } }), { log: null })).rejects.toThrow(
      /backend\.provider "cuda": the CUDA execution provider.*ONNXRUNTIME_NODE_INSTALL=cuda12/s,
    );
  });
});
