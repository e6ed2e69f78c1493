import type { Tokenizer } from "./types.js";

/**
 * Decodes tokens as they are sampled: bytes of a multi-byte character split across tokens are
 * held back until the character is complete, so printed text never shows spurious U+FFFD.
 */
export function streamDecoder(tokenizer: Tokenizer): { push(ids: ArrayLike<number>): string; flush(): string } {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  return {
    push: (ids) => (tokenizer.decodeBytes ? decoder.decode(tokenizer.decodeBytes(ids), { stream: true }) : tokenizer.decode(ids)),
    flush: () => decoder.decode(),
  };
}
