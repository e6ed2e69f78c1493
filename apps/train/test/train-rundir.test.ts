import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { metricsOf } from "./fixtures/train/read.js";
import { ConfigError, resolveConfig, type LoadedConfig } from "../src/config/load.js";
import { DONE_FILE, MODEL_FILE, OPTIM_FILE, SIDECAR_FILE, checkpointName, listCheckpoints, readCheckpointMeta } from "../src/checkpoint/index.js";
import { train, type TrainSummary } from "../src/train/loop.js";
import { evalCommand, prepareCommand, sampleCommand } from "../src/commands.js";

const tmp = tempDirs("train-rundir");

/** console.log lines printed while fn runs. */
async function printed(fn: () => unknown): Promise<string[]> {
  const spy = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    await fn();
    return spy.mock.calls.map((c) => c.map(String).join(" "));
  } finally {
    spy.mockRestore();
  }
}

// One run shared by the tests below: 7 steps, eval every 3 (and at the end), checkpoint every 2, keep 2.
let loaded: LoadedConfig;
let summary: TrainSummary;
let logLines: string[];
beforeAll(async () => {
  const root = tmp();
  const corpus = writeCorpus(join(root, "data"));
  loaded = tinyConfig(root, corpus, { name: "run", train: { steps: 7, gradAccum: 2 }, eval: { every: 3 }, checkpoint: { every: 2, keep: 2 }, sample: { prompt: "the ", tokens: 12 } });
  logLines = [];
  summary = await train(loaded, { log: (l) => logLines.push(l) });
});

describe("run directory", () => {
  it("holds config.json (the resolved config), env.json, metrics.jsonl, report.md, plots/loss.svg and checkpoints", () => {
    const dir = summary.runDir;
    expect(dir).toBe(join(loaded.config.runDir, "run"));
    const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(saved).toEqual(loaded.config);
    expect(resolveConfig(saved).hash).toBe(loaded.hash);
    const env = JSON.parse(readFileSync(join(dir, "env.json"), "utf8"));
    expect(env.node).toBe(process.version);
    expect(env.backend).toBe("wasm");
    for (const f of ["metrics.jsonl", "report.md", join("plots", "loss.svg"), "checkpoints"]) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it("metrics.jsonl has one parseable line per step with every field, and val_loss at eval steps", () => {
    const m = metricsOf(summary.runDir);
    expect(m.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const tokensPerStep = loaded.config.train.batchSize * loaded.config.train.seqLen!;
    for (const r of m) {
      for (const k of ["loss", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"]) {
        expect(typeof r[k], `${k} at step ${r.step}`).toBe("number");
        expect(Number.isFinite(r[k]), `${k} at step ${r.step}`).toBe(true);
      }
      expect(r.tokens).toBe((r.step as number) * tokensPerStep);
      expect(r.tokens_per_s as number).toBeGreaterThan(0);
      // One learning rate per entry of the "adamw" table the model has (gpt-tiny: tied head, so no lm_head entry).
      expect(Object.keys(r.lr as object).sort()).toEqual(["embed", "matrix", "other"]);
      for (const v of Object.values(r.lr as Record<string, number>)) expect(v).toBeGreaterThan(0);
      expect("val_loss" in r, `val_loss at step ${r.step}`).toBe(r.step === 3 || r.step === 6 || r.step === 7);
    }
    expect(m.map((r) => r.elapsed_s as number)).toEqual([...m.map((r) => r.elapsed_s as number)].sort((a, b) => a - b));
    // The schedule shows up: wsd warms up over 2 steps to optim.lr, then decays.
    const lr = m.map((r) => (r.lr as Record<string, number>).matrix);
    expect(lr[1]).toBeCloseTo(loaded.config.optim.lr, 12);
    expect(lr[0]!).toBeLessThan(lr[1]!);
    expect(lr[6]!).toBeLessThan(lr[1]!);
    expect(summary.valLoss).toBe(m[6]!.val_loss);
    expect(summary.trainLoss).toBe(m[6]!.loss);
    expect(summary.steps).toBe(7);
    expect(summary.tokens).toBe(7 * tokensPerStep);
  });

  it("keeps the newest checkpoint.keep complete checkpoints, the final step included", () => {
    const ckpts = listCheckpoints(join(summary.runDir, "checkpoints"));
    expect(ckpts.map((c) => c.step)).toEqual([6, 7]);
    expect(readdirSync(join(summary.runDir, "checkpoints")).sort()).toEqual([checkpointName(6), checkpointName(7)]); // no temp debris
    for (const c of ckpts) {
      for (const f of [DONE_FILE, MODEL_FILE, OPTIM_FILE, SIDECAR_FILE]) expect(existsSync(join(c.dir, f)), `${c.dir}/${f}`).toBe(true);
      const meta = readCheckpointMeta(c.dir);
      expect(meta.step).toBe(c.step);
      expect(meta.configHash).toBe(loaded.hash);
      expect(meta.state).toMatchObject({ loader: { seed: loaded.config.seed, step: c.step * 2 } });
    }
    expect(readCheckpointMeta(ckpts[1]!.dir).metrics).toMatchObject({ valLoss: summary.valLoss, trainLoss: summary.trainLoss, tokens: summary.tokens });
  });

  it("report.md summarises the run and links the loss plot; loss.svg plots train and validation", () => {
    const report = readFileSync(join(summary.runDir, "report.md"), "utf8");
    expect(report).toMatch(/^# Run run/);
    expect(report).toContain("](plots/loss.svg)");
    expect(report).toContain(loaded.hash);
    expect(report).toContain(String(Number(summary.valLoss.toPrecision(4))));
    expect(report).toContain(JSON.stringify(loaded.config.sample.prompt));
    expect(report).not.toMatch(/NaN/);
    const svg = readFileSync(join(summary.runDir, "plots", "loss.svg"), "utf8");
    expect(svg).toMatch(/^<svg[\s>]/);
    expect(svg).toContain("train");
    expect(svg).toContain("validation");
  });

  it("logs progress through opts.log, with the eval lines", () => {
    expect(logLines.some((l) => /^model gpt-tiny/.test(l))).toBe(true);
    expect(logLines.some((l) => /^step 3: train .* val .* nats\/token/.test(l))).toBe(true);
    expect(logLines.some((l) => /^checkpoint .*step-00000007/.test(l))).toBe(true);
  });
});

describe("eval and sample commands", () => {
  it("eval prints the validation loss the run logged, for the run directory and for a checkpoint folder", async () => {
    const [line] = await printed(() => evalCommand(summary.runDir));
    expect(line).toContain(checkpointName(7));
    expect(line).toMatch(/\(step 7\): validation loss/);
    expect(Number(/validation loss (\S+)/.exec(line!)![1])).toBeCloseTo(summary.valLoss, 4);
    const m = metricsOf(summary.runDir);
    const [at6] = await printed(() => evalCommand(join(summary.runDir, "checkpoints", checkpointName(6))));
    expect(at6).toMatch(/\(step 6\)/);
    expect(Number(/validation loss (\S+)/.exec(at6!)![1])).toBeCloseTo(m[5]!.val_loss as number, 4);
  });

  it("sample is deterministic for a fixed seed, differs for another, and matches the run's own sample", async () => {
    const o = { prompt: "the ", tokens: 12, temperature: 0.8, topK: 40, seed: 7 };
    const a = await printed(() => sampleCommand(summary.runDir, o));
    const b = await printed(() => sampleCommand(summary.runDir, o));
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
    expect(a[0]!.startsWith("the ")).toBe(true);
    // The run sampled with its config's prompt, length, temperature, top-k and its seed (7).
    expect(a[0]).toBe("the " + summary.sample);
    const others = await Promise.all([1, 2, 3].map((seed) => printed(() => sampleCommand(summary.runDir, { ...o, seed }))));
    expect(others.some((x) => x[0] !== a[0])).toBe(true);
    // Greedy (top-1) does not depend on the seed.
    const g1 = await printed(() => sampleCommand(summary.runDir, { ...o, topK: 1, seed: 1 }));
    const g2 = await printed(() => sampleCommand(summary.runDir, { ...o, topK: 1, seed: 2 }));
    expect(g2).toEqual(g1);
  });

  it("eval and sample of a folder without a run fail with a clear ConfigError", async () => {
    const empty = tmp();
    await expect(evalCommand(empty)).rejects.toThrow(ConfigError);
    await expect(evalCommand(empty)).rejects.toThrow(/no complete checkpoint/);
    expect(() => sampleCommand(empty, { prompt: "a", tokens: 1, temperature: 1, topK: 0, seed: 0 })).toThrow(ConfigError);
  });

  it("prepare reports the cached tokens of the run's corpus", async () => {
    const lines = await printed(() => prepareCommand(join(summary.runDir, "config.json"), { set: [] }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^already cached: [\d,]+ train \/ [\d,]+ val tokens \(byte\)/);
  });
});
