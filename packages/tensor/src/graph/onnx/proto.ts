/**
 * A small protobuf encoder for the part of onnx.proto (proto2) that a model needs: ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and the type protos.
 * Messages are plain objects (`*P` types below); `encodeModel` writes the wire format
 * (varints, length-delimited fields, little-endian fixed32 floats; repeated scalars unpacked,
 * which every protobuf parser accepts). Tensor data always goes in `raw_data`.
 */

/** TensorProto.DataType values. */
export const ONNX_TYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, double: 11, uint32: 12, uint64: 13 } as const;
export type OnnxType = (typeof ONNX_TYPE)[keyof typeof ONNX_TYPE];

export interface TensorP {
  readonly name: string;
  readonly dataType: OnnxType;
  readonly dims: readonly number[];
  /** Little-endian element bytes (bool: one byte each). */
  readonly raw: Uint8Array;
}

export type AttributeP =
  | { readonly name: string; readonly type: "float"; readonly value: number }
  | { readonly name: string; readonly type: "int"; readonly value: number | bigint }
  | { readonly name: string; readonly type: "string"; readonly value: string }
  | { readonly name: string; readonly type: "tensor"; readonly value: TensorP }
  | { readonly name: string; readonly type: "graph"; readonly value: GraphP }
  | { readonly name: string; readonly type: "floats"; readonly value: readonly number[] }
  | { readonly name: string; readonly type: "ints"; readonly value: readonly (number | bigint)[] }
  | { readonly name: string; readonly type: "strings"; readonly value: readonly string[] }
  | { readonly name: string; readonly type: "tensors"; readonly value: readonly TensorP[] }
  | { readonly name: string; readonly type: "graphs"; readonly value: readonly GraphP[] };

export interface NodeP {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: readonly AttributeP[];
}

/** A typed tensor value; `shape` undefined means unknown rank, a string entry a symbolic dim. */
export interface ValueInfoP {
  readonly name: string;
  readonly elemType: OnnxType;
  readonly shape?: readonly (number | string)[];
}

export interface GraphP {
  readonly name: string;
  readonly nodes: readonly NodeP[];
  readonly initializers: readonly TensorP[];
  readonly inputs: readonly ValueInfoP[];
  readonly outputs: readonly ValueInfoP[];
  readonly valueInfo?: readonly ValueInfoP[];
}

export interface ModelP {
  readonly irVersion: number;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly graph: GraphP;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9, graphs: 10 } as const;

const utf8 = new TextEncoder();

/** A growable byte buffer with the protobuf primitives. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  private uvarint(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  /** An int64 varint: negatives are their 64-bit two's complement (10 bytes). */
  varint(v: number | bigint): void {
    if (typeof v === "number" && v >= 0) {
      if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: ${v} is not a safe integer`);
      return this.uvarint(v);
    }
    let u = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (u >= 0x80n) {
      this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.len++] = Number(u);
  }

  private tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.uvarint(field * 8 + wire);
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.uvarint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  message<T>(field: number, m: T, encode: (w: Writer, m: T) => void): void {
    const inner = new Writer();
    encode(inner, m);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function tensorProto(w: Writer, t: TensorP): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function attributeProto(w: Writer, a: AttributeP): void {
  w.string(1, a.name);
  w.int(20, ATTR_TYPE[a.type]);
  switch (a.type) {
    case "float":
      return w.float(2, a.value);
    case "int":
      return w.int(3, a.value);
    case "string":
      return w.string(4, a.value);
    case "tensor":
      return w.message(5, a.value, tensorProto);
    case "graph":
      return w.message(6, a.value, graphProto);
    case "floats":
      return a.value.forEach((f) => w.float(7, f));
    case "ints":
      return a.value.forEach((i) => w.int(8, i));
    case "strings":
      return a.value.forEach((s) => w.string(9, s));
    case "tensors":
      return a.value.forEach((t) => w.message(10, t, tensorProto));
    case "graphs":
      return a.value.forEach((g) => w.message(11, g, graphProto));
  }
}

function nodeProto(w: Writer, n: NodeP): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, a, attributeProto);
  if (n.domain) w.string(7, n.domain);
}

function shapeProto(w: Writer, shape: readonly (number | string)[]): void {
  for (const d of shape) w.message(1, d, (dw, dim) => (typeof dim === "number" ? dw.int(1, dim) : dw.string(2, dim)));
}

function valueInfoProto(w: Writer, v: ValueInfoP): void {
  w.string(1, v.name);
  // TypeProto { tensor_type = 1: { elem_type = 1, shape = 2 } }
  w.message(2, v, (tw, vi) =>
    tw.message(1, vi, (ttw, t) => {
      ttw.int(1, t.elemType);
      if (t.shape) ttw.message(2, t.shape, shapeProto);
    }),
  );
}

function graphProto(w: Writer, g: GraphP): void {
  for (const n of g.nodes) w.message(1, n, nodeProto);
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, t, tensorProto);
  for (const v of g.inputs) w.message(11, v, valueInfoProto);
  for (const v of g.outputs) w.message(12, v, valueInfoProto);
  for (const v of g.valueInfo ?? []) w.message(13, v, valueInfoProto);
}

/** Encodes a GraphProto on its own (a Loop/If body, or for tests). */
export function encodeGraph(g: GraphP): Uint8Array {
  const w = new Writer();
  graphProto(w, g);
  return w.finish();
}

/** Encodes a ModelProto: the bytes of an .onnx file. */
export function encodeModel(m: ModelP): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  w.message(7, m.graph, graphProto);
  for (const o of m.opsets) {
    w.message(8, o, (ow, op) => {
      if (op.domain) ow.string(1, op.domain);
      ow.int(2, op.version);
    });
  }
  return w.finish();
}
