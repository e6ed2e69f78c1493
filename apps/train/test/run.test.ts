import { appendFileSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { collectEnv, createRunDir, hashConfig, metricSeries, openMetrics, readMetrics, renderReport } from "../src/run/index.js";

const tmp = tempDirs("run");
const config = { name: "tiny", model: { preset: "gpt2-tiny", layers: 2 }, seed: 1 };

describe("run directory", () => {
  it("writes config.json, its hash and env.json", () => {
    const root = tmp();
    const run = createRunDir({ root, name: "tiny", config, backend: "reference", threads: 1 });
    expect(run.dir).toBe(join(root, "tiny"));
    expect(JSON.parse(readFileSync(join(run.dir, "config.json"), "utf8"))).toEqual(config);
    expect(readFileSync(join(run.dir, "config.sha256"), "utf8").trim()).toBe(run.configHash);
    expect(run.configHash).toMatch(/^[0-9a-f]{64}$/);
    const env = JSON.parse(readFileSync(join(run.dir, "env.json"), "utf8"));
    expect(env.node).toBe(process.version);
    expect(env.backend).toBe("reference");
    expect(env.threads).toBe(1);
    expect(env.packages["@equigrad/train"]).toBe("0.1.0");
    expect(env.packages["@equigrad/tensor"]).toBe("0.1.0");
    expect(env.packages["js-tiktoken"]).toMatch(/^\d+\.\d+\.\d+/);
    expect(env.git === null || /^[0-9a-f]{40}$/.test(env.git.commit)).toBe(true);
    for (const d of [run.checkpoints, run.samples, run.plots]) expect(existsSync(d)).toBe(true);
  });

  it("hashes configs independently of key order", () => {
    expect(hashConfig({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(hashConfig({ b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(hashConfig({ a: 1 })).not.toBe(hashConfig({ a: 2 }));
  });

  it("names unnamed runs by timestamp, never reusing a folder", () => {
    const root = tmp();
    const a = createRunDir({ root, config, backend: "wasm", threads: 4 });
    const b = createRunDir({ root, config, backend: "wasm", threads: 4 });
    expect(a.name).toMatch(/^run-\d{8}-\d{6}(-\d+)?$/);
    expect(b.name).not.toBe(a.name);
  });

  it("refuses to overwrite a run, resumes with the same config, refuses a changed config", () => {
    const root = tmp();
    createRunDir({ root, name: "r", config, backend: "reference", threads: 1 });
    expect(() => createRunDir({ root, name: "r", config, backend: "reference", threads: 1 })).toThrow(/already holds a run/);
    const again = createRunDir({ root, name: "r", config, backend: "reference", threads: 2, resume: true });
    expect(again.resumed).toBe(true);
    expect(readdirSync(again.dir).some((f) => f.startsWith("env-resume-"))).toBe(true);
    expect(() => createRunDir({ root, name: "r", config: { ...config, seed: 2 }, backend: "reference", threads: 1, resume: true })).toThrow(/config changed/);
    expect(() => createRunDir({ root, name: "nope", config, backend: "reference", threads: 1, resume: true })).toThrow(/holds no run/);
    expect(() => createRunDir({ root, name: "../evil", config, backend: "reference", threads: 1 })).toThrow(/run name/);
  });

  it("records the environment even without git", () => {
    const path = process.env.PATH;
    process.env.PATH = "";
    try {
      expect(collectEnv({ backend: "reference", threads: 1 }).git).toBeNull();
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("metrics JSONL", () => {
  it("appends one parseable line per record, immediately", () => {
    const file = join(tmp(), "metrics.jsonl");
    const m = openMetrics(file);
    m.write({ step: 1, loss: 3.5, lr: 1e-3 });
    // Already on disk before close: a crash here loses nothing.
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))).toEqual([{ step: 1, loss: 3.5, lr: 1e-3 }]);
    m.write({ step: 2, loss: NaN, val_loss: Infinity });
    m.close();
    expect(() => m.write({ step: 3 })).toThrow(/after close/);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(readMetrics(file)[1]).toEqual({ step: 2, loss: NaN, val_loss: Infinity });
  });

  it("skips a torn last line, and drops steps after a resume point", () => {
    const file = join(tmp(), "metrics.jsonl");
    const m = openMetrics(file);
    for (let s = 1; s <= 5; s++) m.write({ step: s, loss: 10 - s });
    m.close();
    appendFileSync(file, '{"step": 6, "lo');
    expect(readMetrics(file).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    const resumed = openMetrics(file, { truncateAfterStep: 3 });
    resumed.write({ step: 4, loss: 0 });
    resumed.close();
    expect(readMetrics(file).map((r) => [r.step, r.loss])).toEqual([[1, 9], [2, 8], [3, 7], [4, 0]]);
    expect(metricSeries(readMetrics(file), "loss")).toEqual([[1, 9], [2, 8], [3, 7], [4, 0]]);
  });
});

describe("report.md", () => {
  it("renders the summary, plots and tables as markdown", () => {
    const md = renderReport({
      title: "tiny on sotu",
      summary: { "train loss": 1.234567, "val loss": null, steps: 12000, optimizer: "adamw|muon" },
      plots: [{ title: "Loss", file: "plots/loss.svg" }],
      tables: [{ title: "Optimizers", columns: ["optimizer", "val loss"], rows: [["adamw", 3.21], ["muon", 3.1]] }],
    });
    expect(md).toMatch(/^# tiny on sotu\n/);
    expect(md).toContain("| train loss | 1.235 |");
    expect(md).toContain("| val loss | — |");
    expect(md).toContain("| steps | 12,000 |");
    expect(md).toContain("adamw\\|muon");
    expect(md).toContain("![Loss](plots/loss.svg)");
    expect(md).toContain("| muon | 3.1 |");
  });
});
