import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { metricsOf } from "./fixtures/train/read.js";
import { ConfigError, resolveConfig } from "../src/config/load.js";
import { compare, compareHash } from "../src/compare/run.js";
import { comparePlan } from "../src/compare/plan.js";
import { TABLES } from "@equigrad/optim";

const tmp = tempDirs("compare");

describe("train compare", () => {
  it("plans table × router variant × lr scale, applying router variants only where a table has a router slot", () => {
    const plan = comparePlan({ tables: ["adamw", "symmetry"], routerVariants: ["rownorm", "left"], lrs: [0.5, 1] });
    expect(plan.map((r) => r.name)).toEqual([
      "adamw-lr0.5",
      "adamw-lr1",
      "symmetry-router_rownorm-lr0.5",
      "symmetry-router_rownorm-lr1",
      "symmetry-router_left-lr0.5",
      "symmetry-router_left-lr1",
    ]);
    expect(plan[4]).toMatchObject({ table: "symmetry", variants: { router: "left" }, lrScale: 0.5, label: "symmetry/left ×0.5" });
    expect(() => comparePlan({ tables: ["adamw", "sgd"] })).toThrow(ConfigError);
    expect(() => comparePlan({ tables: ["adamw", "sgd"] })).toThrow(/unknown table 'sgd'/);
    expect(() => comparePlan({ tables: ["muon"], routerVariants: ["left"] })).toThrow(/none of the tables muon has a router slot/);
    expect(() => comparePlan({ tables: ["symmetry"], routerVariants: ["lefty"] })).toThrow(/no router variant 'lefty'/);
    expect(() => comparePlan({ tables: ["symmetry"], lrs: [0] })).toThrow(/positive/);
  });

  it("runs 2 tables on a tiny model with equal budgets, writes the table and the plot, and skips finished runs when rerun", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const loaded = tinyConfig(root, corpus, { train: { steps: 4 }, eval: { every: 1 }, checkpoint: { every: 0 } });
    const first = await compare(loaded, { tables: ["adamw", "symmetry"] }, { log: null });
    expect(basename(first.dir)).toMatch(/^compare-[0-9a-f]{12}$/);
    expect(first.runs.map((r) => [r.name, r.status, r.steps, r.tokens])).toEqual([
      ["adamw-lr1", "trained", 4, 4 * 4 * 16],
      ["symmetry-lr1", "trained", 4, 4 * 4 * 16],
    ]);
    for (const r of first.runs) {
      expect(Number.isFinite(r.valLoss)).toBe(true);
      // The curve is the run's own validation losses, the last one its final loss.
      expect(r.curve.map(([s]) => s)).toEqual([1, 2, 3, 4]);
      expect(r.curve.at(-1)![1]).toBe(r.valLoss);
      expect(metricsOf(join(first.dir, r.name)).at(-1)!.val_loss).toBe(r.valLoss);
    }
    // The two tables really differ (different rules on the same data).
    expect(first.runs[0]!.valLoss).not.toBe(first.runs[1]!.valLoss);
    // The lrs of the entries the model has (gpt-tiny: no router, no experts).
    expect(Object.keys(first.runs[1]!.lrs)).toEqual(["embed", "attn", "mlp_in", "mlp_down", "other"]);
    expect(first.runs[1]!.lrs).toMatchObject({ embed: 0.1, attn: 0.05, other: 3e-3 });
    expect(first.runs[1]!.final.logitRms).toBeGreaterThan(0);

    const md = readFileSync(join(first.dir, "compare.md"), "utf8");
    expect(md).toMatch(/\| run \| table \| variants \| lr × \| final val loss \(nats\/token\) \| steps \| tokens \| time \(s\) \| final logit RMS \| status \|/);
    for (const r of first.runs) expect(md).toContain(`| ${r.label} | ${r.table} | – | 1 | ${r.valLoss.toFixed(4)} | 4 | 256 |`);
    const svg = readFileSync(join(first.dir, "val_loss.svg"), "utf8");
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain("<title>symmetry</title>");
    expect(JSON.parse(readFileSync(join(first.dir, "results.json"), "utf8")).runs).toHaveLength(2);

    // Rerun: same folder, nothing trained again.
    const mtime = statSync(join(first.dir, "adamw-lr1", "metrics.jsonl")).mtimeMs;
    const again = await compare(loaded, { tables: ["adamw", "symmetry"] }, { log: null });
    expect(again.dir).toBe(first.dir);
    expect(again.runs.map((r) => r.status)).toEqual(["finished before", "finished before"]);
    expect(again.runs.map((r) => r.valLoss)).toEqual(first.runs.map((r) => r.valLoss));
    expect(statSync(join(first.dir, "adamw-lr1", "metrics.jsonl")).mtimeMs).toBe(mtime);
    expect(existsSync(join(first.dir, "adamw-lr1", "report.md"))).toBe(true);

    // A larger plan on the same config (another table) shares the folder and trains only what is new.
    const more = await compare(loaded, { tables: ["symmetry", "muon"] }, { log: null });
    expect(more.dir).toBe(first.dir);
    expect(more.runs.map((r) => [r.name, r.status])).toEqual([
      ["symmetry-lr1", "finished before"],
      ["muon-lr1", "trained"],
    ]);
    // --report-only: the finished runs of a plan, nothing trained.
    const report = await compare(loaded, { tables: ["adamw", "muon", "symmetry"], lrs: [1, 2], reportOnly: true }, { log: null });
    expect(report.runs.map((r) => r.name)).toEqual(["adamw-lr1", "muon-lr1", "symmetry-lr1"]);
    expect(existsSync(join(first.dir, "adamw-lr2"))).toBe(false);
    // A base config with its own variant or overrides is another comparison (its runs have the same names).
    expect(compareHash(resolveConfig({ ...structuredClone(loaded.config), optim: { ...loaded.config.optim, variants: { mlp: "muon" } } }).config)).not.toBe(basename(first.dir).slice(8));
    expect(compareHash(resolveConfig({ ...structuredClone(loaded.config), optim: { ...loaded.config.optim, table: "muon", lrScale: 2 } }).config)).toBe(basename(first.dir).slice(8));
    // The ready tables' definitions are part of the name: changing a table's lrs starts a new comparison.
    expect(compareHash(loaded.config, TABLES)).toBe(basename(first.dir).slice(8));
    const changed = { ...TABLES, symmetry: { ...TABLES.symmetry!, entries: TABLES.symmetry!.entries.slice(1) } };
    expect(compareHash(loaded.config, changed)).not.toBe(basename(first.dir).slice(8));
    expect(readFileSync(join(first.dir, "compare.md"), "utf8")).toContain("3 of 6 runs done");
  });
});

describe("train compare: bad input", () => {
  it("a table that does not fit the model fails before any run is trained", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    // 3 steps: the adamw table's wsd warmup (2 steps) would run into its decay; symmetry alone is fine.
    const loaded = tinyConfig(root, corpus, { train: { steps: 3 }, checkpoint: { every: 0 } });
    await expect(compare(loaded, { tables: ["symmetry", "adamw"] }, { log: null })).rejects.toThrow(/table 'adamw' does not fit the model gpt-tiny:[\s\S]*warmupSteps \(2\) must end before the decay/);
    expect(existsSync(join(root, "runs"))).toBe(false);
  });
});
