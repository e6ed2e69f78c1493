import { OpError, crossEntropy, type Tensor } from "@equigrad/tensor";
import { Module, ModuleList, MoE, type Dropout, type Embedding, type LMHead, type Norm, type RoPE, type RouterStats, type TransformerBlock } from "@equigrad/nn";

export interface TransformerParts {
  vocabSize: number;
  contextLength: number;
  embed: Embedding;
  /** Learned absolute positions (GPT-2); null with RoPE. */
  posEmbed: Embedding | null;
  blocks: TransformerBlock[];
  finalNorm: Norm;
  head: LMHead;
  embedDropout?: Dropout | null;
  /** Shared rotary tables (freed by dispose). */
  rope?: RoPE | null;
}

export interface LossOptions {
  /** Add the MoE auxiliary losses (weighted by their coefficients) to the cross-entropy. Default true. */
  aux?: boolean;
}

/**
 * A decoder-only language model: embeddings, pre-norm blocks, final norm, LM head.
 * The GPT-2, LLaMA and MoE builders differ only in the parts they put in.
 */
export class Transformer extends Module {
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly embed: Embedding;
  readonly posEmbed: Embedding | null;
  readonly blocks: ModuleList<TransformerBlock>;
  readonly finalNorm: Norm;
  readonly head: LMHead;
  readonly embedDropout: Dropout | null;
  readonly rope: RoPE | null;

  constructor(parts: TransformerParts) {
    super();
    this.vocabSize = parts.vocabSize;
    this.contextLength = parts.contextLength;
    this.embed = this.addModule("embed", parts.embed);
    this.posEmbed = parts.posEmbed ? this.addModule("pos_embed", parts.posEmbed) : null;
    this.blocks = this.addModule("blocks", new ModuleList(parts.blocks));
    this.finalNorm = this.addModule("final_norm", parts.finalNorm);
    this.head = this.addModule("lm_head", parts.head);
    this.embedDropout = parts.embedDropout ? this.addModule("embed_dropout", parts.embedDropout) : null;
    this.rope = parts.rope ?? null;
  }

  /** int32 tokens [B, T] -> logits [B, T, vocab]. Run it inside `tidy`. */
  forward(tokens: Tensor): Tensor {
    if (tokens.ndim !== 2 || tokens.dtype !== "int32") throw new OpError("forward", `tokens must be int32 [batch, time], got ${tokens.dtype} [${tokens.shape}]`);
    const t = tokens.shape[1]!;
    if (t > this.contextLength) throw new OpError("forward", `sequence length ${t} exceeds the context length ${this.contextLength}`);
    let x = this.embed.forward(tokens);
    if (this.posEmbed) x = x.add(this.posEmbed.weight.value.slice([0, t]));
    if (this.embedDropout) x = this.embedDropout.forward(x);
    for (const block of this.blocks) x = block.forward(x);
    return this.head.forward(this.finalNorm.forward(x));
  }

  /** Mean cross-entropy of next-token predictions (targets int32 [B, T]), plus MoE aux losses unless `aux: false`. */
  loss(tokens: Tensor, targets: Tensor, opts: LossOptions = {}): Tensor {
    const ce = crossEntropy(this.forward(tokens), targets);
    const aux = opts.aux === false ? null : this.auxLoss();
    return aux ? ce.add(aux) : ce;
  }

  /** The MoE layers of the model, in block order. */
  moeLayers(): MoE[] {
    return this.blocks.items.flatMap((b) => (b.ffn instanceof MoE ? [b.ffn] : []));
  }

  /** Sum of the MoE layers' weighted auxiliary losses of the last forward pass (null if none). Same scope as that pass. */
  auxLoss(): Tensor | null {
    let total: Tensor | null = null;
    for (const m of this.moeLayers()) {
      const a = m.auxLoss();
      if (a) total = total ? total.add(a) : a;
    }
    return total;
  }

  /** Router statistics of each MoE layer after the last forward pass (empty for dense models). */
  stats(): RouterStats[] {
    return this.moeLayers().flatMap((m) => {
      const s = m.stats();
      return s ? [s] : [];
    });
  }

  override dispose(): void {
    super.dispose();
    this.rope?.dispose();
  }
}
