import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fsyncDir, tempSibling, writeFileDurable } from "../checkpoint/atomic.js";
import type { Tokenizer } from "../tokenizers/types.js";
import type { Corpus, ShardCorpus, TextCorpus } from "./corpus.js";
import { encodeShard, readShard, ShardError, type Tokens } from "./shards.js";
import { tokenizeSplits, type TokenizeOptions } from "./tokenize.js";

/** Bump when the token streams a corpus gives change (e.g. the document-joining rule). */
const CACHE_VERSION = 1;

export interface PrepareOptions extends TokenizeOptions {
  corpus: Corpus;
  tokenizer: Tokenizer;
  /** Holds one folder of shards per (corpus, tokenizer); created if missing. */
  cacheDir: string;
}

export interface PreparedCorpus {
  train: Tokens;
  val: Tokens;
  vocabSize: number;
  /** The shard files the tokens were read from or written to. */
  files: { train: string[]; val: string[] };
  /** True when this call ran the tokenizer; false when cached or pre-tokenized shards were used. */
  tokenized: boolean;
  /** Hash of (corpus identity, tokenizer): names the cache folder. */
  key: string;
}

/**
 * Train and validation tokens of a corpus. Text is tokenized once (off the main thread, see
 * tokenize.ts) and stored as llm.c shards in `cacheDir/<corpus>.<tokenizer>.<key>/`; later calls
 * with the same corpus contents and tokenizer read the shards back. Shard corpora are read and
 * checked against the tokenizer's vocabulary.
 */
export async function prepareCorpus(opts: PrepareOptions): Promise<PreparedCorpus> {
  const { corpus, tokenizer } = opts;
  return corpus.kind === "shards" ? readShardCorpus(corpus, tokenizer) : prepareText(corpus, tokenizer, opts);
}

export function cacheKey(corpus: Corpus, tokenizer: Tokenizer): string {
  const identity = { v: CACHE_VERSION, corpus: corpus.id, tokenizer: tokenizer.name, vocab: tokenizer.vocabSize, eot: tokenizer.eotToken ?? null };
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
}

function concat(parts: Tokens[], vocabSize: number): Tokens {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = vocabSize > 65536 ? new Uint32Array(n) : new Uint16Array(n);
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

function readShardCorpus(corpus: ShardCorpus, tokenizer: Tokenizer): PreparedCorpus {
  const read = (files: string[]) => concat(files.map((f) => readShard(f, { vocabSize: tokenizer.vocabSize })), tokenizer.vocabSize);
  return { train: read(corpus.train), val: read(corpus.val), vocabSize: tokenizer.vocabSize, files: { train: corpus.train, val: corpus.val }, tokenized: false, key: cacheKey(corpus, tokenizer) };
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40) || "corpus";

async function prepareText(corpus: TextCorpus, tokenizer: Tokenizer, opts: PrepareOptions): Promise<PreparedCorpus> {
  const key = cacheKey(corpus, tokenizer);
  const dir = join(resolve(opts.cacheDir), `${slug(corpus.name)}.${slug(tokenizer.name)}.${key}`);
  const files = { train: [join(dir, "train.bin")], val: [join(dir, "val.bin")] };
  const result = (train: Tokens, val: Tokens, tokenized: boolean): PreparedCorpus => ({ train, val, vocabSize: tokenizer.vocabSize, files, tokenized, key });

  // meta.json is written last and the folder renamed into place: its presence means complete.
  if (existsSync(join(dir, "meta.json"))) {
    try {
      return result(readShard(files.train[0]!, { vocabSize: tokenizer.vocabSize }), readShard(files.val[0]!, { vocabSize: tokenizer.vocabSize }), false);
    } catch (e) {
      if (!(e instanceof ShardError)) throw e;
      rmSync(dir, { recursive: true, force: true }); // a corrupt cache entry is rebuilt, not fatal
    }
  }

  const [train, val] = await tokenizeSplits(
    [
      { name: "train", docs: corpus.train },
      { name: "val", docs: corpus.val },
    ],
    tokenizer,
    opts,
  );
  const trainBytes = encodeShard(train!, { vocabSize: tokenizer.vocabSize }, files.train[0]);
  const valBytes = encodeShard(val!, { vocabSize: tokenizer.vocabSize }, files.val[0]);

  mkdirSync(opts.cacheDir, { recursive: true });
  const tmp = tempSibling(dir);
  mkdirSync(tmp);
  try {
    writeFileDurable(join(tmp, "train.bin"), trainBytes);
    writeFileDurable(join(tmp, "val.bin"), valBytes);
    const meta = {
      format: "equigrad.token-cache",
      version: CACHE_VERSION,
      corpus: { name: corpus.name, id: corpus.id, trainDocs: corpus.train.length, valDocs: corpus.val.length },
      tokenizer: { name: tokenizer.name, vocabSize: tokenizer.vocabSize, eotToken: tokenizer.eotToken ?? null },
      tokens: { train: train!.length, val: val!.length },
      createdAt: new Date().toISOString(),
    };
    writeFileDurable(join(tmp, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
    fsyncDir(tmp);
    if (existsSync(dir) && !existsSync(join(dir, "meta.json"))) rmSync(dir, { recursive: true, force: true }); // debris
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same entry first: theirs is equal, keep it.
      if (!existsSync(join(dir, "meta.json"))) throw e;
    }
    fsyncDir(opts.cacheDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const narrow = (t: Uint32Array): Tokens => (tokenizer.vocabSize > 65536 ? t : Uint16Array.from(t));
  return result(narrow(train!), narrow(val!), true);
}
