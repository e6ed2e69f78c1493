// Binary encoding primitives for the WebAssembly module format: LEB128 integers,
// little-endian floats, UTF-8 names and length-prefixed vectors/sections.

const MAX_U32 = 0xffff_ffff;
const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

/** Growable byte buffer; everything in the assembler writes through one of these. */
export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(byte: number): this {
    this.reserve(1);
    this.buf[this.len++] = byte & 0xff;
    return this;
  }

  bytes(data: ArrayLike<number>): this {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  /** Unsigned LEB128 of a u32 (indices, counts, sizes, memarg fields). */
  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
      throw new RangeError(`u32 LEB128: ${value} is not an integer in [0, 2^32)`);
    }
    let v = value;
    for (;;) {
      const byte = v & 0x7f;
      v = Math.floor(v / 128); // not >>>: keeps full 32-bit range exact
      if (v === 0) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }

  /** Signed LEB128 of an i32 (i32.const immediates). */
  s32(value: number): this {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new RangeError(`s32 LEB128: ${value} is not an integer in [-2^31, 2^31)`);
    }
    let v = value | 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7; // arithmetic shift keeps the sign
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      if (done) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }

  /** Signed LEB128 of an i64 given as bigint (i64.const immediates). */
  s64(value: bigint): this {
    if (value < MIN_I64 || value > MAX_U64) {
      throw new RangeError(`s64 LEB128: ${value} is outside [-2^63, 2^64)`);
    }
    let v = BigInt.asIntN(64, value); // unsigned bit patterns map to their signed twin
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
      if (done) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }

  /** Unsigned LEB128 of a u64 given as bigint. */
  u64(value: bigint): this {
    if (value < 0n || value > MAX_U64) throw new RangeError(`u64 LEB128: ${value} is outside [0, 2^64)`);
    let v = value;
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v === 0n) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }

  f32(value: number): this {
    scratch.setFloat32(0, value, true);
    return this.bytes(scratchBytes.subarray(0, 4));
  }

  f64(value: number): this {
    scratch.setFloat64(0, value, true);
    return this.bytes(scratchBytes.subarray(0, 8));
  }

  /** Length-prefixed UTF-8 string (import/export/custom-section names). */
  name(text: string): this {
    const utf8 = textEncoder.encode(text);
    return this.u32(utf8.length).bytes(utf8);
  }

  /** Length-prefixed copy of another writer's bytes (section payloads, function bodies). */
  sized(content: ByteWriter): this {
    return this.u32(content.length).bytes(content.view());
  }

  /** Vector: count followed by each item. */
  vec<T>(items: readonly T[], writeItem: (w: this, item: T) => void): this {
    this.u32(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Live view of the written bytes (invalidated by further writes). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Copy of the written bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const scratchBytes = new Uint8Array(8);
const scratch = new DataView(scratchBytes.buffer);
const textEncoder = new TextEncoder();

// Standalone helpers, mostly for tests and one-off encodings.
export const encodeU32 = (v: number): Uint8Array => new ByteWriter(8).u32(v).finish();
export const encodeS32 = (v: number): Uint8Array => new ByteWriter(8).s32(v).finish();
export const encodeS64 = (v: bigint): Uint8Array => new ByteWriter(16).s64(v).finish();
export const encodeU64 = (v: bigint): Uint8Array => new ByteWriter(16).u64(v).finish();

/** Decodes unsigned LEB128 at `pos`; returns the value and the number of bytes read. */
export function decodeULEB128(bytes: ArrayLike<number>, pos = 0): { value: bigint; length: number } {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) return { value: result, length: i - pos + 1 };
  }
  throw new RangeError("LEB128: unterminated sequence");
}

/** Decodes signed LEB128 at `pos`; returns the value and the number of bytes read. */
export function decodeSLEB128(bytes: ArrayLike<number>, pos = 0): { value: bigint; length: number } {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) {
      if (byte & 0x40) result -= 1n << shift; // sign-extend from the last payload bit
      return { value: result, length: i - pos + 1 };
    }
  }
  throw new RangeError("LEB128: unterminated sequence");
}
