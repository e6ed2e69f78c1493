import { CausalSelfAttention, Dropout, Embedding, LayerNorm, LMHead, MLP, TransformerBlock, residualStd, type Activation } from "@equigrad/nn";
import { rngOf, type BuildOptions } from "./build-options.js";
import { Transformer } from "./transformer.js";

export interface GPT2Config {
  vocabSize: number;
  contextLength: number;
  nLayer: number;
  nHead: number;
  dModel: number;
  /** MLP width (default 4·dModel). */
  dFF?: number;
  /** LM head shares the token embedding (default true). */
  tiedHead?: boolean;
  /** Biases on every projection (default true). LayerNorms always have one. */
  bias?: boolean;
  /** Default gelu_tanh, GPT-2's "gelu_new". */
  activation?: Activation;
  dropout?: number;
  normEps?: number;
}

/**
 * GPT-2: learned positions, pre-norm LayerNorm blocks, GELU MLP, tied head by default.
 * Weights normal(0, 0.02); the residual projections (attn.o, mlp.down) 0.02/√(2·n_layer).
 */
export function gpt2(config: GPT2Config, opts: BuildOptions = {}): Transformer {
  const { vocabSize: v, contextLength: ctx, nLayer, nHead, dModel: d, bias = true, dropout = 0, normEps: eps = 1e-5 } = config;
  const dtype = opts.dtype ?? "float32";
  const rng = rngOf(opts);
  const outStd = residualStd(nLayer);
  const drop = (name: string): Dropout | undefined => (dropout > 0 ? new Dropout(dropout, rng.fork("dropout").fork(name)) : undefined);
  const embed = new Embedding(v, d, { rng: rng.fork("embed"), dtype });
  const blocks = Array.from({ length: nLayer }, (_, i) => {
    const r = rng.fork(`blocks.${i}`);
    return new TransformerBlock({
      attnNorm: new LayerNorm(d, { eps, dtype }),
      attn: new CausalSelfAttention({ rng: r.fork("attn"), dtype, dModel: d, nHeads: nHead, bias, outStd }),
      ffnNorm: new LayerNorm(d, { eps, dtype }),
      ffn: new MLP(d, config.dFF ?? 4 * d, { rng: r.fork("mlp"), dtype, bias, outStd, activation: config.activation ?? "gelu_tanh" }),
      dropout: drop(`blocks.${i}`),
    });
  });
  return new Transformer({
    vocabSize: v,
    contextLength: ctx,
    embed,
    posEmbed: new Embedding(ctx, d, { rng: rng.fork("pos_embed"), dtype }),
    blocks,
    finalNorm: new LayerNorm(d, { eps, dtype }),
    head: config.tiedHead === false ? new LMHead(v, d, { rng: rng.fork("lm_head"), dtype }) : new LMHead(v, d, { tiedTo: embed }),
    embedDropout: drop("embed") ?? null,
  });
}

/**
 * V·d + ctx·d (embeddings) + L·(12d² + 13d with ff = 4d and biases) + 2d (final norm)
 * + V·d when untied. In general a block is 4d² + 2·d·ff (weights) + 4d + ff + d (biases) + 4d (norms).
 */
export function gpt2ParameterCount(config: GPT2Config): number {
  const { vocabSize: v, contextLength: ctx, nLayer: l, dModel: d, bias = true } = config;
  const ff = config.dFF ?? 4 * d;
  const block = 4 * d * d + 2 * d * ff + (bias ? 4 * d + ff + d : 0) + 4 * d;
  return v * d + ctx * d + l * block + 2 * d + (config.tiedHead === false ? v * d : 0);
}
