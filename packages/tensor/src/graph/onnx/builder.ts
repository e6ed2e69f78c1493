import type { DType, TypedArray } from "../../core/dtype.js";
import type { Meta } from "../../ops/primitives.js";
import { ONNX_TYPE, type AttributeP, type GraphP, type NodeP, type OnnxType, type TensorP, type ValueInfoP } from "./proto.js";

/**
 * An ONNX graph under construction: nodes, initializers and a name supply. Every op lowering
 * writes into one; `lowerInto` (lower.ts) fills one from an IR graph, and a Loop body is just
 * another builder whose names carry a prefix (ONNX names must be unique across nested graphs).
 */

export const onnxType = (d: DType): OnnxType =>
  d === "float32" ? ONNX_TYPE.float : d === "float64" ? ONNX_TYPE.double : d === "int32" ? ONNX_TYPE.int32 : ONNX_TYPE.bool;

/** A lowered value: its ONNX name and its logical shape/dtype. */
export interface Val extends Meta {
  readonly name: string;
}

/** Attribute constructors. */
export const attr = {
  int: (name: string, value: number): AttributeP => ({ name, type: "int", value }),
  ints: (name: string, value: readonly number[]): AttributeP => ({ name, type: "ints", value }),
  float: (name: string, value: number): AttributeP => ({ name, type: "float", value }),
  string: (name: string, value: string): AttributeP => ({ name, type: "string", value }),
  tensor: (name: string, value: TensorP): AttributeP => ({ name, type: "tensor", value }),
  graph: (name: string, value: GraphP): AttributeP => ({ name, type: "graph", value }),
};

/** A copy of a typed array's bytes (little-endian hosts: x86, arm64). */
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

export function tensorP(name: string, dataType: OnnxType, dims: readonly number[], data: ArrayBufferView): TensorP {
  return { name, dataType, dims: [...dims], raw: bytesOf(data) };
}

export class GraphBuilder {
  readonly nodes: NodeP[] = [];
  readonly initializers: TensorP[] = [];
  readonly inputs: ValueInfoP[] = [];
  readonly outputs: ValueInfoP[] = [];
  private count = 0;
  private readonly cache = new Map<string, string>();
  /** Values op lowerings share across nodes (attention's probabilities, reused by its VJP). */
  readonly memo = new Map<string, unknown>();

  /** `prefix` keeps the names of a nested graph apart from its parent's. */
  constructor(readonly prefix = "") {}

  fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.count++}`;
  }

  /** Adds a node with one output (named after the op unless `out` is given); returns that name. */
  op(opType: string, inputs: readonly string[], attributes: readonly AttributeP[] = [], out?: string, domain?: string): string {
    const name = out ?? this.fresh(opType);
    this.nodes.push({ opType, inputs, outputs: [name], attributes, ...(domain ? { domain } : {}) });
    return name;
  }

  /** Adds a node with several outputs. */
  opN(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: readonly AttributeP[] = []): void {
    this.nodes.push({ opType, inputs, outputs, attributes });
  }

  /** An initializer holding `data` as `dtype` (shape `dims`). */
  initializer(dtype: DType, dims: readonly number[], data: TypedArray, hint = "const"): string {
    const name = this.fresh(hint);
    this.initializers.push(tensorP(name, onnxType(dtype), dims, data));
    return name;
  }

  /** A small initializer shared by every use with the same contents (scalars, shape vectors). */
  private cached(key: string, make: (name: string) => TensorP): string {
    let name = this.cache.get(key);
    if (!name) {
      name = this.fresh("k");
      this.initializers.push(make(name));
      this.cache.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 vector (shapes, axes, pads, slice bounds). */
  i64(values: readonly number[]): string {
    return this.cached(`i64:${values.join(",")}`, (n) => tensorP(n, ONNX_TYPE.int64, [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
  }

  /** A rank-0 int64. */
  i64Scalar(v: number): string {
    return this.cached(`i64s:${v}`, (n) => tensorP(n, ONNX_TYPE.int64, [], BigInt64Array.of(BigInt(v))));
  }

  /** A rank-0 tensor of an equigrad dtype (broadcasts against anything). */
  scalar(dtype: DType, v: number): string {
    const arr = dtype === "float32" ? Float32Array.of(v) : dtype === "float64" ? Float64Array.of(v) : dtype === "int32" ? Int32Array.of(v) : Uint8Array.of(v ? 1 : 0);
    return this.cached(`${dtype}:${Object.is(v, -0) ? "-0" : v}`, (n) => tensorP(n, onnxType(dtype), [], arr));
  }

  /** A rank-0 uint32 (Threefry arithmetic). */
  u32Scalar(v: number): string {
    return this.cached(`u32:${v >>> 0}`, (n) => tensorP(n, ONNX_TYPE.uint32, [], Uint32Array.of(v >>> 0)));
  }

  graph(name: string): GraphP {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
