import { where, type Rng, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p) in training mode;
 * the identity in eval mode or when p = 0. The mask comes from a seeded stream, so a run
 * is reproducible (each call draws the next counters of the stream).
 */
export class Dropout extends Module {
  constructor(
    readonly p: number,
    readonly rng: Rng,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = this.rng.bernoulli(x.shape, 1 - this.p);
    return where(keep, x.mul(1 / (1 - this.p)), 0);
  }
}
