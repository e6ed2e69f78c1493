import type { BuildOptions } from "./build-options.js";
import { gpt2, gpt2ParameterCount, type GPT2Config } from "./gpt2.js";
import { llama, llamaParameterCount, type LlamaConfig } from "./llama.js";
import { moe, moeParameterCount, type MoEConfig } from "./moe.js";
import type { Transformer } from "./transformer.js";

/** A model family and its config. */
export type ModelSpec = ({ family: "gpt2" } & GPT2Config) | ({ family: "llama" } & LlamaConfig) | ({ family: "moe" } & MoEConfig);

/**
 * Named sizes for a byte-level vocabulary (256). Parameter counts (see parameterCount):
 * gpt-tiny 842,496; gpt-small 10,844,160; llama-tiny 853,120; llama-small 9,638,784;
 * moe-small 10,365,184 in total, 3,287,296 active per token.
 */
export const PRESETS = {
  "gpt-tiny": { family: "gpt2", vocabSize: 256, contextLength: 128, nLayer: 4, nHead: 4, dModel: 128 },
  "gpt-small": { family: "gpt2", vocabSize: 256, contextLength: 256, nLayer: 6, nHead: 6, dModel: 384 },
  "llama-tiny": { family: "llama", vocabSize: 256, contextLength: 128, nLayer: 4, nHead: 4, nKvHeads: 2, dModel: 128, dFF: 384 },
  "llama-small": { family: "llama", vocabSize: 256, contextLength: 256, nLayer: 6, nHead: 6, nKvHeads: 2, dModel: 384, dFF: 1024 },
  "moe-small": {
    family: "moe",
    vocabSize: 256,
    contextLength: 256,
    nLayer: 4,
    nHead: 4,
    nKvHeads: 2,
    dModel: 256,
    dFF: 384,
    nExperts: 8,
    topK: 2,
    balanceCoef: 0.01,
    zCoef: 0.001,
  },
} as const satisfies Record<string, ModelSpec>;

export type PresetName = keyof typeof PRESETS;

export function buildModel(spec: ModelSpec, opts: BuildOptions = {}): Transformer {
  switch (spec.family) {
    case "gpt2":
      return gpt2(spec, opts);
    case "llama":
      return llama(spec, opts);
    case "moe":
      return moe(spec, opts);
  }
}

/** The family's closed-form parameter count. */
export function parameterCount(spec: ModelSpec): number {
  switch (spec.family) {
    case "gpt2":
      return gpt2ParameterCount(spec);
    case "llama":
      return llamaParameterCount(spec);
    case "moe":
      return moeParameterCount(spec);
  }
}

export function preset(name: PresetName): ModelSpec {
  const spec = PRESETS[name] as ModelSpec | undefined;
  if (!spec) throw new Error(`unknown preset '${name}'; known: ${Object.keys(PRESETS).join(", ")}`);
  return { ...spec };
}

export const buildPreset = (name: PresetName, opts: BuildOptions = {}): Transformer => buildModel(preset(name), opts);
