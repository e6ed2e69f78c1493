import type { DType, TypedArray } from "../core/dtype.js";
import type { Shape } from "../core/shape.js";
import type { PrimitiveCall } from "../ops/primitives.js";

/**
 * A traced computation: the primitives a function executed, in order, over logical tensors
 * (shapes and dtypes, no strides: view ops are nodes like any other). The tracer produces it,
 * the ONNX lowering consumes it; both speak only the primitive op set.
 */

/** One value of the graph: a graph input, a constant, or a node's output. */
export interface ValueInfo {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** One primitive application: the same call object the dispatch point saw. */
export interface GraphNode {
  readonly call: PrimitiveCall;
  /** Value ids, in the primitive's input order (logical, not broadcast: lowering broadcasts). */
  readonly inputs: readonly number[];
  readonly output: number;
  /**
   * A random node only: its counter is element `counterAt` of the graph's `counters` input
   * (fed at run time) instead of its call's trace-time counter — a compiled step's dropout,
   * whose stream moves every step.
   */
  readonly counterAt?: number;
}

/** A named graph input or output. */
export interface Port {
  readonly name: string;
  readonly value: number;
}

/** A value whose data was known at trace time. */
export interface Constant {
  readonly value: number;
  readonly data: TypedArray;
}

export interface Graph {
  /** Every value, indexed by id. */
  readonly values: readonly ValueInfo[];
  readonly inputs: readonly Port[];
  readonly constants: readonly Constant[];
  /** In execution order: every node's inputs are graph inputs, constants or earlier outputs. */
  readonly nodes: readonly GraphNode[];
  readonly outputs: readonly Port[];
  /** The int64 vector [size] input that random nodes with `counterAt` read (not among `values`: int64 is no IR dtype). */
  readonly counters?: { readonly input: string; readonly size: number };
}
