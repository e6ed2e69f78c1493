/**
 * Data: corpora, llm.c token shards, the tokenized-corpus cache and deterministic batching.
 *
 * Corpora (documents already split into train / validation):
 *   sotuCorpus({ heldOutFrom = 2007 }?): TextCorpus          built-in SOTU, speeches ≥ heldOutFrom are val
 *   textCorpus(path, { valFraction = 0, valBy = "bytes" | "document" }?): TextCorpus
 *                                                            a .txt file or a folder of .txt (sorted)
 *   shardCorpus(train: string | string[], val?): ShardCorpus  llm.c shards: files, folders or `*` globs
 *   openCorpus(spec: CorpusSpec): Corpus; corpusSpecSchema   the zod config field for the above
 *
 * Tokens:
 *   prepareCorpus({ corpus, tokenizer, cacheDir, worker?, onProgress? }): Promise<PreparedCorpus>
 *     → { train, val: Uint16Array | Uint32Array, vocabSize, files, tokenized, key }
 *     Tokenizes once in a worker thread, caches shards under cacheDir keyed by (corpus, tokenizer).
 *   writeShard(path, tokens, { vocabSize? }) / readShard(path, { vocabSize? }): Tokens
 *     (encodeShard / decodeShard on bytes); errors are ShardError { file, code }.
 *
 * Batches (int32 tensors [B, T], target = input shifted by one):
 *   new BatchLoader(tokens, { batchSize, seqLen, seed, step?, order? = "shuffle" | "random" })
 *     .next(): Batch   .batch(step) / .arrays(step) (pure)   .state: { seed, step } (JSON)
 *   evalBatches(tokens, { batchSize, seqLen, maxBatches? }): { count, tokens, batch(i), arrays(i) }
 */
export type { Corpus, Doc, ShardCorpus, TextCorpus } from "./corpus.js";
export { loadSotu, splitByYear, sotuCorpus, type Speech, type SotuOptions } from "./sotu.js";
export { textCorpus, type TextCorpusOptions } from "./text.js";
export type { ValSplit } from "./split.js";
export { shardCorpus, expandShards } from "./shard-corpus.js";
export { openCorpus, corpusSpecSchema, type CorpusSpec } from "./spec.js";
export { encodeShard, decodeShard, readShard, writeShard, ShardError, SHARD_U16, SHARD_U32, SHARD_HEADER_BYTES, type ShardErrorCode, type ShardOptions, type Tokens } from "./shards.js";
export { prepareCorpus, cacheKey, type PrepareOptions, type PreparedCorpus } from "./cache.js";
export { joinDocuments, type TokenizeProgress, type TokenizeOptions } from "./tokenize.js";
export { BatchLoader, evalBatches, type Batch, type BatchArrays, type EvalBatches, type EvalOptions, type LoaderOptions, type LoaderOrder, type LoaderState } from "./loader.js";
