import type { Tokenizer, TokenizerName } from "./types.js";

// Built-in tokenizers can be rebuilt by name inside a worker thread; custom ones cannot.
// A WeakMap (not the `name` field) decides, so a custom tokenizer named "gpt2" is not mistaken.
const BUILTIN = new WeakMap<Tokenizer, TokenizerName>();

export function markBuiltin<T extends Tokenizer>(t: T, name: TokenizerName): T {
  BUILTIN.set(t, name);
  return t;
}

/** The name a worker can rebuild this tokenizer from, or undefined for a custom tokenizer. */
export const builtinName = (t: Tokenizer): TokenizerName | undefined => BUILTIN.get(t);
