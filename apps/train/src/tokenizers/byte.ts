import { markBuiltin } from "./builtin.js";
import { concatBytes, decodeTolerant } from "./decode.js";
import type { Tokenizer } from "./types.js";

const encoder = new TextEncoder();
const BYTES = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
const bytesOf = (id: number): Uint8Array | undefined => BYTES[id];

/** Byte-level tokenizer: one token per UTF-8 byte, vocabulary 256, no special tokens. */
export function byteTokenizer(): Tokenizer {
  return markBuiltin(
    {
      name: "byte",
      vocabSize: 256,
      encode: (text: string): Uint32Array => Uint32Array.from(encoder.encode(text)),
      decode: (ids: ArrayLike<number>): string => decodeTolerant(ids, bytesOf),
      decodeBytes: (ids: ArrayLike<number>): Uint8Array => concatBytes(ids, bytesOf),
    },
    "byte",
  );
}
