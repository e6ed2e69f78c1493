import { CausalSelfAttention, Dropout, Embedding, GatedMLP, LMHead, RMSNorm, RoPE, TransformerBlock, type FeedForward, type GatedKind } from "@equigrad/nn";
import type { Rng } from "@equigrad/tensor";
import { rngOf, type BuildOptions } from "./build-options.js";
import { Transformer } from "./transformer.js";

export interface LlamaConfig {
  vocabSize: number;
  contextLength: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads (GQA); default nHead. */
  nKvHeads?: number;
  dModel: number;
  /** Default dModel / nHead. */
  headDim?: number;
  /** Width of the gated MLP. */
  dFF: number;
  ropeTheta?: number;
  normEps?: number;
  /** Default false (LLaMA's head is untied). */
  tiedHead?: boolean;
  /** Qwen3-style RMSNorm on each q and k head. */
  qkNorm?: boolean;
  /** swiglu (default) or geglu. */
  mlp?: GatedKind;
  dropout?: number;
}

/** The parts of a LLaMA-style model; the feed-forward of each block comes from `ffn`. */
export function llamaLike(config: LlamaConfig, opts: BuildOptions, ffn: (rng: Rng, layer: number) => { module: FeedForward; name: string }): Transformer {
  const { vocabSize: v, contextLength: ctx, nLayer, nHead, dModel: d, dropout = 0, normEps: eps = 1e-6 } = config;
  const dtype = opts.dtype ?? "float32";
  const rng = rngOf(opts);
  const headDim = config.headDim ?? d / nHead;
  const rope = new RoPE(headDim, config.ropeTheta ?? 10000);
  const drop = (name: string): Dropout | undefined => (dropout > 0 ? new Dropout(dropout, rng.fork("dropout").fork(name)) : undefined);
  const embed = new Embedding(v, d, { rng: rng.fork("embed"), dtype });
  const blocks = Array.from({ length: nLayer }, (_, i) => {
    const r = rng.fork(`blocks.${i}`);
    const f = ffn(r, i);
    return new TransformerBlock({
      attnNorm: new RMSNorm(d, { eps, dtype }),
      attn: new CausalSelfAttention({ rng: r.fork("attn"), dtype, dModel: d, nHeads: nHead, nKvHeads: config.nKvHeads ?? nHead, headDim, rope, qkNorm: config.qkNorm ?? false, normEps: eps }),
      ffnNorm: new RMSNorm(d, { eps, dtype }),
      ffn: f.module,
      ffnName: f.name,
      dropout: drop(`blocks.${i}`),
    });
  });
  return new Transformer({
    vocabSize: v,
    contextLength: ctx,
    embed,
    posEmbed: null,
    blocks,
    finalNorm: new RMSNorm(d, { eps, dtype }),
    head: config.tiedHead ? new LMHead(v, d, { tiedTo: embed }) : new LMHead(v, d, { rng: rng.fork("lm_head"), dtype }),
    embedDropout: drop("embed") ?? null,
    rope,
  });
}

/** LLaMA: RoPE, RMSNorm, SwiGLU, no biases, GQA, untied head. */
export function llama(config: LlamaConfig, opts: BuildOptions = {}): Transformer {
  return llamaLike(config, opts, (rng) => ({
    module: new GatedMLP(config.dModel, config.dFF, { rng: rng.fork("mlp"), dtype: opts.dtype, kind: config.mlp ?? "swiglu" }),
    name: "mlp",
  }));
}

/** Attention weights and norms of one LLaMA-style block: d·hd·(2H + 2H_kv) + 2d (+ 2·hd with QK-norm). */
export function llamaAttentionCount(config: Omit<LlamaConfig, "dFF">): number {
  const { dModel: d, nHead: h } = config;
  const hd = config.headDim ?? d / h;
  const kv = config.nKvHeads ?? h;
  return d * hd * (2 * h + 2 * kv) + 2 * d + (config.qkNorm ? 2 * hd : 0);
}

/** V·d (embed) + L·(attention + norms + 3·d·ff) + d (final norm) + V·d when untied. */
export function llamaParameterCount(config: LlamaConfig): number {
  const { vocabSize: v, nLayer: l, dModel: d, dFF: ff } = config;
  return v * d + l * (llamaAttentionCount(config) + 3 * d * ff) + d + (config.tiedHead ? 0 : v * d);
}
