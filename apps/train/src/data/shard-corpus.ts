import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ShardCorpus } from "./corpus.js";

/**
 * Expands one shard pattern: a .bin file, a folder (every .bin in it), or a glob with `*`/`?`
 * in the file name only (llm.c style: `data/fineweb_train_*.bin`). Sorted, so order is stable.
 */
export function expandShards(pattern: string): string[] {
  const abs = resolve(pattern);
  if (!/[*?]/.test(basename(abs))) {
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new Error(`token shards: ${abs} does not exist`);
    }
    if (!st.isDirectory()) return [abs];
    const files = readdirSync(abs).filter((f) => f.endsWith(".bin")).sort().map((f) => join(abs, f));
    if (files.length === 0) throw new Error(`token shards: the folder ${abs} holds no .bin files`);
    return files;
  }
  const dir = dirname(abs);
  const re = new RegExp(`^${basename(abs).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new Error(`token shards: the folder ${dir} of pattern ${pattern} does not exist`);
  }
  const files = names.filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`token shards: no file matches ${abs}`);
  return files;
}

const asList = (x: string | readonly string[] | undefined): readonly string[] => (x === undefined ? [] : typeof x === "string" ? [x] : x);

/** llm.c token shards for training and (optionally) validation; each entry is a file, folder or glob. */
export function shardCorpus(train: string | readonly string[], val?: string | readonly string[]): ShardCorpus {
  const t = asList(train).flatMap(expandShards);
  const v = asList(val).flatMap(expandShards);
  if (t.length === 0) throw new Error("token shards: no training shard given");
  // Identity by path, size and mtime: shards are read as they are, the id only names the run's data.
  const h = createHash("sha256");
  for (const f of [...t, "\0", ...v]) {
    h.update(f);
    if (f !== "\0") {
      const st = statSync(f);
      h.update(`\0${st.size}\0${st.mtimeMs}\0`);
    }
  }
  return { kind: "shards", name: basename(dirname(t[0]!)), id: h.digest("hex"), train: t, val: v };
}
