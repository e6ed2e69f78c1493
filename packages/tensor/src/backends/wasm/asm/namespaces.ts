// Typed instruction namespaces (f.i32, f.f32x4, f.v128, ...) generated from the
// opcode tables. Prototypes are built once at load time; each function builder
// only allocates thin objects pointing back at it, so kernels can be emitted cheaply.

import type { ByteWriter } from "./encoding.js";
import type { LaneMemEntry, MemEntry } from "./opcodes.js";
import {
  ATOMIC_FENCE, F32_MEM, F32_OPS, F32X4_OPS, F64_MEM, F64_OPS, F64X2_OPS, I16X8_OPS, I32_ATOMIC,
  I32_MEM, I32_OPS, I32_SAT_OPS, I32X4_OPS, I64_ATOMIC, I64_MEM, I64_OPS, I64_SAT_OPS, I64X2_OPS,
  I8X16_OPS, I8X16_SHUFFLE, LANE_OPS, MEMORY_ATOMIC, MISC, OP, PREFIX_ATOMIC, PREFIX_MISC,
  PREFIX_NONE, PREFIX_SIMD, V128_CONST, V128_LANE_MEM, V128_MEM, V128_OPS,
} from "./opcodes.js";

/** What namespaces need from a function builder: append one instruction. */
export interface Emitter {
  /**
   * Appends `prefix code` (prefix 0 = single-byte opcode) and lets `imm` write the
   * immediates; `immText` is the immediates' text for the debug listing.
   */
  instr(name: string, prefix: number, code: number, imm?: (w: ByteWriter) => void, immText?: string): void;
}

/** Memory immediate. `align` is log2 of the byte alignment, as in the binary format. */
export interface MemArg {
  readonly align?: number;
  readonly offset?: number;
}

type Method<K extends string> = K extends `${infer A}.${infer B}` ? `${A}_${Method<B>}` : K;
type MemFn<R> = (align?: number | MemArg, offset?: number) => R;

export type PlainOps<T, R> = { readonly [K in keyof T & string as Method<K>]: () => R };
export type MemOps<T, R> = { readonly [K in keyof T & string as Method<K>]: MemFn<R> };
export type LaneMemOps<T, R> = {
  readonly [K in keyof T & string]: (lane: number, align?: number | MemArg, offset?: number) => R;
};
export type LaneOps<T, R> = { readonly [K in Exclude<keyof T, "lanes"> & string]: (lane: number) => R };

export type I32Ns<R> = PlainOps<typeof I32_OPS & typeof I32_SAT_OPS, R> &
  MemOps<typeof I32_MEM & typeof I32_ATOMIC, R> & { const(value: number): R };
export type I64Ns<R> = PlainOps<typeof I64_OPS & typeof I64_SAT_OPS, R> &
  MemOps<typeof I64_MEM & typeof I64_ATOMIC, R> & { const(value: bigint | number): R };
export type F32Ns<R> = PlainOps<typeof F32_OPS, R> & MemOps<typeof F32_MEM, R> & { const(value: number): R };
export type F64Ns<R> = PlainOps<typeof F64_OPS, R> & MemOps<typeof F64_MEM, R> & { const(value: number): R };
export type V128Ns<R> = PlainOps<typeof V128_OPS, R> &
  MemOps<typeof V128_MEM, R> &
  LaneMemOps<typeof V128_LANE_MEM, R> & {
    /** v128.const from 16 raw little-endian bytes. */
    const(bytes: ArrayLike<number>): R;
    const_i8x16(...lanes: number[]): R;
    const_i16x8(...lanes: number[]): R;
    const_i32x4(a: number, b: number, c: number, d: number): R;
    const_i64x2(a: bigint, b: bigint): R;
    const_f32x4(a: number, b: number, c: number, d: number): R;
    const_f64x2(a: number, b: number): R;
  };
export type I8x16Ns<R> = PlainOps<typeof I8X16_OPS, R> &
  LaneOps<(typeof LANE_OPS)["i8x16"], R> & {
    /** i8x16.shuffle: 16 lane indices into the 32 bytes of the two operands. */
    shuffle(lanes: ArrayLike<number>): R;
  };
export type I16x8Ns<R> = PlainOps<typeof I16X8_OPS, R> & LaneOps<(typeof LANE_OPS)["i16x8"], R>;
export type I32x4Ns<R> = PlainOps<typeof I32X4_OPS, R> & LaneOps<(typeof LANE_OPS)["i32x4"], R>;
export type I64x2Ns<R> = PlainOps<typeof I64X2_OPS, R> & LaneOps<(typeof LANE_OPS)["i64x2"], R>;
export type F32x4Ns<R> = PlainOps<typeof F32X4_OPS, R> & LaneOps<(typeof LANE_OPS)["f32x4"], R>;
export type F64x2Ns<R> = PlainOps<typeof F64X2_OPS, R> & LaneOps<(typeof LANE_OPS)["f64x2"], R>;
export type MemoryNs<R> = MemOps<typeof MEMORY_ATOMIC, R> & {
  size(): R;
  grow(): R;
  /** memory.copy (bulk memory): [dst, src, n] -> []. */
  copy(): R;
  /** memory.fill (bulk memory): [dst, byte, n] -> []. */
  fill(): R;
};
export type AtomicNs<R> = { fence(): R };

export interface Namespaces<R> {
  readonly i32: I32Ns<R>;
  readonly i64: I64Ns<R>;
  readonly f32: F32Ns<R>;
  readonly f64: F64Ns<R>;
  readonly v128: V128Ns<R>;
  readonly i8x16: I8x16Ns<R>;
  readonly i16x8: I16x8Ns<R>;
  readonly i32x4: I32x4Ns<R>;
  readonly i64x2: I64x2Ns<R>;
  readonly f32x4: F32x4Ns<R>;
  readonly f64x2: F64x2Ns<R>;
  readonly memory: MemoryNs<R>;
  readonly atomic: AtomicNs<R>;
}

// ---- runtime construction ----

const EMITTER = Symbol("emitter");
interface Self {
  readonly [EMITTER]: Emitter;
}
type Proto = Record<string, (this: Self, ...args: never[]) => Emitter>;

function resolveMemArg(
  name: string,
  natural: number,
  align: number | MemArg | undefined,
  offset: number | undefined,
  exact: boolean,
): { align: number; offset: number } {
  let a = natural;
  let o = 0;
  if (typeof align === "object") {
    if (offset !== undefined) throw new TypeError(`${name}: pass the offset inside the MemArg object, not both`);
    a = align.align ?? natural;
    o = align.offset ?? 0;
  } else {
    if (align !== undefined) a = align;
    if (offset !== undefined) o = offset;
  }
  if (!Number.isInteger(a) || a < 0 || a > natural) {
    throw new RangeError(
      `${name}: alignment ${a} is invalid; it is log2 of the byte alignment and must be an integer in [0, ${natural}]` +
        ` (natural alignment is ${2 ** natural} bytes)`,
    );
  }
  if (exact && a !== natural) {
    throw new RangeError(`${name}: atomic accesses must be naturally aligned (align=${natural}), got ${a}`);
  }
  if (!Number.isInteger(o) || o < 0 || o > 0xffff_ffff) {
    throw new RangeError(`${name}: offset ${o} is not a u32`);
  }
  return { align: a, offset: o };
}

function memText(m: { align: number; offset: number }, natural: number): string {
  const parts: string[] = [];
  if (m.offset !== 0) parts.push(`offset=${m.offset}`);
  if (m.align !== natural) parts.push(`align=${2 ** m.align}`); // text format spells alignment in bytes
  return parts.join(" ");
}

function checkLane(name: string, lane: number, lanes: number): void {
  if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
    throw new RangeError(`${name}: lane ${lane} out of range [0, ${lanes})`);
  }
}

const methodName = (key: string): string => key.replaceAll(".", "_");

function addPlain(proto: Proto, ns: string, prefix: number, table: Record<string, number>): void {
  for (const [key, code] of Object.entries(table)) {
    const name = `${ns}.${key}`;
    proto[methodName(key)] = function (this: Self) {
      this[EMITTER].instr(name, prefix, code);
      return this[EMITTER];
    };
  }
}

function addMem(proto: Proto, ns: string, prefix: number, table: Record<string, MemEntry>, exact = false): void {
  for (const [key, [code, natural]] of Object.entries(table)) {
    const name = `${ns}.${key}`;
    proto[methodName(key)] = function (this: Self, align?: number | MemArg, offset?: number) {
      const m = resolveMemArg(name, natural, align, offset, exact);
      this[EMITTER].instr(name, prefix, code, (w) => w.u32(m.align).u32(m.offset), memText(m, natural));
      return this[EMITTER];
    };
  }
}

function addLaneMem(proto: Proto, table: Record<string, LaneMemEntry>): void {
  for (const [key, [code, natural, lanes]] of Object.entries(table)) {
    const name = `v128.${key}`;
    proto[key] = function (this: Self, lane: number, align?: number | MemArg, offset?: number) {
      checkLane(name, lane, lanes);
      const m = resolveMemArg(name, natural, align, offset, false);
      const text = [memText(m, natural), String(lane)].filter(Boolean).join(" ");
      this[EMITTER].instr(name, PREFIX_SIMD, code, (w) => w.u32(m.align).u32(m.offset).u8(lane), text);
      return this[EMITTER];
    };
  }
}

function addLanes(proto: Proto, ns: string, table: { readonly lanes: number } & Record<string, number>): void {
  for (const [key, code] of Object.entries(table)) {
    if (key === "lanes") continue;
    const name = `${ns}.${key}`;
    proto[key] = function (this: Self, lane: number) {
      checkLane(name, lane, table.lanes);
      this[EMITTER].instr(name, PREFIX_SIMD, code, (w) => w.u8(lane), String(lane));
      return this[EMITTER];
    };
  }
}

function i32Const(value: number): number {
  // Accept the unsigned bit pattern too (e.g. 0xffffffff), as kernels often build masks.
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
    throw new RangeError(`i32.const: ${value} is not an integer in [-2^31, 2^32)`);
  }
  return value | 0;
}

function i64Const(value: bigint | number): bigint {
  if (typeof value !== "bigint" && typeof value !== "number") {
    throw new TypeError(`i64.const: expected a bigint or integer, got ${typeof value}`);
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`i64.const: ${value} is not a safe integer; pass a bigint`);
  }
  const v = BigInt(value);
  if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`i64.const: ${v} is outside [-2^63, 2^64)`);
  return BigInt.asIntN(64, v);
}

function floatConst(name: string, value: number): number {
  if (typeof value !== "number") throw new TypeError(`${name}: expected a number, got ${typeof value}`);
  return value;
}

function v128Bytes(name: string, bytes: ArrayLike<number>): Uint8Array {
  if (bytes.length !== 16) throw new RangeError(`${name}: expected 16 bytes, got ${bytes.length}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const b = bytes[i] as number;
    if (!Number.isInteger(b) || b < 0 || b > 255) throw new RangeError(`${name}: byte ${i} = ${b} is not in [0, 255]`);
    out[i] = b;
  }
  return out;
}

function laneBytes(
  ctor: Int8ArrayConstructor | Int16ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor,
  values: number[],
): Uint8Array {
  const lanes = 16 / ctor.BYTES_PER_ELEMENT;
  if (values.length !== lanes) throw new RangeError(`v128 constant: expected ${lanes} lanes, got ${values.length}`);
  // Typed arrays are little-endian on every platform that runs WebAssembly.
  return new Uint8Array(ctor.from(values).buffer);
}

function emitV128Const(self: Self, bytes: Uint8Array, shape: string, lanes: ArrayLike<number | bigint>): Emitter {
  const text = `${shape} ${Array.from(lanes, String).join(" ")}`;
  self[EMITTER].instr("v128.const", PREFIX_SIMD, V128_CONST, (w) => w.bytes(bytes), text);
  return self[EMITTER];
}

function buildProtos(): Record<keyof Namespaces<unknown>, Proto> {
  const i32: Proto = {};
  addPlain(i32, "i32", PREFIX_NONE, I32_OPS);
  addPlain(i32, "i32", PREFIX_MISC, I32_SAT_OPS);
  addMem(i32, "i32", PREFIX_NONE, I32_MEM);
  addMem(i32, "i32", PREFIX_ATOMIC, I32_ATOMIC, true);
  i32.const = function (this: Self, value: number) {
    const v = i32Const(value);
    this[EMITTER].instr("i32.const", PREFIX_NONE, OP.i32_const, (w) => w.s32(v), String(v));
    return this[EMITTER];
  };

  const i64: Proto = {};
  addPlain(i64, "i64", PREFIX_NONE, I64_OPS);
  addPlain(i64, "i64", PREFIX_MISC, I64_SAT_OPS);
  addMem(i64, "i64", PREFIX_NONE, I64_MEM);
  addMem(i64, "i64", PREFIX_ATOMIC, I64_ATOMIC, true);
  i64.const = function (this: Self, value: bigint | number) {
    const v = i64Const(value);
    this[EMITTER].instr("i64.const", PREFIX_NONE, OP.i64_const, (w) => w.s64(v), String(v));
    return this[EMITTER];
  };

  const f32: Proto = {};
  addPlain(f32, "f32", PREFIX_NONE, F32_OPS);
  addMem(f32, "f32", PREFIX_NONE, F32_MEM);
  f32.const = function (this: Self, value: number) {
    floatConst("f32.const", value);
    this[EMITTER].instr("f32.const", PREFIX_NONE, OP.f32_const, (w) => w.f32(value), String(Math.fround(value)));
    return this[EMITTER];
  };

  const f64: Proto = {};
  addPlain(f64, "f64", PREFIX_NONE, F64_OPS);
  addMem(f64, "f64", PREFIX_NONE, F64_MEM);
  f64.const = function (this: Self, value: number) {
    floatConst("f64.const", value);
    this[EMITTER].instr("f64.const", PREFIX_NONE, OP.f64_const, (w) => w.f64(value), String(value));
    return this[EMITTER];
  };

  const v128: Proto = {};
  addPlain(v128, "v128", PREFIX_SIMD, V128_OPS);
  addMem(v128, "v128", PREFIX_SIMD, V128_MEM);
  addLaneMem(v128, V128_LANE_MEM);
  v128.const = function (this: Self, bytes: ArrayLike<number>) {
    const b = v128Bytes("v128.const", bytes);
    return emitV128Const(this, b, "i8x16", b);
  };
  v128.const_i8x16 = function (this: Self, ...lanes: number[]) {
    return emitV128Const(this, laneBytes(Int8Array, lanes), "i8x16", lanes);
  };
  v128.const_i16x8 = function (this: Self, ...lanes: number[]) {
    return emitV128Const(this, laneBytes(Int16Array, lanes), "i16x8", lanes);
  };
  v128.const_i32x4 = function (this: Self, a: number, b: number, c: number, d: number) {
    return emitV128Const(this, laneBytes(Int32Array, [a, b, c, d]), "i32x4", [a, b, c, d]);
  };
  v128.const_i64x2 = function (this: Self, a: bigint, b: bigint) {
    const bytes = new Uint8Array(BigInt64Array.of(BigInt.asIntN(64, a), BigInt.asIntN(64, b)).buffer);
    return emitV128Const(this, bytes, "i64x2", [a, b]);
  };
  v128.const_f32x4 = function (this: Self, a: number, b: number, c: number, d: number) {
    return emitV128Const(this, laneBytes(Float32Array, [a, b, c, d]), "f32x4", [a, b, c, d].map(Math.fround));
  };
  v128.const_f64x2 = function (this: Self, a: number, b: number) {
    return emitV128Const(this, laneBytes(Float64Array, [a, b]), "f64x2", [a, b]);
  };

  const i8x16: Proto = {};
  addPlain(i8x16, "i8x16", PREFIX_SIMD, I8X16_OPS);
  addLanes(i8x16, "i8x16", LANE_OPS.i8x16);
  i8x16.shuffle = function (this: Self, lanes: ArrayLike<number>) {
    const b = v128Bytes("i8x16.shuffle", lanes);
    for (let i = 0; i < 16; i++) checkLane("i8x16.shuffle", b[i] as number, 32);
    this[EMITTER].instr("i8x16.shuffle", PREFIX_SIMD, I8X16_SHUFFLE, (w) => w.bytes(b), Array.from(b).join(" "));
    return this[EMITTER];
  };

  const simd = (ns: "i16x8" | "i32x4" | "i64x2" | "f32x4" | "f64x2", table: Record<string, number>): Proto => {
    const p: Proto = {};
    addPlain(p, ns, PREFIX_SIMD, table);
    addLanes(p, ns, LANE_OPS[ns]);
    return p;
  };

  const memory: Proto = {};
  addMem(memory, "memory", PREFIX_ATOMIC, MEMORY_ATOMIC, true);
  const memIdx = (name: string, prefix: number, code: number, zeros: number) =>
    function (this: Self) {
      // Trailing zero bytes are memory indices (always memory 0 here).
      this[EMITTER].instr(name, prefix, code, (w) => {
        for (let i = 0; i < zeros; i++) w.u8(0);
      });
      return this[EMITTER];
    };
  memory.size = memIdx("memory.size", PREFIX_NONE, OP.memory_size, 1);
  memory.grow = memIdx("memory.grow", PREFIX_NONE, OP.memory_grow, 1);
  memory.copy = memIdx("memory.copy", PREFIX_MISC, MISC.memory_copy, 2);
  memory.fill = memIdx("memory.fill", PREFIX_MISC, MISC.memory_fill, 1);

  const atomic: Proto = {};
  atomic.fence = function (this: Self) {
    this[EMITTER].instr("atomic.fence", PREFIX_ATOMIC, ATOMIC_FENCE, (w) => w.u8(0));
    return this[EMITTER];
  };

  return {
    i32, i64, f32, f64, v128, i8x16, atomic, memory,
    i16x8: simd("i16x8", I16X8_OPS),
    i32x4: simd("i32x4", I32X4_OPS),
    i64x2: simd("i64x2", I64X2_OPS),
    f32x4: simd("f32x4", F32X4_OPS),
    f64x2: simd("f64x2", F64X2_OPS),
  };
}

const PROTOS = buildProtos();

function bind<T>(proto: Proto, emitter: Emitter): T {
  const ns = Object.create(proto) as { [EMITTER]: Emitter };
  ns[EMITTER] = emitter;
  return ns as unknown as T;
}

/** Instruction namespaces bound to `emitter`; every method returns `emitter` for chaining. */
export function createNamespaces<R extends Emitter>(emitter: R): Namespaces<R> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(PROTOS) as (keyof Namespaces<R>)[]) out[key] = bind(PROTOS[key], emitter);
  return out as unknown as Namespaces<R>;
}
