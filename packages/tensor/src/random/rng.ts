import type { DType } from "../core/dtype.js";
import { OpError } from "../core/errors.js";
import { assertShape, numel, type Shape } from "../core/shape.js";
import { apply } from "../dispatch.js";
import type { Tensor } from "../tensor.js";
import type { RandomDist } from "../ops/primitives.js";
import { keyFromSeed } from "./threefry.js";

/** Hooks told of each stream about to draw (graph/step-graph.ts: what streams a traced step advances). */
const drawHooks: ((rng: Rng) => void)[] = [];

/**
 * Runs fn with `hook` called for every Rng just before it draws (before its counter is read).
 * A compiled step uses it to find the random streams a trace advances, so it can thread their
 * counters like the rest of the step's host state.
 */
export function watchDraws<R>(hook: (rng: Rng) => void, fn: () => R): R {
  drawHooks.push(hook);
  try {
    return fn();
  } finally {
    drawHooks.splice(drawHooks.lastIndexOf(hook), 1);
  }
}

/**
 * A seeded random stream. Each draw takes the next `numel` counters of this stream, so the
 * numbers depend only on (seed, stream name, how much this stream drew before) — never on
 * other generators or on threads. `fork(name)` gives an independent child stream.
 */
export class Rng {
  readonly key: readonly [number, number];
  #counter = 0;

  constructor(
    readonly seed: number,
    readonly stream = "",
  ) {
    this.key = keyFromSeed(seed, stream);
  }

  /** Counters consumed so far (saved in checkpoints to resume a stream). */
  get counter(): number {
    return this.#counter;
  }
  set counter(c: number) {
    if (!Number.isSafeInteger(c) || c < 0) throw new RangeError(`counter must be a non-negative integer, got ${c}`);
    this.#counter = c;
  }

  fork(name: string): Rng {
    return new Rng(this.seed, this.stream ? `${this.stream}/${name}` : name);
  }

  private draw(dist: RandomDist, shape: Shape, dtype: DType, p = 0): Tensor {
    assertShape("random", shape);
    for (const h of drawHooks) h(this);
    const counter = this.#counter;
    this.#counter += numel(shape);
    return apply({ op: "random", dist, key: this.key, counter, p, shape: [...shape], dtype }, []);
  }

  /** Uniform on [low, high). */
  uniform(shape: Shape, low = 0, high = 1, dtype: DType = "float32"): Tensor {
    const u = this.draw("uniform", shape, dtype);
    return low === 0 && high === 1 ? u : u.mul(high - low).add(low);
  }

  normal(shape: Shape, mean = 0, std = 1, dtype: DType = "float32"): Tensor {
    const z = this.draw("normal", shape, dtype);
    return mean === 0 && std === 1 ? z : z.mul(std).add(mean);
  }

  /** True with probability p. */
  bernoulli(shape: Shape, p: number): Tensor {
    if (!(p >= 0 && p <= 1)) throw new OpError("bernoulli", `p must be in [0, 1], got ${p}`);
    return this.draw("bernoulli", shape, "bool", p);
  }
}
