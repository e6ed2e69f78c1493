import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { tinyConfig, writeCorpus } from "./fixtures/train/setup.js";
import { ConfigError, applySet, configHash, loadConfig, resolveConfig } from "../src/config/load.js";
import { partition } from "@equigrad/optim";
import { ConfigSchema } from "../src/config/schema.js";
import { createModel, modelSpec } from "../src/train/model.js";
import { optimizerTable } from "../src/train/optimizer-table.js";
import { train } from "../src/train/loop.js";

const tmp = tempDirs("config");

/** zod internals, enough to walk a schema: wrappers (default, prefault, optional) and objects. */
interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  shape?: Record<string, { _zod: { def: Def } }>;
}

/** Every leaf field of an object schema with its path; optional = no default anywhere on the way. */
function leafFields(schema: { _zod: { def: Def } }, path: string[] = []): { path: string[]; optional: boolean }[] {
  let def = schema._zod.def;
  let optional = false;
  let defaulted = false;
  while (def.innerType && ["default", "prefault", "optional"].includes(def.type)) {
    if (def.type === "optional") optional = true;
    else defaulted = true;
    def = def.innerType._zod.def;
  }
  if (def.type === "object" && def.shape && !(path.length > 0 && path.at(-1) === "overrides")) {
    return Object.entries(def.shape).flatMap(([k, v]) => leafFields(v, [...path, k]).map((f) => ({ ...f, optional: f.optional || (optional && !defaulted) })));
  }
  return [{ path, optional: optional && !defaulted }];
}

const get = (o: unknown, path: string[]): unknown => path.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);

/** The ConfigError `fn` throws (fails the test when it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

async function configErrorAsync(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

describe("config validation", () => {
  it("rejects an unknown top-level field, naming it", () => {
    const e = configError(() => resolveConfig({ stpes: 3 }));
    expect(e.message).toMatch(/^\s*stpes: /m);
    expect(e.message).toMatch(/unknown|unrecognized/i);
  });

  it("rejects an unknown nested field, naming its full path", () => {
    const e = configError(() => resolveConfig({ train: { stpes: 3 } }));
    expect(e.message).toContain("train.stpes");
    expect(e.message).toMatch(/unknown|unrecognized/i);
    // Deeper: a typo inside the schedule.
    expect(configError(() => resolveConfig({ optim: { schedule: { warmup: 3 } } })).message).toContain("optim.schedule.warmup");
  });

  it("lists every bad field at once, each with its path and the reason", () => {
    const e = configError(() => resolveConfig({ train: { steps: -5 }, optim: { lr: 0 }, data: { tokenizer: "foo" } }));
    expect(e.message).toMatch(/train\.steps: .*(>0|positive|too small)/i);
    expect(e.message).toMatch(/optim\.lr: .*(>0|positive|too small)/i);
    expect(e.message).toMatch(/data\.tokenizer: .*byte.*gpt2/);
  });

  it("rejects values of the wrong type and non-integers where integers are needed", () => {
    expect(configError(() => resolveConfig({ train: { steps: 2.5 } })).message).toMatch(/train\.steps: .*int/i);
    expect(configError(() => resolveConfig({ train: { batchSize: "16" } })).message).toMatch(/train\.batchSize: .*number/);
    expect(configError(() => resolveConfig({ data: { corpus: { kind: "text" } } })).message).toContain("data.corpus.path");
    expect(configError(() => resolveConfig({ backend: { name: "cuda" } })).message).toMatch(/backend\.name: .*wasm/);
    expect(configError(() => resolveConfig({ optim: { betas: [0.9, 1] } })).message).toContain("optim.betas.1");
  });

  it("fills every field with its default (walking the schema, so new fields are covered too)", () => {
    const { config } = resolveConfig({});
    const fields = leafFields(ConfigSchema);
    expect(fields.length).toBeGreaterThan(30);
    const missing = fields.filter((f) => !f.optional && get(config, f.path) === undefined).map((f) => f.path.join("."));
    expect(missing).toEqual([]);
    // Only the documented optional fields stay unset.
    expect(fields.filter((f) => f.optional).map((f) => f.path.join(".")).sort()).toEqual(["backend.provider", "backend.spin", "backend.stepsPerCall", "backend.threads", "name", "optim.lrScale", "optim.overrides", "optim.variants", "train.seqLen"]);
    // The defaults are themselves a valid config, and resolving is idempotent.
    expect(resolveConfig(JSON.parse(JSON.stringify(config))).config).toEqual(config);
    // A partial section keeps the defaults of its other fields.
    const partial = resolveConfig({ optim: { schedule: { kind: "cosine" } } }).config.optim;
    expect(partial.schedule).toEqual({ ...config.optim.schedule, kind: "cosine" });
    expect(partial.lr).toBe(config.optim.lr);
    expect(config.model.preset).toBe("gpt-tiny");
    expect(config.backend.name).toBe("wasm");
  });

  it("the built-in config fits its model and optimizer (schedule vs steps, batch vs gradAccum)", () => {
    const { config } = resolveConfig({});
    const { model } = createModel(config, 256);
    expect(() => partition(optimizerTable(config, model.namedParameters()), model.namedParameters())).not.toThrow();
    expect(config.train.batchSize % config.train.gradAccum).toBe(0);
    expect(config.eval.every).toBeLessThanOrEqual(config.train.steps);
  });
});

describe("config hash", () => {
  it("is 12 hex digits, stable, and independent of key order and of spelled-out defaults", () => {
    const a = resolveConfig({ seed: 1, train: { steps: 5, batchSize: 4 } });
    const b = resolveConfig({ train: { batchSize: 4, steps: 5 }, seed: 1 });
    const c = resolveConfig({ seed: 1, train: { steps: 5, batchSize: 4, gradAccum: 1 }, optim: { lr: 3e-3 } });
    expect(a.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(b.hash).toBe(a.hash);
    expect(c.hash).toBe(a.hash);
    expect(resolveConfig({ seed: 1, train: { steps: 5, batchSize: 4 } }).hash).toBe(a.hash);
    expect(configHash(a.config)).toBe(a.hash);
  });

  it("survives the JSON round trip through config.json", () => {
    const a = resolveConfig({ train: { steps: 7 }, optim: { eps: 1e-12 }, model: { overrides: { nLayer: 1 } } });
    expect(resolveConfig(JSON.parse(JSON.stringify(a.config))).hash).toBe(a.hash);
  });

  it("changes when any field that changes results changes", () => {
    const base = resolveConfig({}).hash;
    const variants = [{ seed: 1338 }, { train: { steps: 1501 } }, { optim: { lr: 3.0001e-3 } }, { optim: { schedule: { warmupSteps: 51 } } }, { model: { overrides: { nLayer: 2 } } }, { data: { tokenizer: "gpt2" } }, { backend: { name: "reference" } }];
    const hashes = variants.map((v) => resolveConfig(v).hash);
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(variants.length);
  });

  it("ignores fields that cannot change results (so a run can resume with other threads or limits)", () => {
    const base = resolveConfig({}).hash;
    for (const v of [{ name: "x" }, { runDir: "elsewhere" }, { backend: { threads: 1 } }, { train: { maxSeconds: 60, logEvery: 1 } }, { checkpoint: { every: 7, keep: 5 } }, { sample: { tokens: 3 } }, { data: { cacheDir: "c" } }]) {
      expect(resolveConfig(v).hash).toBe(base);
    }
  });
});

describe("--set", () => {
  const set = (...assignments: string[]): Record<string, unknown> => {
    const raw: Record<string, unknown> = {};
    for (const s of assignments) applySet(raw, s);
    return raw;
  };

  it("parses numbers, booleans, JSON and strings, and builds nested objects", () => {
    expect(set("optim.lr=3e-4", "train.steps=10", "seed=0")).toEqual({ optim: { lr: 3e-4 }, train: { steps: 10 }, seed: 0 });
    expect(set("model.overrides.bias=false", "model.overrides.nLayer=2")).toEqual({ model: { overrides: { bias: false, nLayer: 2 } } });
    expect(set("name=my-run", "sample.prompt=Once upon a time")).toEqual({ name: "my-run", sample: { prompt: "Once upon a time" } });
    expect(set('sample.prompt="42"')).toEqual({ sample: { prompt: "42" } }); // JSON quotes keep a number-like string a string
    expect(set("optim.betas=[0.8,0.99]")).toEqual({ optim: { betas: [0.8, 0.99] } });
    expect(set("sample.prompt=a=b")).toEqual({ sample: { prompt: "a=b" } }); // only the first '=' splits
    expect(set("train.steps=5", "train.steps=6")).toEqual({ train: { steps: 6 } }); // the last one wins
  });

  it("overrides a value from the file and keeps the file's other fields in that section", () => {
    const raw: Record<string, unknown> = { train: { steps: 100, batchSize: 8 } };
    applySet(raw, "train.steps=3");
    expect(resolveConfig(raw).config.train).toMatchObject({ steps: 3, batchSize: 8 });
  });

  it("fails clearly without '=' or a path, and when a path goes through a non-object", () => {
    expect(configError(() => set("foo")).message).toMatch(/--set foo: expected path=value/);
    expect(configError(() => set("=3")).message).toMatch(/expected path=value/);
    expect(configError(() => set("train=3", "train.steps=4")).message).toMatch(/train is not an object/);
  });

  it("a value of the wrong type is reported by validation with the field's path", async () => {
    const e = await configErrorAsync(loadConfig(undefined, ["train.steps=ten"]));
    expect(e.message).toContain("train.steps");
    expect(e.message).toContain("built-in config");
  });
});

describe("config files", () => {
  it("loads a .json file, with --set on top", async () => {
    const dir = tmp();
    const file = join(dir, "exp.json");
    writeFileSync(file, JSON.stringify({ seed: 3, train: { steps: 20 } }));
    const loaded = await loadConfig(file, ["train.batchSize=2"]);
    expect(loaded.config.seed).toBe(3);
    expect(loaded.config.train).toMatchObject({ steps: 20, batchSize: 2 });
    expect(loaded.source).toContain(file);
    expect(loaded.hash).toBe(resolveConfig({ seed: 3, train: { steps: 20, batchSize: 2 } }).hash);
  });

  it("loads a .ts file (type annotations and type-only imports are stripped)", async () => {
    const dir = tmp();
    const file = join(dir, "exp.ts");
    writeFileSync(
      file,
      [
        'import type { ConfigInput } from "../src/config/schema.js";',
        "const steps: number = 2 * 21;",
        'const config: ConfigInput = { seed: 9, train: { steps }, optim: { lr: 1e-3 } as ConfigInput["optim"] };',
        "export default config;",
      ].join("\n"),
    );
    const loaded = await loadConfig(file);
    expect(loaded.config.seed).toBe(9);
    expect(loaded.config.train.steps).toBe(42);
    expect(loaded.config.optim.lr).toBe(1e-3);
  });

  it("a .ts config may import shared parts from other files; a broken one names the file", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "shared.ts"), "export const common = { seed: 5, train: { steps: 7 } };\n");
    writeFileSync(join(dir, "exp.ts"), 'import { common } from "./shared";\nexport default { ...common, optim: { lr: 2e-3 } };\n');
    const loaded = await loadConfig(join(dir, "exp.ts"));
    expect([loaded.config.seed, loaded.config.train.steps, loaded.config.optim.lr]).toEqual([5, 7, 2e-3]);
    writeFileSync(join(dir, "bad.ts"), 'import { nothing } from "./missing";\nexport default nothing;\n');
    expect((await configErrorAsync(loadConfig(join(dir, "bad.ts")))).message).toMatch(/bad\.ts does not compile/);
  });

  it("--set does not leak into a later load of the same .ts / .mjs file", async () => {
    const dir = tmp();
    for (const [name, body] of [
      ["a.ts", "export default { train: { steps: 11 } as { steps: number } };"],
      ["b.mjs", "export default { train: { steps: 11 } };"],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, body);
      expect((await loadConfig(file, ["train.steps=99", "seed=5"])).config.train.steps).toBe(99);
      const again = (await loadConfig(file)).config;
      expect(again.train.steps).toBe(11);
      expect(again.seed).toBe(1337);
    }
  });

  it("fails clearly for a missing file, invalid JSON, a non-object and an unknown extension", async () => {
    const dir = tmp();
    const missing = join(dir, "nope.json");
    expect((await configErrorAsync(loadConfig(missing))).message).toMatch(new RegExp(`not found: .*nope\\.json`));
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ seed: 1 ");
    expect((await configErrorAsync(loadConfig(bad))).message).toMatch(/bad\.json is not valid JSON/);
    const arr = join(dir, "arr.json");
    writeFileSync(arr, "[1, 2]");
    expect((await configErrorAsync(loadConfig(arr))).message).toMatch(/expected an object/);
    const yaml = join(dir, "exp.yaml");
    writeFileSync(yaml, "seed: 1\n");
    expect((await configErrorAsync(loadConfig(yaml))).message).toMatch(/expected a \.json, \.js, \.mjs or \.ts file/);
    const invalid = join(dir, "invalid.json");
    writeFileSync(invalid, JSON.stringify({ train: { stpes: 1 } }));
    const e = await configErrorAsync(loadConfig(invalid));
    expect(e.message).toContain(invalid); // the source is named
    expect(e.message).toContain("train.stpes");
  });
});

describe("model and batch checks", () => {
  it("model.overrides with a field the preset lacks fails, listing the preset's fields", () => {
    const { config } = resolveConfig({ model: { preset: "gpt-tiny", overrides: { nLayers: 2 } } });
    const e = configError(() => modelSpec(config, 256));
    expect(e.message).toContain("'nLayers'");
    expect(e.message).toContain("gpt-tiny");
    for (const f of ["vocabSize", "contextLength", "nLayer", "nHead", "dModel"]) expect(e.message).toContain(f);
    // A llama field on a gpt preset is no field of it either.
    expect(configError(() => modelSpec(resolveConfig({ model: { overrides: { nKvHeads: 1 } } }).config, 256)).message).toContain("'nKvHeads'");
    // A known field is applied.
    expect(modelSpec(resolveConfig({ model: { overrides: { nLayer: 1, dModel: 32 } } }).config, 256)).toMatchObject({ family: "gpt2", nLayer: 1, dModel: 32, nHead: 4 });
  });

  it("an unknown preset fails, listing the known ones", () => {
    const e = configError(() => modelSpec(resolveConfig({ model: { preset: "gpt-huge" } }).config, 256));
    expect(e.message).toContain("gpt-huge");
    expect(e.message).toContain("gpt-tiny");
    expect(e.message).toContain("llama-small");
  });

  it("train() rejects overrides the preset lacks and batchSize % gradAccum != 0 before creating a run", async () => {
    const root = tmp();
    const corpus = writeCorpus(join(root, "data"), 4000);
    const bad1 = tinyConfig(root, corpus, { model: { overrides: { nLayers: 1 } } });
    expect((await configErrorAsync(train(bad1, { log: null }))).message).toContain("'nLayers'");
    const bad2 = tinyConfig(root, corpus, { train: { batchSize: 6, gradAccum: 4 } });
    const e = await configErrorAsync(train(bad2, { log: null }));
    expect(e.message).toMatch(/train\.batchSize 6 is not divisible by train\.gradAccum 4/);
    const bad3 = tinyConfig(root, corpus, { train: { seqLen: 64 } });
    expect((await configErrorAsync(train(bad3, { log: null }))).message).toMatch(/train\.seqLen 64 exceeds .* 32/);
    expect(existsSync(join(root, "runs", "tiny"))).toBe(false);
  });
});
