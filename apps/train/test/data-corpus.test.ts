import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { corpusSpecSchema, encodeShard, loadSotu, openCorpus, shardCorpus, sotuCorpus, splitByYear, textCorpus } from "../src/data/index.js";

const tmp = tempDirs("corpus");
const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

describe("SOTU corpus", () => {
  it("holds out the speeches of 2007 and later (about 5% of the bytes)", () => {
    const c = sotuCorpus();
    expect(c.kind).toBe("text");
    expect(c.train.every((d) => Number(d.name.slice(0, 4)) < 2007)).toBe(true);
    expect(c.val.every((d) => Number(d.name.slice(0, 4)) >= 2007)).toBe(true);
    const tb = c.train.reduce((n, d) => n + bytes(d.text), 0);
    const vb = c.val.reduce((n, d) => n + bytes(d.text), 0);
    expect(vb / (tb + vb)).toBeGreaterThan(0.03);
    expect(vb / (tb + vb)).toBeLessThan(0.08);
    // Same documents as the demo's splitByYear, in the same order.
    expect(c.val.map((d) => d.text).join("\n\n")).toBe(splitByYear(loadSotu()).val);
  });

  it("changes identity with the split year and rejects a year that empties a side", () => {
    expect(sotuCorpus({ heldOutFrom: 2000 }).id).not.toBe(sotuCorpus().id);
    expect(sotuCorpus().id).toBe(sotuCorpus().id);
    expect(() => sotuCorpus({ heldOutFrom: 2100 })).toThrow(/0 validation speeches/);
  });
});

describe("text corpora", () => {
  it("reads a folder of .txt files recursively in sorted order, ignoring other files", () => {
    const d = tmp();
    mkdirSync(join(d, "sub"));
    writeFileSync(join(d, "b.txt"), "bee");
    writeFileSync(join(d, "a.txt"), "ay");
    writeFileSync(join(d, "sub", "c.txt"), "sea");
    writeFileSync(join(d, "notes.md"), "skip me");
    const c = textCorpus(d);
    expect(c.train.map((x) => x.name)).toEqual(["a.txt", "b.txt", "sub/c.txt"]);
    expect(c.val).toEqual([]);
  });

  it("splits by document: the last documents are validation", () => {
    const d = tmp();
    for (let i = 0; i < 10; i++) writeFileSync(join(d, `doc${i}.txt`), `text ${i}`);
    const c = textCorpus(d, { valFraction: 0.2, valBy: "document" });
    expect(c.train.length).toBe(8);
    expect(c.val.map((x) => x.name)).toEqual(["doc8.txt", "doc9.txt"]);
    expect(() => textCorpus(join(d, "doc0.txt"), { valFraction: 0.5, valBy: "document" })).toThrow(/no training document/);
  });

  it("splits by tail bytes at a character boundary", () => {
    const d = tmp();
    const text = "ab€".repeat(100); // € is 3 bytes: cuts must not fall inside it
    writeFileSync(join(d, "one.txt"), text);
    for (const f of [0.1, 0.25, 0.33, 0.5]) {
      const c = textCorpus(join(d, "one.txt"), { valFraction: f });
      const train = c.train.map((x) => x.text).join("");
      const val = c.val.map((x) => x.text).join("");
      expect(train + val).toBe(text);
      expect(train).not.toContain("\uFFFD");
      expect(Math.abs(bytes(val) / bytes(text) - f)).toBeLessThan(0.02);
    }
  });

  it("splits a folder by bytes across documents", () => {
    const d = tmp();
    writeFileSync(join(d, "1.txt"), "x".repeat(60));
    writeFileSync(join(d, "2.txt"), "y".repeat(30));
    writeFileSync(join(d, "3.txt"), "z".repeat(10));
    const c = textCorpus(d, { valFraction: 0.2 });
    expect(c.train.map((x) => [x.name, x.text.length])).toEqual([["1.txt", 60], ["2.txt#head", 20]]);
    expect(c.val.map((x) => [x.name, x.text.length])).toEqual([["2.txt#tail", 10], ["3.txt", 10]]);
  });

  it("has a content identity: editing a file changes it, moving the folder does not", () => {
    const a = tmp();
    const b = tmp();
    for (const d of [a, b]) writeFileSync(join(d, "x.txt"), "same");
    expect(textCorpus(a).id).toBe(textCorpus(b).id);
    writeFileSync(join(b, "x.txt"), "different");
    expect(textCorpus(a).id).not.toBe(textCorpus(b).id);
    expect(textCorpus(a, { valFraction: 0.5 }).id).not.toBe(textCorpus(a).id);
  });

  it("fails clearly on a missing path or an empty folder", () => {
    expect(() => textCorpus(join(tmp(), "nope"))).toThrow(/no such file or folder/);
    expect(() => textCorpus(tmp())).toThrow(/no .txt files/);
  });
});

describe("shard corpora and specs", () => {
  it("expands files, folders and globs, sorted", () => {
    const d = tmp();
    for (const n of ["data_train_002.bin", "data_train_001.bin", "data_val_000.bin"]) writeFileSync(join(d, n), encodeShard([1, 2, 3]));
    const c = shardCorpus(join(d, "data_train_*.bin"), join(d, "data_val_000.bin"));
    expect(c.train.map((f) => f.slice(d.length + 1))).toEqual(["data_train_001.bin", "data_train_002.bin"]);
    expect(c.val.length).toBe(1);
    expect(shardCorpus(d).train.length).toBe(3);
    expect(() => shardCorpus(join(d, "nothing_*.bin"))).toThrow(/no file matches/);
  });

  it("parses specs strictly and opens them", () => {
    expect(corpusSpecSchema.parse({ kind: "sotu" })).toEqual({ kind: "sotu" });
    expect(() => corpusSpecSchema.parse({ kind: "sotu", year: 2000 })).toThrow();
    expect(() => corpusSpecSchema.parse({ kind: "text", path: "x", valFraction: 1 })).toThrow();
    const d = tmp();
    writeFileSync(join(d, "a.txt"), "hello world");
    const c = openCorpus({ kind: "text", path: d, valFraction: 0.5 });
    expect(c.kind === "text" && c.val.length).toBe(1);
    expect(openCorpus({ kind: "sotu", heldOutFrom: 2010 }).name).toBe("sotu-2010");
  });
});
