/** A text ⇄ token-id mapping. Ids are integers in [0, vocabSize). */
export interface Tokenizer {
  /** Stable name: part of the tokenized-corpus cache key and of the run record. */
  readonly name: string;
  readonly vocabSize: number;
  encode(text: string): Uint32Array | number[];
  /** Never throws: ids it cannot map (e.g. padded-vocabulary ids) and broken UTF-8 become U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  /** Raw bytes of the ids (for streaming decode across split multi-byte characters). */
  decodeBytes?(ids: ArrayLike<number>): Uint8Array;
  /** Document separator token, when the vocabulary has one. */
  readonly eotToken?: number;
}

/** The tokenizers `tokenizerFromName` knows. */
export type TokenizerName = "byte" | "gpt2";
export const TOKENIZER_NAMES: readonly TokenizerName[] = ["byte", "gpt2"];
