import { PRESETS, buildModel, parameterCount, preset, type ModelSpec, type PresetName, type Transformer } from "@equigrad/models";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";

/** The model spec of the config: a preset with overrides, checked against the family's fields. */
export function modelSpec(config: Config, vocabSize: number): ModelSpec {
  const name = config.model.preset;
  if (!(name in PRESETS)) throw new ConfigError(`model.preset: unknown preset '${name}'; known presets: ${Object.keys(PRESETS).join(", ")}`);
  const base = preset(name as PresetName) as unknown as Record<string, unknown>;
  const unknown = Object.keys(config.model.overrides).filter((k) => !(k in base) && k !== "dropout");
  if (unknown.length) {
    throw new ConfigError(`model.overrides: ${unknown.map((k) => `'${k}'`).join(", ")} is not a field of ${name} (${base.family}); its fields are ${Object.keys(base).filter((k) => k !== "family").join(", ")}`);
  }
  const spec = { ...base, ...config.model.overrides, vocabSize } as Record<string, unknown>;
  if (config.model.dropout > 0) spec.dropout = config.model.dropout;
  return spec as unknown as ModelSpec;
}

export function createModel(config: Config, vocabSize: number): { model: Transformer; spec: ModelSpec; parameters: number } {
  const spec = modelSpec(config, vocabSize);
  const model = buildModel(spec, { seed: config.seed });
  return { model, spec, parameters: parameterCount(spec) };
}
