import { readFileSync } from "node:fs";
import type { DType, TypedArray } from "@equigrad/tensor";
import { fromLEBytes, toLEBytes } from "../data/endian.js";
import { writeFileAtomic } from "./atomic.js";

/**
 * safetensors (huggingface/safetensors): u64 little-endian header length N, N bytes of JSON
 * { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } },
 * then the raw little-endian data; offsets are relative to the start of the data.
 */

/** A tensor on the host: what a file holds, independent of any backend. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface Safetensors {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
}

const TO_ST: Record<DType, string> = { float32: "F32", float64: "F64", int32: "I32", bool: "BOOL" };
const FROM_ST: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: "float32", bytes: 4 },
  F64: { dtype: "float64", bytes: 8 },
  I32: { dtype: "int32", bytes: 4 },
  BOOL: { dtype: "bool", bytes: 1 },
};
const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

export type SafetensorsErrorCode = "truncated" | "header-length" | "bad-header" | "unknown-dtype" | "offsets";

/** A file that is not valid safetensors; `code` says which check failed. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    readonly code: SafetensorsErrorCode,
    problem: string,
  ) {
    super(`safetensors file ${file}: ${problem}`);
    this.name = "SafetensorsError";
  }
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The bytes of a safetensors file; tensors are laid out in name order. */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor");
    const t = tensors[name]!;
    if (t.data.length !== numel(t.shape)) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} elements but shape [${t.shape.join(", ")}]`);
    const bytes = toLEBytes(t.data);
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data to 8 bytes, as the reference writer does
  const head = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const c of chunks) (out.set(c, o), (o += c.length));
  return out;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(file: string, name: string, v: unknown): Entry {
  const bad = (why: string) => new SafetensorsError(file, "bad-header", `tensor '${name}': ${why}`);
  if (typeof v !== "object" || v === null) throw bad("entry is not an object");
  const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
  if (typeof dtype !== "string") throw bad("missing dtype");
  const info = FROM_ST[dtype];
  if (!info) throw new SafetensorsError(file, "unknown-dtype", `tensor '${name}' has dtype ${JSON.stringify(dtype)}: expected one of ${Object.keys(FROM_ST).join(", ")}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`data_offsets must be two non-negative integers, found ${JSON.stringify(off)}`);
  const [begin, end] = off as [number, number];
  const need = numel(shape) * info.bytes;
  if (end < begin || end - begin !== need) {
    throw new SafetensorsError(file, "offsets", `tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes, expected ${need} for ${dtype} [${shape.join(", ")}]`);
  }
  return { name, dtype: info.dtype, shape: shape as number[], begin, end };
}

/** Parses and validates safetensors bytes; `file` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, file = "<memory>"): Safetensors {
  if (bytes.length < 8) throw new SafetensorsError(file, "truncated", `truncated: expected at least 8 bytes (the header length), found ${bytes.length}`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(file, "header-length", `header length ${n} runs past the end of the file: expected at most ${bytes.length - 8} (file of ${bytes.length} bytes); the file is truncated or not safetensors`);
  }
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(n)).toString("utf8"));
  } catch (e) {
    throw new SafetensorsError(file, "bad-header", `the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new SafetensorsError(file, "bad-header", "the header is not a JSON object");
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Object.values(v).some((x) => typeof x !== "string")) {
        throw new SafetensorsError(file, "bad-header", "__metadata__ must map strings to strings");
      }
      Object.assign(metadata, v);
    } else entries.push(parseEntry(file, name, v));
  }
  const dataLength = bytes.length - headerEnd;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.end > dataLength) {
      throw new SafetensorsError(file, "truncated", `truncated: tensor '${e.name}' needs data bytes [${e.begin}, ${e.end}) but the data section has ${dataLength} bytes`);
    }
    if (e.begin === e.end) continue; // empty tensors occupy no bytes and overlap nothing
    if (prev && e.begin < prev.end) throw new SafetensorsError(file, "offsets", `tensors '${prev.name}' [${prev.begin}, ${prev.end}) and '${e.name}' [${e.begin}, ${e.end}) overlap`);
    prev = e;
  }
  const tensors: Record<string, HostTensor> = {};
  for (const e of entries) {
    const data = fromLEBytes(bytes.subarray(headerEnd + e.begin, headerEnd + e.end), CTOR[e.dtype]);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

/** Writes atomically (temp file, fsync, rename). */
export function writeSafetensors(path: string, tensors: Record<string, HostTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): Safetensors {
  return decodeSafetensors(readFileSync(path), path);
}
