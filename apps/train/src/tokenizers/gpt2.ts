import { createRequire } from "node:module";
import type { Tiktoken, TiktokenBPE } from "js-tiktoken/lite";
import { markBuiltin } from "./builtin.js";
import { concatBytes, decodeTolerant } from "./decode.js";
import type { Tokenizer } from "./types.js";

export const GPT2_VOCAB_SIZE = 50257;
export const GPT2_EOT = 50256;

// js-tiktoken is loaded lazily with require: the GPT-2 ranks are 0.5 MB of JS that byte-level
// runs should not pay for, and tokenizerFromName stays synchronous.
const require = createRequire(import.meta.url);

/** Module paths of js-tiktoken's CommonJS entry points (the tokenizer worker requires them). */
export function tiktokenPaths(): { lite: string; ranks: string } {
  return { lite: require.resolve("js-tiktoken/lite"), ranks: require.resolve("js-tiktoken/ranks/gpt2") };
}

/** Token id → bytes, parsed from the ranks file (js-tiktoken keeps its own table private). */
function tokenBytesTable(ranks: TiktokenBPE): Uint8Array[] {
  const table: Uint8Array[] = [];
  for (const line of ranks.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(" ");
    const base = Number.parseInt(offset!, 10);
    tokens.forEach((tok, i) => (table[base + i] = new Uint8Array(Buffer.from(tok, "base64"))));
  }
  for (const [text, id] of Object.entries(ranks.special_tokens)) table[id] = new TextEncoder().encode(text);
  return table;
}

let cached: Tokenizer | undefined;

/**
 * GPT-2 BPE (r50k) through js-tiktoken, offline. `<|endoftext|>` inside the text is encoded as
 * plain text, never as the special token: corpora cannot inject document breaks, and encode
 * never throws on them. The EOT token is inserted explicitly between documents.
 */
export function gpt2Tokenizer(): Tokenizer {
  if (cached) return cached;
  const { Tiktoken: TiktokenCtor } = require("js-tiktoken/lite") as { Tiktoken: new (r: TiktokenBPE) => Tiktoken };
  const ranks = require("js-tiktoken/ranks/gpt2") as TiktokenBPE;
  const enc = new TiktokenCtor(ranks);
  const table = tokenBytesTable(ranks);
  const bytesOf = (id: number): Uint8Array | undefined => table[id];
  cached = markBuiltin(
    {
      name: "gpt2",
      vocabSize: GPT2_VOCAB_SIZE,
      eotToken: GPT2_EOT,
      encode: (text: string): number[] => enc.encode(text, [], []),
      // Unknown ids (e.g. a model's padded vocabulary, 50257..50303) show as U+FFFD.
      decode: (ids: ArrayLike<number>): string => decodeTolerant(ids, bytesOf),
      decodeBytes: (ids: ArrayLike<number>): Uint8Array => concatBytes(ids, bytesOf),
    },
    "gpt2",
  );
  return cached;
}
