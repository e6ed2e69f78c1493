import { Rng, type DType } from "@equigrad/tensor";

export interface BuildOptions {
  /** Seed of the initialisation (default 0); ignored when `rng` is given. */
  seed?: number;
  rng?: Rng;
  /** float32 by default; float64 for gradient checks. */
  dtype?: DType;
}

export const rngOf = (opts: BuildOptions): Rng => opts.rng ?? new Rng(opts.seed ?? 0, "init");
