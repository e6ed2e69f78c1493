import { isFloat, pushInterceptor, popInterceptor, type Interceptor, type PrimitiveCall, type Tensor } from "@equigrad/tensor";

/** One recorded primitive application. */
export interface Node {
  readonly call: PrimitiveCall;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
}

let paused = 0;

/**
 * Runs fn without recording anything on the tapes that were already running (its results are
 * constants for autograd). A gradient taken inside fn still works: its own tape starts there.
 */
export function noGrad<T>(fn: () => T): T {
  paused++;
  try {
    return fn();
  } finally {
    paused--;
  }
}

/** False inside noGrad (tapes started outside it are paused). */
export const isRecording = (): boolean => paused === 0;

/**
 * Records the ops whose inputs depend on watched tensors. Tapes nest: the backward pass of
 * an inner tape runs while outer tapes record, which gives higher-order gradients.
 */
export class Tape implements Interceptor {
  readonly nodes: Node[] = [];
  /** Ids of the values that depend on a watched tensor. */
  readonly #tracked = new Set<number>();
  /** The noGrad depth this tape was made at: it records only while no deeper noGrad runs. */
  readonly #level = paused;

  watch(t: Tensor): void {
    if (isFloat(t.dtype)) this.#tracked.add(t.id);
  }

  isTracked(t: Tensor): boolean {
    return this.#tracked.has(t.id);
  }

  record(call: PrimitiveCall, inputs: readonly Tensor[], output: Tensor): void {
    if (paused > this.#level || call.op === "stop_gradient" || !isFloat(output.dtype)) return;
    if (!inputs.some((t) => this.#tracked.has(t.id))) return;
    // Aliases: the node's tensors outlive the scopes that made them, until the tape is disposed.
    this.nodes.push({ call, inputs: inputs.map((t) => t.alias()), output: output.alias() });
    this.#tracked.add(output.id);
  }

  dispose(): void {
    for (const n of this.nodes) {
      n.output.dispose();
      for (const t of n.inputs) t.dispose();
    }
    this.nodes.length = 0;
  }

  /** Runs fn with this tape recording. */
  run<T>(fn: () => T): T {
    pushInterceptor(this);
    try {
      return fn();
    } finally {
      popInterceptor(this);
    }
  }
}
