import { createHash } from "node:crypto";

/** One document of a text corpus (a file, a speech, or a part of one cut by a byte split). */
export interface Doc {
  name: string;
  text: string;
}

/** Raw text, split into train and validation documents; tokenized by `prepareCorpus`. */
export interface TextCorpus {
  kind: "text";
  /** Short human name (used in the cache directory name and in reports). */
  name: string;
  /** Content hash of the documents and the split: equal ids mean equal token streams. */
  id: string;
  train: Doc[];
  val: Doc[];
}

/** Pre-tokenized llm.c shards (paths), used as they are. */
export interface ShardCorpus {
  kind: "shards";
  name: string;
  id: string;
  train: string[];
  val: string[];
}

export type Corpus = TextCorpus | ShardCorpus;

/** Builds a text corpus, hashing names and contents (so an edited file invalidates the cache). */
export function textCorpusOf(name: string, train: Doc[], val: Doc[]): TextCorpus {
  const h = createHash("sha256");
  for (const [split, docs] of [["train", train], ["val", val]] as const) {
    for (const d of docs) {
      // Length-prefixed fields: no two different document lists hash the same.
      const bytes = Buffer.from(d.text, "utf8");
      h.update(`${split}\0${d.name.length}:${d.name}\0${bytes.length}:`);
      h.update(bytes);
    }
  }
  return { kind: "text", name, id: h.digest("hex"), train, val };
}

/** Total UTF-8 bytes of documents. */
