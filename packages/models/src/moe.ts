import { MoE, type MoEOptions } from "@equigrad/nn";
import type { BuildOptions } from "./build-options.js";
import { llamaAttentionCount, llamaLike, type LlamaConfig } from "./llama.js";
import type { Transformer } from "./transformer.js";

/** A LLaMA whose feed-forward is an MoE layer; dFF is each expert's hidden width. */
export interface MoEConfig extends Omit<LlamaConfig, "mlp">, Pick<MoEOptions, "nExperts" | "topK" | "normalizeTopK" | "routerBias" | "balanceCoef" | "zCoef"> {}

/** LLaMA-style attention with a mixture of SwiGLU experts in place of every MLP. */
export function moe(config: MoEConfig, opts: BuildOptions = {}): Transformer {
  return llamaLike(config, opts, (rng) => ({
    module: new MoE({
      rng: rng.fork("moe"),
      dtype: opts.dtype,
      dModel: config.dModel,
      dFF: config.dFF,
      nExperts: config.nExperts,
      topK: config.topK,
      normalizeTopK: config.normalizeTopK,
      routerBias: config.routerBias,
      balanceCoef: config.balanceCoef,
      zCoef: config.zCoef,
    }),
    name: "moe",
  }));
}

/** Per layer: attention + norms + E·d router (+E bias) + 3·E·d·ff experts; then as LLaMA. */
export function moeParameterCount(config: MoEConfig, experts = config.nExperts): number {
  const { vocabSize: v, nLayer: l, dModel: d, dFF: ff, nExperts: e } = config;
  const layer = llamaAttentionCount(config) + e * d + (config.routerBias ? e : 0) + 3 * experts * d * ff;
  return v * d + l * layer + d + (config.tiedHead ? 0 : v * d);
}

/** Parameters one token passes through: only topK experts of each layer count. */
export const moeActiveParameterCount = (config: MoEConfig): number => moeParameterCount(config, config.topK);
