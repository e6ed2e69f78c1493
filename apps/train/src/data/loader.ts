import { fromTypedArray, randomWords, threefry2x32, uniformFromWords, type Tensor } from "@equigrad/tensor";
import type { Tokens } from "./shards.js";

/**
 * Everything a loader needs to resume: the batch at step s depends only on (tokens, options,
 * seed, s), so saving { seed, step } in a checkpoint and constructing a loader from it gives
 * exactly the batches an uninterrupted run would have seen.
 */
export interface LoaderState {
  seed: number;
  step: number;
}

/**
 * "shuffle": epochs over non-overlapping windows (stride seqLen), each epoch in a seeded
 * permutation, so every window is seen once per epoch. "random": window starts drawn uniformly
 * with replacement (any offset).
 */
export type LoaderOrder = "shuffle" | "random";

export interface LoaderOptions {
  batchSize: number;
  seqLen: number;
  seed: number;
  /** First step to produce (from LoaderState on resume; default 0). */
  step?: number;
  order?: LoaderOrder;
}

/** Host-side batch: row-major [batchSize, seqLen] int32; target[i] = the token after input[i]. */
export interface BatchArrays {
  input: Int32Array;
  target: Int32Array;
}

export interface Batch {
  input: Tensor;
  target: Tensor;
}

const TWO32 = 4294967296;

/** A 53-bit uniform in [0, 1) from the counter-based generator: no state besides the counter. */
const uniform = (key: readonly [number, number], c: number): number => uniformFromWords(...randomWords(key, c, 0), false);

/** A key for (seed, purpose, index), independent of every other generator in the run. */
function keyOf(seed: number, purpose: number, index: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`loader seed must be a non-negative integer, got ${seed}`);
  return threefry2x32(seed % TWO32 >>> 0, Math.floor(seed / TWO32) >>> 0, 0x6c6f6164 ^ purpose, index >>> 0); // "load"
}

function checkShape(what: string, tokens: Tokens, batchSize: number, seqLen: number, minWindows: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`${what}: batchSize and seqLen must be positive integers, got ${batchSize} and ${seqLen}`);
  }
  const need = minWindows * seqLen + 1;
  if (tokens.length < need) throw new RangeError(`${what}: ${tokens.length} tokens are too few for ${minWindows} window(s) of seqLen ${seqLen}; need at least ${need}`);
}

/** Deterministic training batches: see LoaderState. */
export class BatchLoader {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  readonly order: LoaderOrder;
  /** Windows per epoch ("shuffle") or possible window starts ("random"). */
  readonly windows: number;
  #step: number;
  #perm: { epoch: number; perm: Uint32Array } | undefined;

  constructor(
    readonly tokens: Tokens,
    opts: LoaderOptions,
  ) {
    this.batchSize = opts.batchSize;
    this.seqLen = opts.seqLen;
    this.seed = opts.seed;
    this.order = opts.order ?? "shuffle";
    this.#step = opts.step ?? 0;
    checkShape("BatchLoader", tokens, this.batchSize, this.seqLen, 1);
    keyOf(this.seed, 0, 0); // validates the seed now rather than at the first batch
    if (!Number.isSafeInteger(this.#step) || this.#step < 0) throw new RangeError(`BatchLoader: step must be a non-negative integer, got ${this.#step}`);
    this.windows = this.order === "shuffle" ? Math.floor((tokens.length - 1) / this.seqLen) : tokens.length - this.seqLen;
  }

  /** The step the next call to `next()` produces. */
  get step(): number {
    return this.#step;
  }

  /** JSON-serialisable state for a checkpoint. */
  get state(): LoaderState {
    return { seed: this.seed, step: this.#step };
  }

  /** Passes over the tokens before the next batch (fractional), for logs. */
  get epoch(): number {
    return (this.#step * this.batchSize * this.seqLen) / (this.tokens.length - 1);
  }

  /** The batch for the current step as int32 tensors [B, T]; advances the step. */
  next(): Batch {
    const b = this.batch(this.#step);
    this.#step++;
    return b;
  }

  batch(step: number): Batch {
    const { input, target } = this.arrays(step);
    return { input: fromTypedArray(input, [this.batchSize, this.seqLen], "int32"), target: fromTypedArray(target, [this.batchSize, this.seqLen], "int32") };
  }

  /** The batch of any step, without changing the loader (pure in step). */
  arrays(step: number): BatchArrays {
    const { batchSize: B, seqLen: T } = this;
    const starts = new Array<number>(B);
    for (let b = 0; b < B; b++) starts[b] = this.windowStart(step * B + b);
    return windowsToArrays(this.tokens, starts, T);
  }

  /** Start of the g-th window the run sees. */
  private windowStart(g: number): number {
    if (this.order === "random") return Math.floor(uniform(keyOf(this.seed, 1, 0), g) * this.windows);
    const epoch = Math.floor(g / this.windows);
    return this.permutation(epoch)[g % this.windows]! * this.seqLen;
  }

  /** Fisher–Yates under a per-epoch key; the latest epoch's permutation is cached. */
  private permutation(epoch: number): Uint32Array {
    if (this.#perm?.epoch === epoch) return this.#perm.perm;
    const n = this.windows;
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const key = keyOf(this.seed, 2, epoch);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(uniform(key, i) * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    this.#perm = { epoch, perm };
    return perm;
  }
}

function windowsToArrays(tokens: Tokens, starts: number[], T: number): BatchArrays {
  const input = new Int32Array(starts.length * T);
  const target = new Int32Array(starts.length * T);
  starts.forEach((s, b) => {
    input.set(tokens.subarray(s, s + T), b * T);
    target.set(tokens.subarray(s + 1, s + T + 1), b * T);
  });
  return { input, target };
}

export interface EvalOptions {
  batchSize: number;
  seqLen: number;
  /** Use at most this many batches (default: all full batches). */
  maxBatches?: number;
}

/** A fixed evaluation set: the first windows of the tokens, consecutive and non-overlapping. */
export interface EvalBatches {
  /** Number of full batches (a partial last batch is dropped: shapes stay fixed). */
  readonly count: number;
  /** Tokens predicted per full pass: count × batchSize × seqLen. */
  readonly tokens: number;
  arrays(i: number): BatchArrays;
  /** Batch i as tensors; create it inside the caller's `tidy`. */
  batch(i: number): Batch;
}

/**
 * The same windows on every call and in every run, so validation losses are comparable across
 * steps and runs. Fails when the tokens do not fill one batch.
 */
export function evalBatches(tokens: Tokens, opts: EvalOptions): EvalBatches {
  const { batchSize: B, seqLen: T } = opts;
  checkShape("evalBatches", tokens, B, T, B);
  const full = Math.floor(Math.floor((tokens.length - 1) / T) / B);
  const count = opts.maxBatches === undefined ? full : Math.min(full, Math.max(0, Math.floor(opts.maxBatches)));
  const arrays = (i: number): BatchArrays => {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`evalBatches: batch ${i} is out of range [0, ${count})`);
    return windowsToArrays(tokens, Array.from({ length: B }, (_, b) => (i * B + b) * T), T);
  };
  return {
    count,
    tokens: count * B * T,
    arrays,
    batch(i) {
      const a = arrays(i);
      return { input: fromTypedArray(a.input, [B, T], "int32"), target: fromTypedArray(a.target, [B, T], "int32") };
    },
  };
}
