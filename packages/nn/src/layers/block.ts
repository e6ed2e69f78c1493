import type { Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { CausalSelfAttention } from "./attention.js";
import type { Dropout } from "./dropout.js";
import type { Norm } from "./norm.js";

/** Any feed-forward sublayer: MLP, GatedMLP, MoE. */
export type FeedForward = Module & { forward(x: Tensor): Tensor };

export interface BlockParts {
  attnNorm: Norm;
  attn: CausalSelfAttention;
  ffnNorm: Norm;
  ffn: FeedForward;
  /** Child name of the feed-forward sublayer (default "mlp"; "moe" for experts). */
  ffnName?: string;
  /** Applied to each sublayer's output before it joins the residual stream. */
  dropout?: Dropout;
}

/** Pre-norm residual block: x + attn(norm(x)), then x + ffn(norm(x)). */
export class TransformerBlock extends Module {
  readonly attnNorm: Norm;
  readonly attn: CausalSelfAttention;
  readonly ffnNorm: Norm;
  readonly ffn: FeedForward;
  readonly dropout: Dropout | null;

  constructor(parts: BlockParts) {
    super();
    this.attnNorm = this.addModule("attn_norm", parts.attnNorm);
    this.attn = this.addModule("attn", parts.attn);
    this.ffnNorm = this.addModule("ffn_norm", parts.ffnNorm);
    this.ffn = this.addModule(parts.ffnName ?? "mlp", parts.ffn);
    // Registered (though it has no parameters) so that train() and eval() reach it.
    this.dropout = parts.dropout ? this.addModule("dropout", parts.dropout) : null;
  }

  forward(x: Tensor): Tensor {
    const drop = (y: Tensor): Tensor => (this.dropout ? this.dropout.forward(y) : y);
    const h = x.add(drop(this.attn.forward(this.attnNorm.forward(x))));
    return h.add(drop(this.ffn.forward(this.ffnNorm.forward(h))));
  }
}
