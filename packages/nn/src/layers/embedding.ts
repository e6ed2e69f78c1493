import { indexSelect, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Parameter } from "../parameter.js";
import type { Role } from "../roles.js";
import { GPT2_STD, normalInit } from "../init.js";
import type { LayerOptions } from "./options.js";

export interface EmbeddingOptions extends LayerOptions {
  /** Default `embed` (token and position tables alike). */
  role?: Role;
  std?: number;
}

/** A lookup table [count, dim]: int32 ids of any shape -> [...ids.shape, dim]. */
export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(
    readonly count: number,
    readonly dim: number,
    opts: EmbeddingOptions,
  ) {
    super();
    const init = normalInit(opts.rng.fork("weight"), opts.std ?? GPT2_STD);
    this.weight = this.addParameter("weight", init([count, dim], opts.dtype ?? "float32"), opts.role ?? "embed");
  }

  forward(ids: Tensor): Tensor {
    return indexSelect(this.weight.value, ids, 0);
  }
}
