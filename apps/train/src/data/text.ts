import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { textCorpusOf, type Doc, type TextCorpus } from "./corpus.js";
import { splitByBytes, splitByDocument, type ValSplit } from "./split.js";

export interface TextCorpusOptions {
  /** Fraction held out for validation (default 0: no validation split). */
  valFraction?: number;
  /** By the last documents or the last bytes (default "bytes", which also works for one file). */
  valBy?: ValSplit;
}

/** All .txt files under dir, recursively, by relative path in code-unit order (locale-independent). */
function listTxt(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(".txt")) out.push(p);
    }
  };
  walk(dir);
  const key = (p: string): string => relative(dir, p).split(sep).join("/");
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A text file, or a folder of .txt files (one document each), with an optional validation split. */
export function textCorpus(path: string, opts: TextCorpusOptions = {}): TextCorpus {
  const { valFraction = 0, valBy = "bytes" } = opts;
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`text corpus ${path}: valFraction must be in [0, 1), got ${valFraction}`);
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new Error(`text corpus ${abs}: no such file or folder`);
  }
  const files = st.isDirectory() ? listTxt(abs) : [abs];
  if (files.length === 0) throw new Error(`text corpus ${abs}: the folder holds no .txt files`);
  // Names are relative paths, so moving the folder keeps the cache key.
  const docs: Doc[] = files.map((f) => ({ name: st.isDirectory() ? relative(abs, f).split(sep).join("/") : basename(f), text: readFileSync(f, "utf8") }));
  const { train, val } = valBy === "document" ? splitByDocument(docs, valFraction, abs) : splitByBytes(docs, valFraction);
  return textCorpusOf(basename(abs).replace(/\.txt$/, ""), train, val);
}
