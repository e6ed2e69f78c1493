import { full, tidy, type DType, type Rng, type Shape, type Tensor } from "@equigrad/tensor";

/**
 * Initialisers: each returns a kept tensor made in its own scope (no temporaries leak when
 * a model is built outside any `tidy`).
 */
export type Init = (shape: Shape, dtype: DType) => Tensor;

/** GPT-2's default standard deviation for weights and embeddings. */
export const GPT2_STD = 0.02;

/** GPT-2's scaled init for projections that write into the residual stream: 0.02 / √(2·n_layer). */
export const residualStd = (nLayer: number, std = GPT2_STD): number => std / Math.sqrt(2 * nLayer);

/** Normal(mean, std) drawn from `rng` (same seed and stream, same values). */
export const normalInit =
  (rng: Rng, std = GPT2_STD, mean = 0): Init =>
  (shape, dtype) =>
    tidy(() => rng.normal(shape, mean, std, dtype).keep());

export const constantInit =
  (value: number): Init =>
  (shape, dtype) =>
    tidy(() => full(shape, value, { dtype }).keep());

export const zerosInit: Init = constantInit(0);
export const onesInit: Init = constantInit(1);
