import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../checkpoint/atomic.js";
import { fromLEBytes, toLEBytes } from "./endian.js";

/**
 * llm.c token shards (dev/data/data_common.py::write_datafile, llmc/dataloader.h): a header of
 * 256 little-endian int32 — [0] magic, [1] version, [2] token count — then the tokens:
 * magic 20240520 / version 1 / uint16 (GPT-2), or magic 20240801 / version 7 / uint32 for
 * vocabularies larger than 65536 (LLaMA-3).
 */
export const SHARD_HEADER_BYTES = 256 * 4;
export const SHARD_U16 = { magic: 20240520, version: 1, width: 2 } as const;
export const SHARD_U32 = { magic: 20240801, version: 7, width: 4 } as const;

export type Tokens = Uint16Array | Uint32Array;

export type ShardErrorCode = "truncated" | "bad-magic" | "bad-version" | "count-mismatch" | "token-out-of-range" | "bad-token";

const FIX = "Re-run `train prepare` to rebuild the token shards (or delete the cache directory).";

/** A shard that cannot be read or written; `code` says which check failed. */
export class ShardError extends Error {
  constructor(
    readonly file: string,
    readonly code: ShardErrorCode,
    problem: string,
    fix = FIX,
  ) {
    super(`token shard ${file}: ${problem}. ${fix}`);
    this.name = "ShardError";
  }
}

export interface ShardOptions {
  /** Ids must be < vocabSize; also picks the format (uint32 when vocabSize > 65536). */
  vocabSize?: number;
}

function checkVocab(file: string, tokens: ArrayLike<number>, vocabSize: number, fix?: string): void {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]! >= vocabSize) {
      throw new ShardError(file, "token-out-of-range", `token id at position ${i} is out of range: expected < ${vocabSize} (the vocabulary size), found ${tokens[i]}; the shard was made with another tokenizer`, fix);
    }
  }
}

/** The bytes of a shard holding `tokens`. */
export function encodeShard(tokens: ArrayLike<number>, opts: ShardOptions = {}, file = "<memory>"): Uint8Array {
  let max = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) throw new ShardError(file, "bad-token", `token at position ${i} is not an id: expected an integer in [0, 2^32), found ${t}`, "This is a bug in the caller.");
    if (t > max) max = t;
  }
  if (opts.vocabSize !== undefined) checkVocab(file, tokens, opts.vocabSize, "This is a bug in the caller.");
  if (tokens.length > 0x7fffffff) throw new ShardError(file, "count-mismatch", `too many tokens for one shard: expected at most 2^31-1, found ${tokens.length}`, "Split the tokens over several shards.");
  const fmt = (opts.vocabSize ?? max + 1) > 65536 ? SHARD_U32 : SHARD_U16;
  const header = new Int32Array(256);
  header[0] = fmt.magic;
  header[1] = fmt.version;
  header[2] = tokens.length;
  const body = fmt.width === 2 ? Uint16Array.from(tokens) : Uint32Array.from(tokens);
  const out = new Uint8Array(SHARD_HEADER_BYTES + body.byteLength);
  out.set(toLEBytes(header), 0);
  out.set(toLEBytes(body), SHARD_HEADER_BYTES);
  return out;
}

/** Reads and validates shard bytes; `file` names the shard in errors. */
export function decodeShard(bytes: Uint8Array, file: string, opts: ShardOptions = {}): Tokens {
  if (bytes.length < SHARD_HEADER_BYTES) {
    throw new ShardError(file, "truncated", `truncated header: expected at least ${SHARD_HEADER_BYTES} bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const magic = view.getInt32(0, true);
  const version = view.getInt32(4, true);
  const count = view.getInt32(8, true);
  const fmt = magic === SHARD_U16.magic ? SHARD_U16 : magic === SHARD_U32.magic ? SHARD_U32 : undefined;
  if (!fmt) throw new ShardError(file, "bad-magic", `bad magic number: expected ${SHARD_U16.magic} (uint16 tokens) or ${SHARD_U32.magic} (uint32 tokens), found ${magic}; this is not an llm.c token shard`);
  if (version !== fmt.version) throw new ShardError(file, "bad-version", `unsupported version for magic ${magic}: expected ${fmt.version}, found ${version}`);
  const expected = SHARD_HEADER_BYTES + fmt.width * count;
  if (count < 0 || bytes.length > expected) {
    throw new ShardError(file, "count-mismatch", `token count mismatch: the header says ${count} tokens (a file of ${expected} bytes), found ${bytes.length} bytes (${(bytes.length - SHARD_HEADER_BYTES) / fmt.width} tokens)`);
  }
  if (bytes.length < expected) {
    throw new ShardError(file, "truncated", `truncated: the header says ${count} tokens (a file of ${expected} bytes), found ${bytes.length} bytes`);
  }
  const body = bytes.subarray(SHARD_HEADER_BYTES, expected);
  const tokens = fmt.width === 2 ? fromLEBytes(body, Uint16Array) : fromLEBytes(body, Uint32Array);
  if (opts.vocabSize !== undefined) checkVocab(file, tokens, opts.vocabSize);
  return tokens;
}

/** Writes a shard atomically (temp file, fsync, rename). */
export function writeShard(path: string, tokens: ArrayLike<number>, opts: ShardOptions = {}): void {
  writeFileAtomic(path, encodeShard(tokens, opts, path));
}

export function readShard(path: string, opts: ShardOptions = {}): Tokens {
  return decodeShard(readFileSync(path), path, opts);
}
