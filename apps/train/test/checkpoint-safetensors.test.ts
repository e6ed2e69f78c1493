import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { decodeSafetensors, encodeSafetensors, readSafetensors, SafetensorsError, writeSafetensors, type HostTensor } from "../src/checkpoint/index.js";

const dir = tempDirs("st")();

const sample: Record<string, HostTensor> = {
  "blocks.0.attn.q.weight": { dtype: "float32", shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 1e-30, Infinity, NaN) },
  "wide": { dtype: "float64", shape: [3], data: Float64Array.of(Math.PI, -0, 1e300) },
  "ids": { dtype: "int32", shape: [2, 2], data: Int32Array.of(-2147483648, 0, 7, 2147483647) },
  "scalar": { dtype: "float64", shape: [], data: Float64Array.of(0.1) },
  "empty": { dtype: "float32", shape: [0, 4], data: new Float32Array(0) },
  "mask": { dtype: "bool", shape: [3], data: Uint8Array.of(1, 0, 1) },
};

/** A file built from a hand-written header (to produce each corruption). */
function rawFile(header: unknown, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function expectError(fn: () => unknown, code: string, ...parts: (string | RegExp)[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect((e as SafetensorsError).code).toBe(code);
    for (const p of parts) expect((e as Error).message).toMatch(p);
    return;
  }
  throw new Error(`expected a SafetensorsError ${code}`);
}

describe("safetensors", () => {
  it("round-trips F32, F64, I32, BOOL, 0-d and empty tensors with metadata", () => {
    const file = join(dir, "rt.safetensors");
    writeSafetensors(file, sample, { step: "12", note: "ünïcode" });
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).toEqual({ step: "12", note: "ünïcode" });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [k, t] of Object.entries(sample)) {
      expect(tensors[k]!.dtype).toBe(t.dtype);
      expect(tensors[k]!.shape).toEqual(t.shape);
      expect(tensors[k]!.data).toEqual(t.data); // NaN, -0 and Infinity included
      expect(tensors[k]!.data.constructor).toBe(t.data.constructor);
    }
  });

  it("writes the standard layout: u64 header length, 8-byte aligned JSON, dtype names, offsets", () => {
    const bytes = encodeSafetensors({ a: { dtype: "float32", shape: [2], data: Float32Array.of(1, 2) }, b: { dtype: "int32", shape: [], data: Int32Array.of(5) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header).toEqual({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "I32", shape: [], data_offsets: [8, 12] } });
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 4, true)).toBe(2);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it("reads a file written by another writer (header without padding, tensors in any order)", () => {
    const f = rawFile({ __metadata__: { format: "pt" }, z: { dtype: "F32", shape: [1], data_offsets: [4, 8] }, y: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 8);
    const dv = new DataView(f.buffer);
    dv.setFloat32(f.length - 8, 1.5, true);
    dv.setFloat32(f.length - 4, 2.5, true);
    const { tensors, metadata } = decodeSafetensors(f);
    expect(Array.from(tensors.y!.data)).toEqual([1.5]);
    expect(Array.from(tensors.z!.data)).toEqual([2.5]);
    expect(metadata).toEqual({ format: "pt" });
  });

  it("reports a truncated file", () => {
    const file = join(dir, "trunc.safetensors");
    writeFileSync(file, new Uint8Array(5));
    expectError(() => readSafetensors(file), "truncated", file, /at least 8 bytes.*found 5/);
    const good = encodeSafetensors(sample);
    writeFileSync(file, good.subarray(0, good.length - 3));
    expectError(() => readSafetensors(file), "truncated", file, /needs data bytes/);
  });

  it("reports a header length beyond the file", () => {
    const f = encodeSafetensors(sample);
    new DataView(f.buffer).setBigUint64(0, 1n << 40n, true);
    expectError(() => decodeSafetensors(f, "big.safetensors"), "header-length", "big.safetensors", /header length 1099511627776.*at most/);
  });

  it("reports offsets that do not match the shape, and overlapping tensors", () => {
    expectError(() => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4), "f"), "offsets", /hold 4 bytes, expected 8/);
    expectError(() => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, 8), "f"), "offsets");
    expectError(
      () => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12), "f"),
      "offsets",
      /'a'.*'b'.*overlap/,
    );
    expectError(() => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8), "f"), "truncated", /\[0, 16\).*8 bytes/);
  });

  it("reports an unknown dtype and malformed headers", () => {
    expectError(() => decodeSafetensors(rawFile({ a: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } }, 2), "bf.safetensors"), "unknown-dtype", "bf.safetensors", /"BF16".*F32, F64, I32, BOOL/);
    const notJson = rawFile({}, 0);
    notJson[8] = 0x7b;
    notJson[9] = 0x7b;
    expectError(() => decodeSafetensors(notJson, "j"), "bad-header", /not valid JSON/);
    expectError(() => decodeSafetensors(rawFile({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }, 0), "s"), "bad-header", /shape/);
    expectError(() => decodeSafetensors(rawFile({ __metadata__: { n: 1 } }, 0), "m"), "bad-header", /__metadata__/);
  });

  it("leaves no temp file behind and keeps the file readable by plain readFileSync", () => {
    const file = join(dir, "plain.safetensors");
    writeSafetensors(file, { x: { dtype: "int32", shape: [1], data: Int32Array.of(9) } });
    expect(decodeSafetensors(readFileSync(file)).tensors.x!.data[0]).toBe(9);
  });
});
