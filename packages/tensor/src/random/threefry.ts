/**
 * Threefry-2x32 with 20 rounds (Salmon et al. 2011, as in JAX): a counter-based generator,
 * so element i of a draw depends only on (key, counter + i) — no state, no order effects,
 * and any backend or thread can produce any element.
 */
const TWO32 = 4294967296;
const PARITY = 0x1bd11bda;

/** Rotations of the 5 groups of 4 rounds: groups alternate between the two rows. */
const ROT = Int32Array.of(13, 15, 26, 6, 17, 29, 16, 24);

/**
 * The 20 rounds under the key schedule ks = (k0, k1, k0 ^ k1 ^ PARITY) on counter (c0, c1), with
 * a key injection after every 4; the two words go to out. Hot: one call per random element on
 * the reference backend, hence plain locals and no allocation.
 */
function encrypt(ks: Uint32Array, c0: number, c1: number, out: Uint32Array): void {
  let x0 = (c0 + ks[0]!) >>> 0;
  let x1 = (c1 + ks[1]!) >>> 0;
  for (let g = 0; g < 5; g++) {
    for (let j = (g & 1) * 4, end = j + 4; j < end; j++) {
      const r = ROT[j]!;
      x0 = (x0 + x1) >>> 0;
      x1 = (((x1 << r) | (x1 >>> (32 - r))) ^ x0) >>> 0;
    }
    x0 = (x0 + ks[(g + 1) % 3]!) >>> 0;
    x1 = (x1 + ks[(g + 2) % 3]! + g + 1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
}

const schedule = (k0: number, k1: number, ks = new Uint32Array(3)): Uint32Array => ((ks[0] = k0), (ks[1] = k1), (ks[2] = PARITY ^ k0 ^ k1), ks);
const scratchKs = new Uint32Array(3);
const words = new Uint32Array(2);

/** Encrypts the counter (c0, c1) under key (k0, k1); returns two uint32 words. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  encrypt(schedule(k0, k1, scratchKs), c0 >>> 0, c1 >>> 0, words);
  return [words[0]!, words[1]!];
}

/** The two words for element `i` of a draw starting at `counter`. */
export function randomWords(key: readonly [number, number], counter: number, i: number): [number, number] {
  const c = counter + i;
  return threefry2x32(key[0], key[1], c % TWO32 >>> 0, Math.floor(c / TWO32) >>> 0);
}

/** each(i, w0, w1) for elements 0..n-1 of a draw starting at `counter`, without allocating per element. */
export function forEachRandomWords(key: readonly [number, number], counter: number, n: number, each: (i: number, w0: number, w1: number) => void): void {
  const ks = schedule(key[0], key[1]);
  for (let i = 0; i < n; i++) {
    const c = counter + i;
    encrypt(ks, c % TWO32 >>> 0, Math.floor(c / TWO32) >>> 0, words);
    each(i, words[0]!, words[1]!);
  }
}

/**
 * Uniform in [0, 1): 24 bits for float32 (so rounding can never reach 1), 53 for float64.
 */
export const uniformFromWords = (w0: number, w1: number, float32: boolean): number =>
  float32 ? (w0 >>> 8) / 16777216 : ((w0 >>> 5) * 67108864 + (w1 >>> 6)) / 9007199254740992;

/** True with probability p (p = 1 is always true, p = 0 never). */
export const bernoulliFromWord = (w: number, p: number): boolean => w / TWO32 < p;

/** Standard normal by Box–Muller from both words; u1 ∈ (0, 1] so the log is finite. */
export function normalFromWords(w0: number, w1: number): number {
  const u1 = (w0 + 1) / TWO32;
  const u2 = w1 / TWO32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Derives a key from a seed and an optional stream name (a 32-bit FNV-1a hash of the name). */
export function keyFromSeed(seed: number, stream = ""): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
  return threefry2x32(seed % TWO32 >>> 0, Math.floor(seed / TWO32) >>> 0, h, 0x9e3779b9);
}
