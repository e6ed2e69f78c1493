import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { expectSameTensors, lastCheckpointOf, metricsOf, tensorsOf } from "./fixtures/train/read.js";
import { ConfigError, loadConfig, resolveConfig } from "../src/config/load.js";
import { train } from "../src/train/loop.js";
import { createModel } from "../src/train/model.js";
import { buildOptimizer, optimizerTable } from "../src/train/optimizer-table.js";

const tmp = tempDirs("tables");

/** The ConfigError `fn` rejects with (fails the test when it resolves or rejects with something else). */
async function configError(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("no ConfigError");
}

describe("optimizer tables in the config", () => {
  it("an explicit table that does not fit fails before training, listing every offending path", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const table = [
      { name: "attention", match: { roles: ["attn.*"] }, rule: "adamw" },
      { name: "ghost", match: { roles: ["moe.router"] }, rule: "adamw" },
      { name: "gains", match: { roles: ["norm"] }, rule: "rownorm" },
    ];
    const loaded = tinyConfig(root, corpus, { name: "bad", optim: { table } as never });
    const m = await configError(() => train(loaded, { log: null }));
    expect(m).toMatch(/^the explicit optim\.table does not fit the model gpt-tiny:/);
    // Unmatched parameters, by path (gpt-tiny: embedding, positions, MLP, biases).
    for (const p of ["embed.weight", "pos_embed.weight", "blocks.0.mlp.up.weight", "blocks.0.mlp.down.weight", "blocks.0.attn.q.bias"]) expect(m).toContain(`parameter '${p}'`);
    // An entry that matches nothing, and a rule given parameters of a rank it does not take.
    expect(m).toMatch(/table\[1\] \(adamw; roles moe\.router\) matches no parameter/);
    expect(m).toMatch(/table\[2\] \(rownorm; roles norm\): rule 'rownorm' accepts rank 2 or 3, but 'blocks\.0\.attn_norm\.weight' has shape \[32\] \(rank 1\)/);
    // The shared AdamW betas/eps are not forced on a rule that has no such hyperparameters.
    expect(m).not.toMatch(/betas/);
    // Nothing was trained or written.
    expect(existsSync(join(root, "runs", "bad"))).toBe(false);
  });

  it("unknown tables, variants and override entries are config errors that name the fix", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    await expect(loadConfig(undefined, ["optim.table=sgd"])).rejects.toThrow(/optim\.table/);
    const variant = await configError(async () => train(tinyConfig(root, corpus, { optim: { table: "symmetry", variants: { router: "lefty" } } as never }), { log: null }));
    expect(variant).toMatch(/optim\.variants\.router: unknown variant 'lefty'; choose one of rownorm, left, hybrid, adamw/);
    const entry = await configError(async () => train(tinyConfig(root, corpus, { optim: { table: "symmetry", overrides: { router: { lr: 1e-3 } } } as never }), { log: null }));
    expect(entry).toMatch(/optim\.overrides\.router: table 'symmetry' has entry 'router', but it matches no parameter of this model/);
    const hyper = await configError(async () => train(tinyConfig(root, corpus, { optim: { table: "symmetry", overrides: { embed: { learningRate: 1 } } } as never }), { log: null }));
    expect(hyper).toMatch(/table\[0\] \(rownorm; roles embed\): rownorm: unknown hyperparameter 'learningRate'/);
    const explicit = await configError(async () => train(tinyConfig(root, corpus, { optim: { table: [{ match: { roles: ["*"] }, rule: "adamw" }], variants: { router: "left" } } as never }), { log: null }));
    expect(explicit).toMatch(/with an explicit table, write the rule into the entry/);
    // --set reaches overrides and variants.
    const viaSet = await loadConfig(undefined, ["optim.table=symmetry", "optim.variants.router=left", "optim.overrides.other.lr=1e-3", "optim.lrScale=0.5"]);
    expect(viaSet.config.optim).toMatchObject({ table: "symmetry", variants: { router: "left" }, overrides: { other: { lr: 1e-3 } }, lrScale: 0.5 });
  });

  it("the built-in config keeps its hash and its optimizer: the adamw table equals the old two-group table bit for bit", async () => {
    // The optional new fields are absent from a config that does not give them, so its hash is unchanged.
    expect(Object.keys(resolveConfig({}).config.optim).sort()).toEqual(["betas", "clipGradNorm", "eps", "lr", "schedule", "table", "weightDecay"]);
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"));
    const old = [
      { name: "matrices", match: { roles: ["attn.*", "mlp.*", "moe.*", "lm_head"] }, rule: "adamw", hyper: { weightDecay: 0.1 } },
      { name: "no_decay", match: { roles: ["embed", "norm", "bias", "scalar"] }, rule: "adamw", hyper: { weightDecay: 0 } },
    ];
    const extra = { train: { steps: 4 }, checkpoint: { every: 0 } } as const;
    const a = await train(tinyConfig(root, corpus, { name: "new", optim: { table: "adamw", weightDecay: 0.1 }, ...extra }), { log: null });
    const b = await train(tinyConfig(root, corpus, { name: "old", optim: { table: old, weightDecay: 0.1 } as never, ...extra }), { log: null });
    expectSameTensors(tensorsOf(join(lastCheckpointOf(a.runDir), "model.safetensors")), tensorsOf(join(lastCheckpointOf(b.runDir), "model.safetensors")));
    expect(metricsOf(a.runDir).map((r) => r.loss)).toEqual(metricsOf(b.runDir).map((r) => r.loss));
  });

  it("every ready table builds for every preset family (symmetry with each router variant on the MoE model)", () => {
    for (const preset of ["gpt-tiny", "llama-tiny", "moe-small"]) {
      for (const [table, variants] of [["adamw", undefined], ["muon", undefined], ["symmetry", undefined], ["symmetry", { router: "left" }], ["symmetry", { router: "adamw", mlp: "hybrid" }]] as const) {
        if (variants?.router && preset !== "moe-small") continue;
        const { config } = resolveConfig({ model: { preset, overrides: { nLayer: 1 } }, optim: { table, ...(variants ? { variants } : {}) }, train: { steps: 100 } });
        const { model } = createModel(config, 256);
        const params = model.namedParameters();
        const opt = buildOptimizer(config, params);
        expect(opt.groups.flatMap((g) => g.paths).sort(), `${preset} ${table}`).toEqual(params.map((p) => p.path).sort());
        expect(optimizerTable(config, params).length).toBe(opt.groups.length);
      }
    }
  });
});
