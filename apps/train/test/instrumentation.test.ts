import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { listCheckpoints } from "../src/checkpoint/index.js";
import { resolveConfig } from "../src/config/load.js";
import { train, type TrainSummary } from "../src/train/loop.js";
import { createModel } from "../src/train/model.js";
import { optimizerTable } from "../src/train/optimizer-table.js";
import { globMatch } from "@equigrad/optim";

const tmp = tempDirs("instrument");
const MOE = { nLayer: 1, nHead: 2, nKvHeads: 1, dModel: 32, dFF: 32, nExperts: 4, topK: 2, contextLength: 32 };

describe("per-entry instrumentation in the step metrics", () => {
  let summary: TrainSummary;
  let root: string;
  let corpus: string;
  const run = {
    model: { preset: "moe-small", overrides: MOE },
    optim: { table: "symmetry", variants: { router: "left" } } as never,
    train: { steps: 4, logEvery: 2 },
    eval: { every: 2 },
    checkpoint: { every: 1, keep: 10 },
  } as const;

  it("logs update RMS per entry on logging steps, ν for ν-scaled rules, lrs, router balance and final-logit RMS", async () => {
    root = tmp();
    corpus = writeCorpus(join(root, "data"));
    summary = await train(tinyConfig(root, corpus, { name: "moe", ...run }), { log: null });
    const m = metricsOf(summary.runDir);
    const entries = ["embed", "lm_head", "attn", "router", "experts_in", "experts_down", "other"];
    for (const r of m) {
      expect(Object.keys(r.lr as object).sort()).toEqual([...entries].sort());
      expect(r.moe).toMatchObject({ load_cv: expect.any(Number), dead_fraction: expect.any(Number) });
      const logged = (r.step as number) % 2 === 0;
      expect("update_rms" in r, `step ${r.step}`).toBe(logged);
      expect("logits" in r, `step ${r.step}`).toBe(logged);
      if (!logged) continue;
      const rms = r.update_rms as Record<string, number>;
      expect(Object.keys(rms).sort()).toEqual([...entries].sort());
      for (const [k, v] of Object.entries(rms)) expect(v > 0 && Number.isFinite(v), `${k} at ${r.step}`).toBe(true);
      // left_polar keeps ν; row-norm and Muon do not.
      const nu = r.nu as Record<string, number>;
      expect(Object.keys(nu)).toEqual(["router"]);
      expect(nu.router).toBeGreaterThan(0);
      const logits = r.logits as { rms: number; max_abs: number };
      expect(logits.rms).toBeGreaterThan(0);
      expect(logits.max_abs).toBeGreaterThanOrEqual(logits.rms);
    }
    expect(summary.entries.router).toMatchObject({ lr: expect.any(Number), updateRms: expect.any(Number), nu: expect.any(Number) });
    const report = readFileSync(join(summary.runDir, "report.md"), "utf8");
    expect(report).toMatch(/\| entry \| lr \| update RMS \| ν \|/);
    expect(report).toMatch(/\| router \| /);
  });

  it("the logged update RMS is the RMS of the change the step made to the entry's parameters", () => {
    const m = metricsOf(summary.runDir);
    const ckpts = listCheckpoints(join(summary.runDir, "checkpoints"));
    const at = (step: number) => tensorsOf(join(ckpts.find((c) => c.step === step)!.dir, "model.safetensors"));
    const before = at(3);
    const after = at(4);
    const { config } = resolveConfig(JSON.parse(readFileSync(join(summary.runDir, "config.json"), "utf8")));
    const { model } = createModel(config, 256);
    const params = model.namedParameters();
    const logged = m.find((r) => r.step === 4)!.update_rms as Record<string, number>;
    for (const e of optimizerTable(config, params)) {
      const mine = params.filter((p) => e.match.roles!.some((g) => globMatch(g, p.role)));
      let sum = 0;
      let n = 0;
      for (const p of mine) {
        const a = before[p.path]!.data as Float32Array;
        const b = after[p.path]!.data as Float32Array;
        for (let i = 0; i < a.length; i++) sum += (b[i]! - a[i]!) ** 2;
        n += a.length;
      }
      const measured = Math.sqrt(sum / n);
      expect(Math.abs(measured - logged[e.name!]!) / logged[e.name!]!, e.name).toBeLessThan(1e-3);
    }
  });

  it('backend "onnx" (K = 2 steps per call) logs the same update RMS and ν as wasm, on the same steps', async () => {
    const onnx = await train(tinyConfig(root, corpus, { name: "moe-onnx", ...run, checkpoint: { every: 2 }, backend: { name: "onnx", threads: 1, stepsPerCall: 2 } }), { log: null });
    const [mw, mo] = [metricsOf(summary.runDir), metricsOf(onnx.runDir)];
    expect(mo.map((r) => "update_rms" in r)).toEqual(mw.map((r) => "update_rms" in r));
    mo.forEach((r, i) => {
      if (!("update_rms" in r)) return;
      for (const key of ["update_rms", "nu"] as const) {
        const [a, b] = [r[key] as Record<string, number>, mw[i]![key] as Record<string, number>];
        expect(Object.keys(a).sort(), `${key} at ${r.step}`).toEqual(Object.keys(b).sort());
        // float32 noise: ORT sums in other orders (the losses agree to 1e-4).
        for (const k of Object.keys(b)) expect(Math.abs(a[k]! - b[k]!) / b[k]!, `${key}.${k} at ${r.step}`).toBeLessThan(1e-3);
      }
    });
  });
});
