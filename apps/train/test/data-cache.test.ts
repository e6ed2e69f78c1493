import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { encodeShard, joinDocuments, loadSotu, prepareCorpus, shardCorpus, sotuCorpus, splitByYear, textCorpus, type TextCorpus } from "../src/data/index.js";
import { textCorpusOf } from "../src/data/corpus.js";
import { byteTokenizer, gpt2Tokenizer, type Tokenizer } from "../src/tokenizers/index.js";

const tmp = tempDirs("cache");

function smallCorpus(): TextCorpus {
  const d = tmp();
  writeFileSync(join(d, "a.txt"), "Hello world. The quick brown fox — naïve café.");
  writeFileSync(join(d, "b.txt"), "Jumps over the lazy dog. 日本語 🎉");
  writeFileSync(join(d, "c.txt"), "Validation text goes here.");
  return textCorpus(d, { valFraction: 0.3, valBy: "document" });
}

/** A custom tokenizer that counts its calls (it cannot run in the worker, so calls are visible). */
function countingTokenizer(): Tokenizer & { calls: number } {
  const inner = byteTokenizer();
  const t = { name: "counting-bytes", vocabSize: 256, calls: 0, encode: (s: string) => (t.calls++, inner.encode(s)), decode: inner.decode };
  return t;
}

describe("tokenized-corpus cache", () => {
  it("tokenizes once, then reuses its shards (no tokenizer calls, files untouched)", async () => {
    const cacheDir = tmp();
    const corpus = smallCorpus();
    const tokenizer = countingTokenizer();
    const first = await prepareCorpus({ corpus, tokenizer, cacheDir });
    expect(first.tokenized).toBe(true);
    const calls = tokenizer.calls;
    expect(calls).toBeGreaterThanOrEqual(3); // one per document (+ the separator)
    const mtime = statSync(first.files.train[0]!).mtimeMs;
    const second = await prepareCorpus({ corpus, tokenizer, cacheDir });
    expect(second.tokenized).toBe(false);
    expect(tokenizer.calls).toBe(calls);
    expect(statSync(second.files.train[0]!).mtimeMs).toBe(mtime);
    expect(Array.from(second.train)).toEqual(Array.from(first.train));
    expect(Array.from(second.val)).toEqual(Array.from(first.val));
    expect(readdirSync(cacheDir)).toHaveLength(1); // no temp debris
  });

  it("invalidates on a tokenizer change and on a corpus change", async () => {
    const cacheDir = tmp();
    const corpus = smallCorpus();
    const byte = await prepareCorpus({ corpus, tokenizer: byteTokenizer(), cacheDir });
    const gpt2 = await prepareCorpus({ corpus, tokenizer: gpt2Tokenizer(), cacheDir });
    expect(gpt2.tokenized).toBe(true);
    expect(gpt2.key).not.toBe(byte.key);
    expect(gpt2.files.train[0]).not.toBe(byte.files.train[0]);
    expect((await prepareCorpus({ corpus, tokenizer: byteTokenizer(), cacheDir })).tokenized).toBe(false);
    const edited = textCorpusOf(corpus.name, [...corpus.train, { name: "new.txt", text: "more" }], corpus.val);
    expect((await prepareCorpus({ corpus: edited, tokenizer: byteTokenizer(), cacheDir })).tokenized).toBe(true);
    expect(readdirSync(cacheDir)).toHaveLength(3);
  });

  it("joins documents with EOT before each (GPT-2) or with '\\n\\n' (bytes)", async () => {
    const cacheDir = tmp();
    const corpus = smallCorpus();
    const g = gpt2Tokenizer();
    const p = await prepareCorpus({ corpus, tokenizer: g, cacheDir });
    const expected = [50256, ...g.encode(corpus.train[0]!.text), 50256, ...g.encode(corpus.train[1]!.text)];
    expect(Array.from(p.train)).toEqual(expected);
    expect(p.train).toBeInstanceOf(Uint16Array);
    const b = await prepareCorpus({ corpus, tokenizer: byteTokenizer(), cacheDir });
    expect(byteTokenizer().decode(b.train)).toBe(corpus.train.map((d) => d.text).join("\n\n"));
    expect(Array.from(joinDocuments([[1], [2]], byteTokenizer()))).toEqual([1, 10, 10, 2]);
  });

  it("gives the same tokens in the worker and in-thread", async () => {
    const corpus = smallCorpus();
    for (const tokenizer of [gpt2Tokenizer(), byteTokenizer()]) {
      const a = await prepareCorpus({ corpus, tokenizer, cacheDir: tmp() });
      const b = await prepareCorpus({ corpus, tokenizer, cacheDir: tmp(), worker: false });
      expect(Array.from(a.train)).toEqual(Array.from(b.train));
      expect(Array.from(a.val)).toEqual(Array.from(b.val));
    }
  });

  it("rebuilds a corrupt cache entry", async () => {
    const cacheDir = tmp();
    const corpus = smallCorpus();
    const first = await prepareCorpus({ corpus, tokenizer: byteTokenizer(), cacheDir });
    writeFileSync(first.files.train[0]!, "garbage");
    const again = await prepareCorpus({ corpus, tokenizer: byteTokenizer(), cacheDir });
    expect(again.tokenized).toBe(true);
    expect(Array.from(again.train)).toEqual(Array.from(first.train));
  });

  it("keeps the event loop responsive while GPT-2 tokenizes a large corpus in the worker", async () => {
    const d = tmp();
    mkdirSync(join(d, "docs"));
    const para = "We the People of the United States, in Order to form a more perfect Union, establish Justice. ";
    for (let i = 0; i < 8; i++) writeFileSync(join(d, "docs", `${i}.txt`), para.repeat(2500) + i);
    const corpus = textCorpus(join(d, "docs"), { valFraction: 0.1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const progress: number[] = [];
    const t0 = performance.now();
    const p = await prepareCorpus({ corpus, tokenizer: gpt2Tokenizer(), cacheDir: join(d, "cache"), onProgress: (e) => progress.push(e.bytesDone / e.bytesTotal) });
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(p.train.length).toBeGreaterThan(100_000);
    expect(progress.at(-1)).toBe(1);
    // A blocked loop would tick once or twice in total; a free one ticks about every 5 ms.
    expect(ticks).toBeGreaterThan(Math.min(20, ms / 50));
  });

  it("tokenizes the full SOTU corpus at byte level, matching splitByYear", async () => {
    const p = await prepareCorpus({ corpus: sotuCorpus(), tokenizer: byteTokenizer(), cacheDir: tmp() });
    const { train, val } = splitByYear(loadSotu());
    expect(p.train.length).toBe(Buffer.byteLength(train));
    expect(byteTokenizer().decode(p.val)).toBe(val);
  });

  it("reads pre-tokenized shard corpora, checked against the tokenizer's vocabulary", async () => {
    const d = tmp();
    writeFileSync(join(d, "t_train_000.bin"), encodeShard([1, 2, 3]));
    writeFileSync(join(d, "t_train_001.bin"), encodeShard([4, 5]));
    writeFileSync(join(d, "t_val_000.bin"), encodeShard([300]));
    const p = await prepareCorpus({ corpus: shardCorpus(join(d, "t_train_*.bin"), join(d, "t_val_000.bin")), tokenizer: gpt2Tokenizer(), cacheDir: tmp() });
    expect(Array.from(p.train)).toEqual([1, 2, 3, 4, 5]);
    expect(p.tokenized).toBe(false);
    await expect(prepareCorpus({ corpus: shardCorpus(d), tokenizer: byteTokenizer(), cacheDir: tmp() })).rejects.toThrow(/t_val_000\.bin.*expected < 256 .*found 300/);
  });
});
