import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { decodeShard, encodeShard, readShard, SHARD_HEADER_BYTES, ShardError, writeShard } from "../src/data/index.js";

const dir = tempDirs("shards")();

/** A valid shard's bytes with header int32 `i` replaced. */
function withHeader(bytes: Uint8Array, i: number, v: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setInt32(i * 4, v, true);
  return copy;
}

function expectShardError(fn: () => unknown, code: string, ...parts: (string | RegExp)[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShardError);
    expect((e as ShardError).code).toBe(code);
    for (const p of parts) expect((e as Error).message).toMatch(p);
    expect((e as Error).message).toMatch(/train prepare/);
    return;
  }
  throw new Error(`expected a ShardError ${code}`);
}

describe("llm.c shards", () => {
  it("round-trips uint16 shards (magic 20240520, version 1) with the llm.c layout", () => {
    const tokens = [0, 1, 50256, 65535, 7];
    const file = join(dir, "u16.bin");
    writeShard(file, tokens, { vocabSize: 65536 });
    const raw = readFileSync(file);
    expect(raw.length).toBe(1024 + 2 * tokens.length);
    const head = new DataView(raw.buffer, raw.byteOffset);
    expect([head.getInt32(0, true), head.getInt32(4, true), head.getInt32(8, true)]).toEqual([20240520, 1, 5]);
    expect(head.getUint16(1024 + 2 * 2, true)).toBe(50256);
    const back = readShard(file, { vocabSize: 65536 });
    expect(back).toBeInstanceOf(Uint16Array);
    expect(Array.from(back)).toEqual(tokens);
  });

  it("round-trips uint32 shards (magic 20240801, version 7) for vocabularies > 65536", () => {
    const tokens = new Uint32Array([0, 128255, 70000, 3]);
    const file = join(dir, "u32.bin");
    writeShard(file, tokens, { vocabSize: 128256 });
    const raw = readFileSync(file);
    expect(raw.length).toBe(1024 + 4 * tokens.length);
    const head = new DataView(raw.buffer, raw.byteOffset);
    expect([head.getInt32(0, true), head.getInt32(4, true), head.getInt32(8, true)]).toEqual([20240801, 7, 4]);
    const back = readShard(file);
    expect(back).toBeInstanceOf(Uint32Array);
    expect(Array.from(back)).toEqual(Array.from(tokens));
  });

  it("picks the format from the largest id when no vocabulary is given, and handles empty shards", () => {
    expect(decodeShard(encodeShard([1, 2]), "a")).toBeInstanceOf(Uint16Array);
    expect(decodeShard(encodeShard([1, 70000]), "b")).toBeInstanceOf(Uint32Array);
    expect(decodeShard(encodeShard([]), "c").length).toBe(0);
  });

  it("rejects non-ids and ids beyond the vocabulary when writing", () => {
    expect(() => encodeShard([1, -2])).toThrow(ShardError);
    expect(() => encodeShard([1.5])).toThrow(/integer/);
    expect(() => encodeShard([300], { vocabSize: 256 })).toThrow(/expected < 256.*found 300/);
  });

  const good = encodeShard([5, 6, 7, 8], { vocabSize: 50257 });

  it("reports a bad magic number", () => {
    const file = join(dir, "magic.bin");
    writeFileSync(file, withHeader(good, 0, 12345));
    expectShardError(() => readShard(file), "bad-magic", file, /expected 20240520.*or 20240801/, /found 12345/);
  });

  it("reports a wrong version", () => {
    expectShardError(() => decodeShard(withHeader(good, 1, 7), "v.bin"), "bad-version", "v.bin", /expected 1, found 7/);
    const u32 = encodeShard([1], { vocabSize: 100000 });
    expectShardError(() => decodeShard(withHeader(u32, 1, 1), "v7.bin"), "bad-version", /expected 7, found 1/);
  });

  it("reports a truncated header and truncated tokens", () => {
    expectShardError(() => decodeShard(good.subarray(0, 100), "h.bin"), "truncated", "h.bin", /at least 1024 bytes, found 100/);
    expectShardError(() => decodeShard(good.subarray(0, good.length - 1), "t.bin"), "truncated", /header says 4 tokens.*1032 bytes.*found 1031/);
  });

  it("reports a token count that does not match the file size", () => {
    expectShardError(() => decodeShard(withHeader(good, 2, 3), "c.bin"), "count-mismatch", /header says 3 tokens.*found 1032 bytes \(4 tokens\)/);
    expectShardError(() => decodeShard(withHeader(good, 2, -1), "n.bin"), "count-mismatch", /-1 tokens/);
  });

  it("reports a token id at or beyond the caller's vocabulary", () => {
    const file = join(dir, "vocab.bin");
    writeShard(file, [1, 2, 300]);
    expect(readShard(file, { vocabSize: 301 }).length).toBe(3);
    expectShardError(() => readShard(file, { vocabSize: 256 }), "token-out-of-range", file, /position 2/, /expected < 256.*found 300/);
  });

  it("reads shards whose bytes sit at an unaligned offset", () => {
    const padded = new Uint8Array(good.length + 1);
    padded.set(good, 1);
    expect(Array.from(decodeShard(padded.subarray(1), "x"))).toEqual([5, 6, 7, 8]);
    expect(SHARD_HEADER_BYTES).toBe(1024);
  });
});
