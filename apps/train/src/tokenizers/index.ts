/**
 * Tokenizers.
 *
 *   interface Tokenizer { name; vocabSize; encode(text); decode(ids); decodeBytes?(ids); eotToken? }
 *   tokenizerFromName(name: "byte" | "gpt2"): Tokenizer
 *   byteTokenizer(): Tokenizer        vocab 256, UTF-8 bytes, no EOT
 *   gpt2Tokenizer(): Tokenizer        vocab 50257, EOT 50256 (js-tiktoken, offline, cached instance)
 *   streamDecoder(tok): { push(ids): string; flush(): string }   for printing samples token by token
 *
 * decode never throws: unknown ids and broken UTF-8 become U+FFFD.
 */
import { byteTokenizer } from "./byte.js";
import { gpt2Tokenizer } from "./gpt2.js";
import { TOKENIZER_NAMES, type Tokenizer, type TokenizerName } from "./types.js";

export { byteTokenizer } from "./byte.js";
export { gpt2Tokenizer, GPT2_EOT, GPT2_VOCAB_SIZE } from "./gpt2.js";
export { streamDecoder } from "./stream.js";
export { builtinName } from "./builtin.js";
export { TOKENIZER_NAMES, type Tokenizer, type TokenizerName } from "./types.js";

export function tokenizerFromName(name: TokenizerName | string): Tokenizer {
  switch (name) {
    case "byte":
      return byteTokenizer();
    case "gpt2":
      return gpt2Tokenizer();
    default:
      throw new Error(`unknown tokenizer '${name}': expected one of ${TOKENIZER_NAMES.map((n) => `'${n}'`).join(", ")}`);
  }
}
