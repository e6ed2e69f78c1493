import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tensor } from "@equigrad/tensor";
import type { LoaderState } from "../src/data/index.js";
import { checkpointName, latestCheckpoint, listCheckpoints, loadCheckpoint, pruneCheckpoints, readCheckpointMeta, saveCheckpoint } from "../src/checkpoint/index.js";

const tmp = tempDirs("ckpt");

const input = (step: number) => ({
  step,
  configHash: "abc123",
  params: {
    "embed.weight": tensor([[1, 2], [3, 4]]),
    "blocks.0.norm.weight": tensor([0.5, 0.25], { dtype: "float64" }),
  },
  optim: { "adamw/count": step, "adamw/lr": 0.1 + 0.2, "adamw/embed.weight/exp_avg": tensor([[0.1, 0.2], [0.3, 0.4]]), "scale": tensor(2.5) },
  state: { loader: { seed: 42, step: step * 2 }, rng: { counter: 12345678901 } },
  metrics: { loss: 3.25 },
});

describe("checkpoints", () => {
  it("round-trips parameters, optimizer tensors and numbers, and the sidecar", () => {
    const dir = tmp();
    const path = saveCheckpoint(dir, input(1234));
    expect(path).toBe(join(dir, "step-00001234"));
    expect(readdirSync(path).sort()).toEqual(["DONE", "checkpoint.json", "model.safetensors", "optim.safetensors"]);
    const ck = loadCheckpoint(path);
    expect(ck.meta.step).toBe(1234);
    expect(ck.meta.configHash).toBe("abc123");
    expect(ck.meta.state).toEqual({ loader: { seed: 42, step: 2468 }, rng: { counter: 12345678901 } });
    expect(ck.meta.metrics).toEqual({ loss: 3.25 });
    expect(ck.meta.version).toBe(1);
    expect(ck.params["embed.weight"]!.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(ck.params["blocks.0.norm.weight"]!.dtype).toBe("float64");
    expect(ck.optim["adamw/count"]).toBe(1234);
    expect(ck.optim["adamw/lr"]).toBe(0.1 + 0.2); // exact double
    const m = ck.optim["adamw/embed.weight/exp_avg"];
    expect(typeof m !== "number" && Array.from(m!.data())).toEqual(Array.from(Float32Array.of(0.1, 0.2, 0.3, 0.4)));
    const s = ck.optim.scale;
    expect(typeof s !== "number" && s!.shape).toEqual([]);
  });

  it("finds the newest complete checkpoint, ignoring temp folders and folders without DONE", () => {
    const dir = tmp();
    expect(latestCheckpoint(dir)).toBeUndefined();
    expect(latestCheckpoint(join(dir, "missing"))).toBeUndefined();
    saveCheckpoint(dir, input(100));
    saveCheckpoint(dir, input(200));
    // A writer that crashed mid-way: a temp folder with everything but the rename.
    cpSync(join(dir, checkpointName(200)), join(dir, ".step-00000300.tmp-999999-abc"), { recursive: true });
    // A step folder without its marker (e.g. copied in half).
    cpSync(join(dir, checkpointName(200)), join(dir, checkpointName(400)), { recursive: true });
    rmSync(join(dir, checkpointName(400), "DONE"));
    // Unrelated files.
    writeFileSync(join(dir, "step-00000500"), "a file, not a folder");
    mkdirSync(join(dir, "notes"));
    expect(latestCheckpoint(dir)).toBe(join(dir, checkpointName(200)));
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([100, 200]);
    expect(() => readCheckpointMeta(join(dir, checkpointName(400)))).toThrow(/incomplete \(no DONE marker\)/);
  });

  it("orders by step number, not by name, past 8 digits", () => {
    const dir = tmp();
    saveCheckpoint(dir, input(99_999_999));
    saveCheckpoint(dir, input(100_000_000));
    expect(latestCheckpoint(dir)).toBe(join(dir, "step-100000000"));
  });

  it("keeps the last N and removes temp folders of dead writers", () => {
    const dir = tmp();
    for (const s of [10, 20, 30, 40]) saveCheckpoint(dir, input(s), { keepLast: 2 });
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([30, 40]);
    mkdirSync(join(dir, ".step-00000050.tmp-999999999-dead"));
    const live = join(dir, `.step-00000060.tmp-${process.pid}-live`);
    mkdirSync(live);
    const removed = pruneCheckpoints(dir, 1);
    expect(removed.map((p) => p.slice(dir.length + 1)).sort()).toEqual([".step-00000050.tmp-999999999-dead", "step-00000030"]);
    expect(existsSync(live)).toBe(true); // its writer (this process) may still be running
    expect(() => pruneCheckpoints(dir, 0)).toThrow(/keepLast/);
  });

  it("replaces a checkpoint saved again at the same step", () => {
    const dir = tmp();
    saveCheckpoint(dir, input(5));
    saveCheckpoint(dir, { ...input(5), metrics: { loss: 1 } });
    expect(readCheckpointMeta(join(dir, checkpointName(5))).metrics).toEqual({ loss: 1 });
    expect(readdirSync(dir)).toEqual([checkpointName(5)]);
  });

  it("keeps non-finite metrics and accepts interface-typed state (LoaderState)", () => {
    const dir = tmp();
    const loader: LoaderState = { seed: 1, step: 2 };
    const path = saveCheckpoint(dir, { ...input(1), state: { loader }, metrics: { trainLoss: NaN, valLoss: Infinity, tokens: 10 } });
    const meta = readCheckpointMeta(path);
    expect(meta.metrics).toEqual({ trainLoss: NaN, valLoss: Infinity, tokens: 10 });
    expect(meta.state).toEqual({ loader: { seed: 1, step: 2 } });
  });

  it("fails before writing anything when a value cannot be saved", () => {
    const dir = tmp();
    expect(() => saveCheckpoint(dir, { ...input(1), optim: { bad: NaN } })).toThrow(/'bad' is NaN/);
    expect(() => saveCheckpoint(dir, { ...input(1), state: { rng: { key: new Uint32Array(2) } } })).toThrow(/state\.rng\.key .*plain JSON/);
    expect(() => saveCheckpoint(dir, { ...input(1), state: { x: [1, undefined] } })).toThrow(/state\.x\[1\]/);
    expect(readdirSync(dir)).toEqual([]);
    expect(() => saveCheckpoint(dir, { ...input(1), step: -1 })).toThrow(/step/);
  });
});
