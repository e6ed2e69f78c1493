import { describe, expect, it } from "vitest";
import { BatchLoader, evalBatches, type LoaderState } from "../src/data/index.js";

const tokens = Uint16Array.from({ length: 1000 }, (_, i) => (i * 7919) % 50257);
const opts = { batchSize: 4, seqLen: 16, seed: 42 };

describe("BatchLoader", () => {
  it("yields int32 [B, T] tensors with targets shifted by one", () => {
    const loader = new BatchLoader(tokens, opts);
    const { input, target } = loader.next();
    expect(input.shape).toEqual([4, 16]);
    expect(target.shape).toEqual([4, 16]);
    expect(input.dtype).toBe("int32");
    expect(target.dtype).toBe("int32");
    const x = input.data();
    const y = target.data();
    for (let b = 0; b < 4; b++) {
      const start = tokens.indexOf(x[b * 16]!); // tokens are distinct, so each id marks its position
      for (let t = 0; t < 16; t++) {
        expect(x[b * 16 + t]).toBe(tokens[start + t]);
        expect(y[b * 16 + t]).toBe(tokens[start + t + 1]);
      }
    }
    expect(loader.step).toBe(1);
  });

  it("is deterministic in (seed, step) and differs across seeds", () => {
    const a = new BatchLoader(tokens, opts);
    const b = new BatchLoader(tokens, opts);
    for (let s = 0; s < 5; s++) expect(a.arrays(s)).toEqual(b.arrays(s));
    expect(new BatchLoader(tokens, { ...opts, seed: 43 }).arrays(0)).not.toEqual(a.arrays(0));
    expect(a.arrays(0)).not.toEqual(a.arrays(1));
  });

  for (const order of ["shuffle", "random"] as const) {
    it(`resumes exactly: state at step k restores the uninterrupted sequence (${order})`, () => {
      const straight = new BatchLoader(tokens, { ...opts, order });
      const seen = Array.from({ length: 40 }, () => straight.next().input.data());
      const first = new BatchLoader(tokens, { ...opts, order });
      for (let s = 0; s < 17; s++) first.next();
      const saved = JSON.parse(JSON.stringify(first.state)) as LoaderState;
      expect(saved).toEqual({ seed: 42, step: 17 });
      const resumed = new BatchLoader(tokens, { ...opts, order, ...saved });
      for (let s = 17; s < 40; s++) expect(resumed.next().input.data()).toEqual(seen[s]);
    });
  }

  it("shuffle order visits every window exactly once per epoch", () => {
    const loader = new BatchLoader(tokens, { batchSize: 3, seqLen: 10, seed: 7 });
    expect(loader.windows).toBe(99);
    const starts: number[] = [];
    for (let s = 0; s < 33; s++) {
      const x = loader.arrays(s).input;
      for (let b = 0; b < 3; b++) starts.push(tokens.indexOf(x[b * 10]!));
    }
    expect(starts.sort((a, b) => a - b)).toEqual(Array.from({ length: 99 }, (_, i) => i * 10));
    // The next epoch uses a different permutation.
    expect(loader.arrays(33)).not.toEqual(loader.arrays(0));
    expect(loader.epoch).toBe(0);
  });

  it("random order keeps windows inside the tokens", () => {
    const loader = new BatchLoader(tokens, { batchSize: 8, seqLen: 16, seed: 1, order: "random" });
    for (let s = 0; s < 200; s++) {
      const y = loader.arrays(s).target;
      for (let b = 0; b < 8; b++) expect(tokens.indexOf(y[b * 16 + 15]!)).toBeLessThan(1000);
    }
  });

  it("rejects bad options with clear messages", () => {
    expect(() => new BatchLoader(tokens.subarray(0, 10), opts)).toThrow(/10 tokens are too few.*need at least 17/);
    expect(() => new BatchLoader(tokens, { ...opts, seed: -1 })).toThrow(/seed/);
    expect(() => new BatchLoader(tokens, { ...opts, batchSize: 0 })).toThrow(/positive integers/);
  });
});

describe("evalBatches", () => {
  it("is the first consecutive windows, the same every time, full batches only", () => {
    const ev = evalBatches(tokens, { batchSize: 4, seqLen: 16 });
    expect(ev.count).toBe(Math.floor(Math.floor(999 / 16) / 4));
    expect(ev.tokens).toBe(ev.count * 64);
    const a = ev.arrays(0);
    expect(Array.from(a.input.subarray(0, 16))).toEqual(Array.from(tokens.subarray(0, 16)));
    expect(Array.from(a.input.subarray(16, 32))).toEqual(Array.from(tokens.subarray(16, 32)));
    expect(Array.from(a.target.subarray(0, 16))).toEqual(Array.from(tokens.subarray(1, 17)));
    expect(evalBatches(tokens, { batchSize: 4, seqLen: 16 }).batch(3).input.data()).toEqual(ev.batch(3).input.data());
    expect(evalBatches(tokens, { batchSize: 4, seqLen: 16, maxBatches: 2 }).count).toBe(2);
    expect(() => ev.arrays(ev.count)).toThrow(/out of range/);
    expect(() => evalBatches(tokens.subarray(0, 50), { batchSize: 4, seqLen: 16 })).toThrow(/too few/);
  });
});
