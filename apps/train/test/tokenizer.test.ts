import { describe, expect, it } from "vitest";
import { byteTokenizer, gpt2Tokenizer, streamDecoder, tokenizerFromName } from "../src/tokenizers/index.js";

const TEXT = "Fellow-Citizens — naïve café, 日本語, emoji 🎉, math ∑x². \n\tTabs & <tags>";

describe("byte tokenizer", () => {
  const tok = byteTokenizer();

  it("encodes UTF-8 bytes and round-trips non-ASCII text", () => {
    expect(tok.vocabSize).toBe(256);
    expect(tok.eotToken).toBeUndefined();
    expect(Array.from(tok.encode("hé"))).toEqual([0x68, 0xc3, 0xa9]);
    expect(tok.decode(tok.encode(TEXT))).toBe(TEXT);
    expect(tok.decode([])).toBe("");
  });

  it("decodes a split multi-byte sequence without throwing", () => {
    const ids = Array.from(tok.encode("a🎉b"));
    expect(tok.decode(ids.slice(0, 3))).toBe("a\uFFFD"); // the emoji's first two bytes
    expect(tok.decode(ids.slice(2))).toContain("b");
  });

  it("shows ids outside the vocabulary as U+FFFD", () => {
    expect(tok.decode([104, 300, 105])).toBe("h\uFFFDi");
    expect(tok.decode([-1, 1.5])).toBe("\uFFFD\uFFFD");
  });
});

describe("GPT-2 tokenizer", () => {
  const tok = gpt2Tokenizer();

  it("gives the known ids", () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eotToken).toBe(50256);
    expect(Array.from(tok.encode("Hello world"))).toEqual([15496, 995]);
    expect(Array.from(tok.encode(" the"))).toEqual([262]);
  });

  it("round-trips text, including non-ASCII", () => {
    expect(tok.decode(tok.encode(TEXT))).toBe(TEXT);
  });

  it("treats '<|endoftext|>' in text as plain text, and decodes the EOT id to it", () => {
    const ids = Array.from(tok.encode("a<|endoftext|>b"));
    expect(ids).not.toContain(50256);
    expect(tok.decode(ids)).toBe("a<|endoftext|>b");
    expect(tok.decode([50256])).toBe("<|endoftext|>");
  });

  it("decodes padded-vocabulary ids to U+FFFD instead of throwing", () => {
    expect(tok.decode([15496, 50300, 995])).toBe("Hello\uFFFD world");
  });

  it("decodes bytes exactly (decodeBytes) and streams split characters correctly", () => {
    const text = "日本語🎉";
    const ids = Array.from(tok.encode(text));
    expect(new TextDecoder().decode(tok.decodeBytes!(ids))).toBe(text);
    const s = streamDecoder(tok);
    let out = "";
    for (const id of ids) out += s.push([id]);
    out += s.flush();
    expect(out).toBe(text);
    expect(out).not.toContain("\uFFFD");
  });
});

describe("tokenizerFromName", () => {
  it("builds the named tokenizer and rejects unknown names", () => {
    expect(tokenizerFromName("byte").name).toBe("byte");
    expect(tokenizerFromName("gpt2")).toBe(gpt2Tokenizer()); // one cached instance
    expect(() => tokenizerFromName("llama3")).toThrow(/unknown tokenizer 'llama3'.*'byte', 'gpt2'/);
  });

  it("streams byte tokens across a split character", () => {
    const tok = byteTokenizer();
    const s = streamDecoder(tok);
    const ids = Array.from(tok.encode("é!"));
    expect(s.push([ids[0]!])).toBe("");
    expect(s.push(ids.slice(1))).toBe("é!");
  });
});
