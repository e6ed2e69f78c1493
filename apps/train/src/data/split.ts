import type { Doc } from "./corpus.js";

/** How `valFraction` is taken: the last documents (sorted order) or the last bytes. */
export type ValSplit = "document" | "bytes";

/** Holds out the last `fraction` of the documents (at least one; at least one stays for training). */
export function splitByDocument(docs: Doc[], fraction: number, source: string): { train: Doc[]; val: Doc[] } {
  if (fraction <= 0) return { train: docs, val: [] };
  const k = Math.max(1, Math.round(fraction * docs.length));
  if (k >= docs.length) {
    throw new Error(`${source}: a validation fraction of ${fraction} by document leaves no training document (${docs.length} documents); use a smaller fraction or valBy: "bytes"`);
  }
  return { train: docs.slice(0, docs.length - k), val: docs.slice(docs.length - k) };
}

/**
 * Holds out the last `fraction` of the bytes: the document holding the cut is split at a UTF-8
 * character boundary (its parts are named `name#head` and `name#tail`).
 */
export function splitByBytes(docs: Doc[], fraction: number): { train: Doc[]; val: Doc[] } {
  if (fraction <= 0) return { train: docs, val: [] };
  const bufs = docs.map((d) => Buffer.from(d.text, "utf8"));
  const total = bufs.reduce((n, b) => n + b.length, 0);
  let cut = Math.floor(total * (1 - fraction));
  for (let i = 0; i < docs.length; i++) {
    const b = bufs[i]!;
    if (cut >= b.length) {
      cut -= b.length;
      continue;
    }
    let at = cut;
    while (at > 0 && (b[at]! & 0xc0) === 0x80) at--; // never cut inside a character
    const head = b.subarray(0, at).toString("utf8");
    const tail = b.subarray(at).toString("utf8");
    const name = docs[i]!.name;
    const train = [...docs.slice(0, i), ...(head ? [{ name: `${name}#head`, text: head }] : [])];
    const val = [...(at > 0 ? [{ name: `${name}#tail`, text: tail }] : [docs[i]!]), ...docs.slice(i + 1)];
    return { train, val };
  }
  return { train: docs, val: [] };
}
