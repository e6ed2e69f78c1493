import { describe, expect, it } from "vitest";
import { OpError, Rng, threefry2x32 } from "@equigrad/tensor";
import { expectExact } from "./helpers.js";

const N = 100_000;

function moments(v: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0, s2 = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    s += x;
    s2 += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean), min, max };
}

describe("threefry2x32 (20 rounds) known-answer vectors", () => {
  it("matches the Random123 / JAX test vectors", () => {
    expect(threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  it("returns unsigned 32-bit words", () => {
    for (let c = 0; c < 100; c++) {
      for (const w of threefry2x32(c * 7919, 0xdeadbeef, c, 0)) {
        expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
      }
    }
  });

  it("float32 uniforms are the top 24 bits of the first word of (key, counter + i)", () => {
    const rng = new Rng(5, "kat");
    rng.counter = 2 ** 32 - 2; // crosses into the high counter word
    const u = rng.uniform([4]).toArray();
    const want = [0, 1, 2, 3].map((i) => {
      const c = 2 ** 32 - 2 + i;
      const [w0] = threefry2x32(rng.key[0], rng.key[1], c % 2 ** 32, Math.floor(c / 2 ** 32));
      return (w0 >>> 8) / 2 ** 24;
    });
    expectExact(u, want);
  });

  // Every backend draws these bits (the wasm kernel included: many elements, so several work
  // units and threads), at counters that cross and lie beyond the low word.
  it("uniform float32/float64 and bernoulli bool are the word maps of (key, counter + i), exactly", () => {
    const n = 40_001;
    for (const start of [0, 2 ** 32 - 5_000, 3 * 2 ** 40 + 17]) {
      const rng = new Rng(11, "words");
      const words = (i: number) => {
        const c = start + i;
        return threefry2x32(rng.key[0], rng.key[1], c % 2 ** 32, Math.floor(c / 2 ** 32));
      };
      const draw = (f: () => ArrayLike<number>) => ((rng.counter = start), f());
      expectExact(draw(() => rng.uniform([n]).toArray()), Array.from({ length: n }, (_, i) => (words(i)[0] >>> 8) / 2 ** 24));
      expectExact(draw(() => rng.uniform([n], 0, 1, "float64").toArray()), Array.from({ length: n }, (_, i) => {
        const [w0, w1] = words(i);
        return ((w0 >>> 5) * 2 ** 26 + (w1 >>> 6)) / 2 ** 53;
      }));
      expectExact(draw(() => rng.bernoulli([n], 0.3).toArray()), Array.from({ length: n }, (_, i) => +(words(i)[0] / 2 ** 32 < 0.3)));
    }
  });
});

describe("Rng determinism", () => {
  it("same seed gives the same numbers regardless of interleaved draws on other generators", () => {
    const a = new Rng(42);
    const seqA = [a.uniform([5]).toArray(), a.normal([3]).toArray(), a.bernoulli([4], 0.5).toArray()];
    const b = new Rng(42);
    const other = new Rng(7);
    const child = b.fork("child");
    other.uniform([100]);
    const b1 = b.uniform([5]).toArray();
    child.normal([9]);
    other.normal([3]);
    const b2 = b.normal([3]).toArray();
    other.bernoulli([17], 0.3);
    const b3 = b.bernoulli([4], 0.5).toArray();
    expectExact(b1, seqA[0]!);
    expectExact(b2, seqA[1]!);
    expectExact(b3, seqA[2]!);
  });

  it("consecutive draws take consecutive counters: [5] then [7] equals one draw of [12]", () => {
    const a = new Rng(3);
    const parts = [...a.uniform([5]).toArray(), ...a.uniform([7]).toArray()];
    expect(a.counter).toBe(12);
    expectExact(new Rng(3).uniform([12]).toArray(), parts);
    const n = new Rng(3).normal([2, 6], 0, 1, "float64").toArray();
    const m = new Rng(3);
    expectExact([...m.normal([4], 0, 1, "float64").toArray(), ...m.normal([8], 0, 1, "float64").toArray()], n);
  });

  it("different seeds, streams and forks give different numbers", () => {
    const draw = (r: Rng) => r.uniform([16], 0, 1, "float64").toArray();
    const base = draw(new Rng(1));
    const variants = [draw(new Rng(2)), draw(new Rng(1, "x")), draw(new Rng(1).fork("a")), draw(new Rng(1).fork("b")), draw(new Rng(1).fork("a").fork("b"))];
    for (const v of [base, ...variants]) {
      for (const w of [base, ...variants]) {
        if (v === w) continue;
        expect(v.some((x, i) => x !== w[i])).toBe(true);
      }
    }
    // Forking is by name: the same path gives the same stream, whatever the parent drew.
    const parent = new Rng(1);
    parent.uniform([50]);
    expectExact(draw(parent.fork("a")), draw(new Rng(1, "a")));
    expectExact(draw(new Rng(1).fork("a").fork("b")), draw(new Rng(1, "a/b")));
    expect(new Rng(1).fork("a").counter).toBe(0);
  });

  it("resuming a stream by setting counter reproduces the continuation", () => {
    const a = new Rng(99, "data");
    a.uniform([10]);
    a.normal([7]);
    expect(a.counter).toBe(17);
    const cont = [a.uniform([6]).toArray(), a.bernoulli([5], 0.4).toArray()];
    const b = new Rng(99, "data");
    b.counter = 17;
    expectExact(b.uniform([6]).toArray(), cont[0]!);
    expectExact(b.bernoulli([5], 0.4).toArray(), cont[1]!);
    expect(b.counter).toBe(a.counter);
  });

  it("rejects bad seeds, counters and probabilities", () => {
    expect(() => new Rng(-1)).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
    const r = new Rng(0);
    expect(() => (r.counter = -1)).toThrow(RangeError);
    expect(() => (r.counter = 0.5)).toThrow(RangeError);
    expect(() => r.bernoulli([2], 1.5)).toThrow(OpError);
    expect(() => r.bernoulli([2], NaN)).toThrow(/bernoulli/);
    expect(() => r.uniform([-1])).toThrow(OpError);
  });
});

describe("distributions", () => {
  it("uniform float32 is in [0, 1) with mean 1/2 and variance 1/12", () => {
    const u = new Rng(11).uniform([N]);
    expect(u.dtype).toBe("float32");
    expect(u.shape).toEqual([N]);
    const { mean, std, min, max } = moments(u.data());
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(std - Math.sqrt(1 / 12))).toBeLessThan(0.003);
  });

  it("uniform float64 is in [0, 1) and uses more than 24 bits", () => {
    const v = new Rng(12).uniform([N], 0, 1, "float64");
    expect(v.dtype).toBe("float64");
    const d = v.data();
    const { mean, min, max } = moments(d);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / N));
    let fine = 0;
    for (let i = 0; i < 1000; i++) if (d[i]! * 2 ** 24 !== Math.floor(d[i]! * 2 ** 24)) fine++;
    expect(fine).toBeGreaterThan(990);
  });

  it("uniform(low, high) scales into [low, high)", () => {
    const { mean, min, max } = moments(new Rng(13).uniform([N], -3, 5, "float64").data());
    expect(min).toBeGreaterThanOrEqual(-3);
    expect(max).toBeLessThan(5);
    expect(Math.abs(mean - 1)).toBeLessThan(4 * Math.sqrt(64 / 12 / N));
  });

  it("normal has mean 0, std 1 and the right 1σ / 2σ mass", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const z = new Rng(14).normal([N], 0, 1, dtype);
      expect(z.dtype).toBe(dtype);
      const d = z.data();
      const { mean, std } = moments(d);
      expect(Number.isFinite(mean)).toBe(true);
      expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(N));
      expect(Math.abs(std - 1)).toBeLessThan(0.01);
      let in1 = 0, in2 = 0;
      for (let i = 0; i < d.length; i++) {
        if (Math.abs(d[i]!) < 1) in1++;
        if (Math.abs(d[i]!) < 2) in2++;
      }
      expect(Math.abs(in1 / N - 0.6826894921370859)).toBeLessThan(0.006);
      expect(Math.abs(in2 / N - 0.9544997361036416)).toBeLessThan(0.003);
    }
  });

  it("normal(mean, std) shifts and scales", () => {
    const { mean, std } = moments(new Rng(15).normal([N], 3, 2, "float64").data());
    expect(Math.abs(mean - 3)).toBeLessThan(4 * 2 / Math.sqrt(N));
    expect(Math.abs(std - 2)).toBeLessThan(0.02);
  });

  it("bernoulli has the requested rate; p = 0 and p = 1 are exact", () => {
    for (const p of [0.1, 0.3, 0.5, 0.9]) {
      const b = new Rng(16).bernoulli([N], p);
      expect(b.dtype).toBe("bool");
      const rate = moments(b.data()).mean;
      expect(Math.abs(rate - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N));
    }
    expect(moments(new Rng(17).bernoulli([1000], 0).data()).max).toBe(0);
    expect(moments(new Rng(17).bernoulli([1000], 1).data()).min).toBe(1);
  });

  it("shapes: multi-dimensional and empty draws", () => {
    const r = new Rng(18);
    expect(r.normal([2, 3, 4]).shape).toEqual([2, 3, 4]);
    expect(r.uniform([0, 3]).shape).toEqual([0, 3]);
    expect(r.counter).toBe(24);
  });
});
