import type { DType, Rng } from "@equigrad/tensor";

/** What every layer with randomly initialised weights takes. */
export interface LayerOptions {
  /** Seeds the weights: each layer forks its own named streams from it. */
  rng: Rng;
  /** float32 by default; float64 for gradient checks. */
  dtype?: DType;
}
