export { Transformer, type TransformerParts, type LossOptions } from "./transformer.js";
export type { BuildOptions } from "./build-options.js";
export { gpt2, gpt2ParameterCount, type GPT2Config } from "./gpt2.js";
export { llama, llamaLike, llamaParameterCount, llamaAttentionCount, type LlamaConfig } from "./llama.js";
export { moe, moeParameterCount, moeActiveParameterCount, type MoEConfig } from "./moe.js";
export { PRESETS, preset, buildPreset, buildModel, parameterCount, type ModelSpec, type PresetName } from "./presets.js";
