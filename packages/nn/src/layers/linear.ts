import { concat, split, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Parameter, ParameterMeta } from "../parameter.js";
import type { Role } from "../roles.js";
import { GPT2_STD, normalInit, zerosInit, type Init } from "../init.js";
import type { LayerOptions } from "./options.js";

export interface LinearOptions extends LayerOptions {
  /** The weight's role: a Linear is generic, so its creator says what it is for. */
  role: Role;
  /** Adds a bias [out] with role `bias` (default false). */
  bias?: boolean;
  /** Standard deviation of the normal init (default 0.02); ignored when `init` is given. */
  std?: number;
  init?: Init;
  meta?: ParameterMeta;
}

/** y = x Wᵀ + b with the weight stored [out, in], as torch does. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions,
  ) {
    super();
    const dtype = opts.dtype ?? "float32";
    const init = opts.init ?? normalInit(opts.rng.fork("weight"), opts.std ?? GPT2_STD);
    this.weight = this.addParameter("weight", init([outFeatures, inFeatures], dtype), opts.role, opts.meta);
    this.bias = opts.bias ? this.addParameter("bias", zerosInit([outFeatures], dtype), "bias") : null;
  }

  forward(x: Tensor): Tensor {
    const y = x.matmul(this.weight.value.transpose());
    return this.bias ? y.add(this.bias.value) : y;
  }
}

/**
 * Linears of one input as one product x·[W₁; W₂; …]ᵀ (+ [b₁; b₂; …]), split into views of the
 * result: one matmul forward and two backward instead of one and two per Linear, no adds of their
 * input gradients (the views' cotangents join into one concat), and a larger, faster product.
 * Each output element is the same dot product as with the Linears apart.
 */
export function applyLinears(x: Tensor, linears: readonly Linear[]): Tensor[] {
  const withBias = linears.filter((l) => l.bias).length;
  if (linears.length < 2 || (withBias > 0 && withBias < linears.length)) return linears.map((l) => l.forward(x));
  const y = x.matmul(concat(linears.map((l) => l.weight.value), 0).transpose());
  const biased = withBias ? y.add(concat(linears.map((l) => l.bias!.value), 0)) : y;
  return split(biased, linears.map((l) => l.outFeatures), -1);
}
