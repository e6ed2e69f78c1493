import { existsSync, readFileSync, readdirSync, truncateSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { ConfigError } from "../src/config/load.js";
import { SafetensorsError, checkpointName, listCheckpoints } from "../src/checkpoint/index.js";
import { ShardError, writeShard } from "../src/data/index.js";
import { TrainingError } from "../src/train/errors.js";
import { train } from "../src/train/loop.js";
import { evalCommand, prepareCommand } from "../src/commands.js";

const tmp = tempDirs("train-errors");

/** The error classes the CLI prints as one clear line (cli.ts USER_ERRORS); anything else prints a stack. */
const USER_ERRORS = [ConfigError, ShardError, SafetensorsError, TrainingError];

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection, the promise resolved");
}

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

describe("bad input", () => {
  it("a missing text corpus fails with a user error naming the path, before creating a run", async () => {
    const root = tmp();
    const missing = join(root, "no-such-corpus.txt");
    const e = await rejection(train(tinyConfig(root, missing), { log: null }));
    expect(USER_ERRORS.some((E) => e instanceof E), `${e.name}: ${e.message}`).toBe(true);
    expect(e.message).toContain(missing);
    expect(e.message).toMatch(/data\.corpus/);
    expect(existsSync(join(root, "runs"))).toBe(false);
    // prepare reports it the same way.
    const cfgFile = join(root, "exp.json");
    writeFileSync(cfgFile, JSON.stringify({ data: { corpus: { kind: "text", path: missing }, cacheDir: join(root, "cache") } }));
    const p = await rejection(prepareCommand(cfgFile, { set: [] }));
    expect(USER_ERRORS.some((E) => p instanceof E), `${p.name}: ${p.message}`).toBe(true);
    expect(p.message).toContain(missing);
  });

  it("a missing shard file fails with a user error naming the path", async () => {
    const root = tmp();
    const missing = join(root, "shards", "train_000.bin");
    const cfg = tinyConfig(root, "unused", { data: { corpus: { kind: "shards", train: missing } } });
    const e = await rejection(train(cfg, { log: null }));
    expect(USER_ERRORS.some((E) => e instanceof E), `${e.name}: ${e.message}`).toBe(true);
    expect(e.message).toContain(missing);
  });

  it("an invalid run name fails with a ConfigError about the name (not a hint to --resume)", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"), 4000);
    const e = await rejection(train(tinyConfig(root, corpus, { name: "my run/1" }), { log: null }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("'my run/1'");
    expect(e.message).not.toContain("--resume");
  });

  it("a corrupt llm.c shard fails with a ShardError naming the file and the problem", async () => {
    const root = tmp();
    const dir = join(root, "shards");
    mkdirSync(dir);
    const tokens = Array.from({ length: 4000 }, (_, i) => (i * 31) % 256);
    writeShard(join(dir, "train_000.bin"), tokens, { vocabSize: 256 });
    writeShard(join(dir, "val_000.bin"), tokens.slice(0, 600), { vocabSize: 256 });
    // A good pair trains.
    const ok = await train(tinyConfig(root, "unused", { name: "ok", train: { steps: 1 }, optim: { schedule: { kind: "constant" } }, data: { corpus: { kind: "shards", train: join(dir, "train_000.bin"), val: join(dir, "val_000.bin") } } }), { log: null });
    expect(ok.steps).toBe(1);
    // Bad magic.
    const bad = join(dir, "train_001.bin");
    const bytes = readFileSync(join(dir, "train_000.bin"));
    bytes.writeInt32LE(12345, 0);
    writeFileSync(bad, bytes);
    const e = await rejection(train(tinyConfig(root, "unused", { name: "bad", data: { corpus: { kind: "shards", train: [join(dir, "train_000.bin"), bad], val: join(dir, "val_000.bin") } } }), { log: null }));
    expect(e).toBeInstanceOf(ShardError);
    expect((e as ShardError).file).toBe(bad);
    expect((e as ShardError).code).toBe("bad-magic");
    expect(e.message).toContain(bad);
    // Truncated body.
    const cut = join(dir, "val_001.bin");
    writeFileSync(cut, readFileSync(join(dir, "val_000.bin")).subarray(0, 1024 + 100));
    const t = await rejection(train(tinyConfig(root, "unused", { name: "cut", data: { corpus: { kind: "shards", train: join(dir, "train_000.bin"), val: cut } } }), { log: null }));
    expect(t).toBeInstanceOf(ShardError);
    expect((t as ShardError).code).toBe("truncated");
    expect(existsSync(join(root, "runs", "bad"))).toBe(false);
    expect(existsSync(join(root, "runs", "cut"))).toBe(false);
  });

  it("a truncated checkpoint file on resume fails with a SafetensorsError naming it, and nothing saved is deleted", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const cfg = tinyConfig(root, corpus, { train: { steps: 4 }, checkpoint: { every: 2, keep: 5 } });
    const first = await train(cfg, { log: null });
    const file = join(first.runDir, "checkpoints", checkpointName(4), "model.safetensors");
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const before = snapshot(first.runDir);
    const e = await rejection(train(cfg, { resume: true, log: null }));
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).file).toBe(file);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/truncated/);
    const after = snapshot(first.runDir);
    for (const [k, v] of Object.entries(before)) expect(after[k], `${k} changed or deleted`).toBe(v);
    expect(listCheckpoints(join(first.runDir, "checkpoints")).map((c) => c.step)).toEqual([2, 4]);
    expect(metricsOf(first.runDir).map((r) => r.step)).toEqual([1, 2, 3, 4]);
  });

  it("a diverging run stops with a TrainingError naming the step and a checkpoint whose parameters are still good", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const stderr = vi.spyOn(process.stderr, "write");
    const cfg = tinyConfig(root, corpus, { train: { steps: 12 }, optim: { lr: 1e6, clipGradNorm: 0, schedule: { kind: "constant" } }, checkpoint: { every: 1, keep: 100 } });
    const e = await rejection(train(cfg, { log: null }));
    expect(stderr).not.toHaveBeenCalled(); // log: null is silent
    stderr.mockRestore();
    expect(e).toBeInstanceOf(TrainingError);
    const m = /at step (\d+)/.exec(e.message);
    expect(m, e.message).not.toBeNull();
    const bad = Number(m![1]);
    expect(bad).toBeGreaterThan(1);
    expect(e.message).toMatch(/NaN|Infinity/);
    const runDir = join(root, "runs", "tiny");
    // Every step before the bad one is in metrics.jsonl, with a finite loss; the bad step is not.
    const metrics = metricsOf(runDir);
    expect(metrics.map((r) => r.step)).toEqual(Array.from({ length: bad - 1 }, (_, i) => i + 1));
    for (const r of metrics) expect(Number.isFinite(r.loss)).toBe(true);
    // The named checkpoint exists, is complete, and its parameters give a finite validation loss.
    const named = /checkpoint is (\S+?)[;,.]?\s/.exec(e.message)?.[1];
    expect(named, e.message).toBeDefined();
    expect(listCheckpoints(join(runDir, "checkpoints")).map((c) => c.dir)).toContain(named);
    for (const [k, t] of Object.entries(tensorsOf(join(named!, "model.safetensors")))) expect((t.data as Float32Array).every(Number.isFinite), k).toBe(true);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    await evalCommand(named!);
    const line = String(log.mock.calls[0]?.[0]);
    log.mockRestore();
    const loss = Number(/validation loss (\S+)/.exec(line)?.[1]);
    expect(Number.isFinite(loss), line).toBe(true);
    // The advice is one that works: a changed config cannot --resume this run.
    expect(e.message).not.toMatch(/then --resume/);
  });
});
