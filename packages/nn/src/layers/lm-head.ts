import type { Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Parameter } from "../parameter.js";
import { GPT2_STD, normalInit } from "../init.js";
import type { Embedding } from "./embedding.js";
import type { LayerOptions } from "./options.js";

export interface LMHeadOptions extends LayerOptions {
  std?: number;
}

/**
 * Logits = x Wᵀ with W [vocab, d]. Untied, W is its own parameter (role `lm_head`); tied, it
 * is the token embedding's table, which stays registered (and listed) only there.
 */
export class LMHead extends Module {
  readonly #weight: Parameter;
  readonly tied: boolean;

  constructor(vocab: number, dim: number, source: LMHeadOptions | { tiedTo: Embedding }) {
    super();
    if ("tiedTo" in source) {
      const table = source.tiedTo.weight;
      if (table.shape[0] !== vocab || table.shape[1] !== dim) throw new Error(`LMHead: tied table [${table.shape}] is not [${vocab}, ${dim}]`);
      this.#weight = table;
      this.tied = true;
      const uses = (table.meta.tiedAs ??= []);
      if (!uses.includes("lm_head")) uses.push("lm_head");
    } else {
      const init = normalInit(source.rng.fork("weight"), source.std ?? GPT2_STD);
      this.#weight = this.addParameter("weight", init([vocab, dim], source.dtype ?? "float32"), "lm_head");
      this.tied = false;
    }
  }

  get weight(): Parameter {
    return this.#weight;
  }

  forward(x: Tensor): Tensor {
    return x.matmul(this.#weight.value.transpose());
  }
}
