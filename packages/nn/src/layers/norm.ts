import { layerNorm, rmsNorm, type DType, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Parameter } from "../parameter.js";
import { onesInit, zerosInit } from "../init.js";

export interface NormOptions {
  eps?: number;
  dtype?: DType;
}

/** Normalises the last axis; weight (role `norm`) starts at 1, bias (role `bias`) at 0. */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: NormOptions & { bias?: boolean } = {},
  ) {
    super();
    const dtype = opts.dtype ?? "float32";
    this.eps = opts.eps ?? 1e-5;
    this.weight = this.addParameter("weight", onesInit([dim], dtype), "norm");
    this.bias = opts.bias === false ? null : this.addParameter("bias", zerosInit([dim], dtype), "bias");
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight.value, this.bias?.value, this.eps);
  }
}

/** x / rms(x) · weight over the last axis; weight (role `norm`) starts at 1. */
export class RMSNorm extends Module {
  readonly weight: Parameter;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: NormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.weight = this.addParameter("weight", onesInit([dim], opts.dtype ?? "float32"), "norm");
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight.value, this.eps);
  }
}

export type Norm = LayerNorm | RMSNorm;
