/**
 * Threefry-2x32 with 20 rounds (Salmon et al. 2011, as in JAX): a counter-based generator,
 * so element i of a draw depends only on (key, counter + i) — no state, no order effects,
 * and any backend or thread can produce any element.
 */
const TWO32 = 4294967296;
const PARITY = 0x1bd11bda;

/**
 * The 20 rounds with the key schedule (k0, k1, k2 = k0 ^ k1 ^ PARITY) on counter (c0, c1),
 * unrolled (rotations 13 15 26 6 / 17 29 16 24, a key injection after every 4); the two words
 * go to out[0], out[1]. Hot: one call per random element on the reference backend.
 */
function encrypt(k0: number, k1: number, k2: number, c0: number, c1: number, out: Uint32Array): void {
  let x0 = (c0 + k0) >>> 0;
  let x1 = (c1 + k1) >>> 0;
  let t = 0;
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 13) | (t >>> 19)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 15) | (t >>> 17)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 26) | (t >>> 6)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 6) | (t >>> 26)) ^ x0) >>> 0);
  (x0 = (x0 + k1) >>> 0), (x1 = (x1 + k2 + 1) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 17) | (t >>> 15)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 29) | (t >>> 3)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 16) | (t >>> 16)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 24) | (t >>> 8)) ^ x0) >>> 0);
  (x0 = (x0 + k2) >>> 0), (x1 = (x1 + k0 + 2) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 13) | (t >>> 19)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 15) | (t >>> 17)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 26) | (t >>> 6)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 6) | (t >>> 26)) ^ x0) >>> 0);
  (x0 = (x0 + k0) >>> 0), (x1 = (x1 + k1 + 3) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 17) | (t >>> 15)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 29) | (t >>> 3)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 16) | (t >>> 16)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 24) | (t >>> 8)) ^ x0) >>> 0);
  (x0 = (x0 + k1) >>> 0), (x1 = (x1 + k2 + 4) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 13) | (t >>> 19)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 15) | (t >>> 17)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 26) | (t >>> 6)) ^ x0) >>> 0);
  (x0 = (x0 + x1) >>> 0), (t = x1), (x1 = (((t << 6) | (t >>> 26)) ^ x0) >>> 0);
  out[0] = x0 + k2;
  out[1] = x1 + k0 + 5;
}

const words = new Uint32Array(2);

/** Encrypts the counter (c0, c1) under key (k0, k1); returns two uint32 words. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  encrypt(k0 >>> 0, k1 >>> 0, (PARITY ^ k0 ^ k1) >>> 0, c0 >>> 0, c1 >>> 0, words);
  return [words[0]!, words[1]!];
}

/** The two words for element `i` of a draw starting at `counter`. */
export function randomWords(key: readonly [number, number], counter: number, i: number): [number, number] {
  const c = counter + i;
  return threefry2x32(key[0], key[1], c % TWO32 >>> 0, Math.floor(c / TWO32) >>> 0);
}

/** each(i, w0, w1) for elements 0..n-1 of a draw starting at `counter`, without allocating per element. */
export function forEachRandomWords(key: readonly [number, number], counter: number, n: number, each: (i: number, w0: number, w1: number) => void): void {
  const [k0, k1] = [key[0] >>> 0, key[1] >>> 0];
  const k2 = (PARITY ^ k0 ^ k1) >>> 0;
  for (let i = 0; i < n; i++) {
    const c = counter + i;
    encrypt(k0, k1, k2, c % TWO32 >>> 0, Math.floor(c / TWO32) >>> 0, words);
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
