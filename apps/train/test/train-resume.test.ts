import { cpSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { deterministic, expectSameTensors, metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { ConfigError } from "../src/config/load.js";
import { checkpointName, listCheckpoints } from "../src/checkpoint/index.js";
import { train } from "../src/train/loop.js";

const tmp = tempDirs("train-resume");

const N = 8;
/** 8 steps, checkpoints at 4 and 8, 2 micro-batches per step, eval at 3, 6 and 8. */
const RESUMABLE = { train: { steps: N, batchSize: 4, gradAccum: 2 }, checkpoint: { every: N / 2, keep: 3 }, eval: { every: 3 } } as const;

const ckptFile = (runDir: string, step: number, file: string) => join(runDir, "checkpoints", checkpointName(step), file);

/** Every file under a folder with its bytes, to show nothing was changed or deleted. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out[p] = readFileSync(p).toString("base64");
    }
  }
  return out;
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

/** Runs N steps straight and N steps "crashed" after N/2 then resumed; both must match bit for bit. */
async function crashAndResume(extra: Parameters<typeof tinyConfig>[2] = {}) {
  const root = tmp();
  const corpus = writeCorpus(join(root, "data"));
  const cfg = (name: string) => tinyConfig(root, corpus, { ...RESUMABLE, ...extra, name });
  const straight = await train(cfg("straight"), { log: null });

  const crashed = await train(cfg("crashed"), { log: null });
  // The crash: the step-N checkpoint never made it to disk; metrics of steps N/2+1..N did.
  rmSync(join(crashed.runDir, "checkpoints", checkpointName(N)), { recursive: true });
  expect(listCheckpoints(join(crashed.runDir, "checkpoints")).map((c) => c.step)).toEqual([N / 2]);
  const lines: string[] = [];
  const resumed = await train(cfg("crashed"), { resume: true, log: (l) => lines.push(l) });
  expect(lines.join("\n")).toMatch(new RegExp(`resuming .*crashed from step ${N / 2}`));

  const ms = metricsOf(straight.runDir);
  const mr = metricsOf(resumed.runDir);
  expect(mr.map((r) => r.step)).toEqual(Array.from({ length: N }, (_, i) => i + 1)); // no step twice
  expect(mr.slice(N / 2).map(deterministic)).toEqual(ms.slice(N / 2).map(deterministic));
  expect(mr.map(deterministic)).toEqual(ms.map(deterministic));
  expectSameTensors(tensorsOf(ckptFile(resumed.runDir, N, "model.safetensors")), tensorsOf(ckptFile(straight.runDir, N, "model.safetensors")));
  expectSameTensors(tensorsOf(ckptFile(resumed.runDir, N, "optim.safetensors")), tensorsOf(ckptFile(straight.runDir, N, "optim.safetensors")));
  expect({ ...resumed, runDir: "", seconds: 0, tokensPerSecond: 0 }).toEqual({ ...straight, runDir: "", seconds: 0, tokensPerSecond: 0 });
}

describe("resume", () => {
  it("a run interrupted after N/2 steps and resumed ends bit-identical to an uninterrupted one", async () => {
    await crashAndResume();
  });

  it("... also with dropout (its random streams resume where they stopped)", async () => {
    await crashAndResume({ model: { dropout: 0.2 } });
  });

  it("a run stopped by train.maxSeconds continues step by step with --resume to the same result", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const steps = 4;
    const common = { train: { steps }, checkpoint: { every: 0 }, eval: { every: 100 } } as const;
    const straight = await train(tinyConfig(root, corpus, { ...common, name: "straight" }), { log: null });
    const cfg = tinyConfig(root, corpus, { ...common, name: "slices", train: { steps, maxSeconds: 1e-9 } });
    for (let i = 1; i <= steps; i++) {
      const s = await train(cfg, { resume: i > 1, log: null });
      expect(s.steps).toBe(i); // each call stops after one step, with a checkpoint
      expect(listCheckpoints(join(s.runDir, "checkpoints")).at(-1)?.step).toBe(i);
    }
    const pick = (r: Record<string, unknown>) => ({ step: r.step, loss: r.loss, grad_norm: r.grad_norm, lr: r.lr, tokens: r.tokens });
    const ms = metricsOf(straight.runDir);
    const mr = metricsOf(join(cfg.config.runDir, "slices"));
    expect(mr.map(pick)).toEqual(ms.map(pick));
    expectSameTensors(tensorsOf(ckptFile(join(cfg.config.runDir, "slices"), steps, "model.safetensors")), tensorsOf(ckptFile(straight.runDir, steps, "model.safetensors")));
  });

  it("resuming a finished run changes nothing and reports the finished run's losses", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const cfg = tinyConfig(root, corpus, { train: { steps: 3 }, optim: { schedule: { kind: "constant" } } });
    const first = await train(cfg, { log: null });
    const before = metricsOf(first.runDir);
    const again = await train(cfg, { resume: true, log: null });
    expect(again.steps).toBe(3);
    expect(metricsOf(again.runDir)).toEqual(before);
    expect(again.trainLoss).toBe(first.trainLoss);
    expect(again.valLoss).toBe(first.valLoss);
    expect(again.tokens).toBe(first.tokens);
    expect(readFileSync(join(again.runDir, "report.md"), "utf8")).not.toMatch(/NaN/);
  });

  it("starting a run whose directory holds a run, without --resume, fails clearly and deletes nothing", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const cfg = tinyConfig(root, corpus, { train: { steps: 3 }, optim: { schedule: { kind: "constant" } } });
    const first = await train(cfg, { log: null });
    const before = snapshot(first.runDir);
    const e = await configError(train(cfg, { log: null }));
    expect(e.message).toContain(first.runDir);
    expect(e.message).toMatch(/already holds a run/);
    expect(e.message).toContain("--resume");
    expect(snapshot(first.runDir)).toEqual(before);
  });

  it("resuming with a changed config fails, naming both config hashes, and deletes nothing", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const original = tinyConfig(root, corpus, { train: { steps: 3 }, optim: { schedule: { kind: "constant" } } });
    const first = await train(original, { log: null });
    const before = snapshot(first.runDir);
    const changed = tinyConfig(root, corpus, { train: { steps: 3 }, optim: { lr: 1e-3, schedule: { kind: "constant" } } });
    expect(changed.hash).not.toBe(original.hash);
    const e = await configError(train(changed, { resume: true, log: null }));
    expect(e.message).toContain(original.hash);
    expect(e.message).toContain(changed.hash);
    expect(e.message).toContain(first.runDir);
    // Only the resume attempt's environment record is added.
    const after = snapshot(first.runDir);
    for (const [k, v] of Object.entries(before)) expect(after[k], k).toBe(v);
    expect(Object.keys(after).filter((k) => !(k in before)).every((k) => /env-resume-.*\.json$/.test(k))).toBe(true);
  });

  it("a checkpoint written by another config is refused on resume, naming both hashes", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const a = tinyConfig(root, corpus, { name: "a", train: { steps: 3 }, checkpoint: { every: 1 }, optim: { schedule: { kind: "constant" } } });
    const b = tinyConfig(root, corpus, { name: "b", seed: 2, train: { steps: 3 }, checkpoint: { every: 1 }, optim: { schedule: { kind: "constant" } } });
    const ra = await train(a, { log: null });
    const rb = await train(b, { log: null });
    // A stray newer checkpoint from run a lands in run b.
    cpSync(join(ra.runDir, "checkpoints", checkpointName(3)), join(rb.runDir, "checkpoints", checkpointName(9)), { recursive: true });
    const e = await configError(train(b, { resume: true, log: null }));
    expect(e.message).toContain(a.hash);
    expect(e.message).toContain(b.hash);
    expect(e.message).toContain(checkpointName(9));
  });
});
