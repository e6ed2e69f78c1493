/**
 * An independent float64 linear-algebra reference in plain JS (no tensors), for tests only:
 * seeded Gaussians, Haar orthogonal matrices, permutations, one-sided Jacobi SVD, Jacobi
 * symmetric eigendecomposition, and from them polar, nuclear norm and inverse square root.
 */
import { tensor, type Tensor } from "@equigrad/tensor";

export type Mat = number[][];

/** mulberry32 + Box–Muller: deterministic Gaussians independent of the tensor RNG. */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uni = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = Math.max(uni(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uni());
  };
}

export const zerosMat = (m: number, n: number): Mat => Array.from({ length: m }, () => new Array<number>(n).fill(0));
export const randMat = (m: number, n: number, seed: number, scale = 1): Mat => {
  const g = gaussian(seed);
  return Array.from({ length: m }, () => Array.from({ length: n }, () => scale * g()));
};
export const identity = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
export const transpose = (a: Mat): Mat => a[0]!.map((_, j) => a.map((r) => r[j]!));
export function matmul(a: Mat, b: Mat): Mat {
  const n = b[0]!.length;
  return a.map((r) => {
    const out = new Array<number>(n).fill(0);
    r.forEach((x, k) => {
      const bk = b[k]!;
      for (let j = 0; j < n; j++) out[j] += x * bk[j]!;
    });
    return out;
  });
}
export const add = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((x, j) => x + b[i]![j]!));
export const sub = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((x, j) => x - b[i]![j]!));
export const scale = (a: Mat, s: number): Mat => a.map((r) => r.map((x) => x * s));
export const frob = (a: Mat): number => Math.sqrt(a.flat().reduce((s, x) => s + x * x, 0));
export const maxAbsDiff = (a: Mat, b: Mat): number => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i]![j]!))));
export const outer = (a: number[], b: number[]): Mat => a.map((x) => b.map((y) => x * y));
export const colSums = (a: Mat): number[] => a[0]!.map((_, j) => a.reduce((s, r) => s + r[j]!, 0));

/** Haar-distributed orthogonal n×n: Gram–Schmidt (twice) of a Gaussian, i.e. QR with R's diagonal positive. */
export function haar(n: number, seed: number): Mat {
  const cols = transpose(randMat(n, n, seed));
  const q: number[][] = [];
  for (const c of cols) {
    let v = [...c];
    for (let pass = 0; pass < 2; pass++) {
      for (const u of q) {
        const d = u.reduce((s, x, i) => s + x * v[i]!, 0);
        v = v.map((x, i) => x - d * u[i]!);
      }
    }
    const nv = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    q.push(v.map((x) => x / nv));
  }
  return transpose(q);
}

/** A random permutation matrix (Fisher–Yates from the seed). */
export function permutation(n: number, seed: number): Mat {
  const g = gaussian(seed);
  const idx = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(((Math.atan(g()) / Math.PI + 0.5) * (i + 1)) % (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.map((k) => Array.from({ length: n }, (_, j) => (j === k ? 1 : 0)));
}

/** Thin SVD A = U diag(s) Vᵀ by one-sided Jacobi (Hestenes) on the columns; s descending. */
export function svd(a: Mat): { u: Mat; s: number[]; v: Mat } {
  const m = a.length;
  const n = a[0]!.length;
  if (m < n) {
    const t = svd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const w = transpose(a); // columns of A as rows
  const v = identity(n); // rows: columns of V
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const wp = w[p]!;
        const wq = w[q]!;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += wp[i]! * wp[i]!;
          beta += wq[i]! * wq[i]!;
          gamma += wp[i]! * wq[i]!;
        }
        if (Math.abs(gamma) <= 1e-300 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = wp[i]!;
          const y = wq[i]!;
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        const vp = v[p]!;
        const vq = v[q]!;
        for (let i = 0; i < n; i++) {
          const x = vp[i]!;
          const y = vq[i]!;
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const s = w.map((c) => Math.sqrt(c.reduce((acc, x) => acc + x * x, 0)));
  const order = [...s.keys()].sort((i, j) => s[j]! - s[i]!);
  const smax = Math.max(...s);
  const uCols = order.map((k) => (s[k]! > 1e-13 * smax ? w[k]!.map((x) => x / s[k]!) : w[k]!.map(() => 0)));
  return { u: transpose(uCols), s: order.map((k) => s[k]!), v: transpose(order.map((k) => v[k]!)) };
}

export const singularValues = (a: Mat): number[] => svd(a).s;
export const nuclearNorm = (a: Mat): number => svd(a).s.reduce((x, y) => x + y, 0);

/** U f(Σ) Vᵀ over singular values above `tol`·σ_max (zero singular values stay zero). */
export function spectralMap(a: Mat, f: (s: number) => number, tol = 1e-10): Mat {
  const { u, s, v } = svd(a);
  const smax = s[0]!;
  const keep = s.map((x) => x > tol * smax);
  const us = u.map((r) => r.map((x, k) => (keep[k] ? x * f(s[k]!) : 0)));
  return matmul(us, transpose(v));
}

/** polar(A) = UVᵀ (thin SVD, nonzero singular values only). */
export const polar = (a: Mat): Mat => spectralMap(a, () => 1);

/** Symmetric eigendecomposition A = V diag(w) Vᵀ by cyclic Jacobi rotations. */
export function eigh(a0: Mat): { w: number[]; v: Mat } {
  const n = a0.length;
  const a = a0.map((r) => [...r]);
  const v = identity(n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-30 * Math.max(1e-300, a.reduce((s, r, i) => s + r[i]! ** 2, 0))) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (apq === 0) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { w: a.map((r, i) => r[i]!), v };
}

/** A^{-1/2} for SPD A via eigh. */
export function invSqrt(a: Mat): Mat {
  const { w, v } = eigh(a);
  const vs = v.map((r) => r.map((x, k) => x / Math.sqrt(w[k]!)));
  return matmul(vs, transpose(v));
}

/** Spectral norm ‖A‖₂. */
export const spectralNorm = (a: Mat): number => svd(a).s[0]!;

/** rownorm(A)_i = A_i / (‖A_i‖ + ε). */
export const rownorm = (a: Mat, eps = 1e-8): Mat => a.map((r) => {
  const n = Math.sqrt(r.reduce((s, x) => s + x * x, 0));
  return r.map((x) => x / (n + eps));
});

/** Π⊥A: subtract the mean row. */
export const center = (a: Mat): Mat => {
  const mean = colSums(a).map((s) => s / a.length);
  return a.map((r) => r.map((x, j) => x - mean[j]!));
};

/** Conversions between tensors and reference matrices. */
export const toTensor = (a: Mat): Tensor => tensor(Float64Array.from(a.flat()), { shape: [a.length, a[0]!.length], dtype: "float64" });
export const stackTensor = (as: Mat[]): Tensor => tensor(Float64Array.from(as.flatMap((a) => a.flat())), { shape: [as.length, as[0]!.length, as[0]![0]!.length], dtype: "float64" });
export function toMat(t: Tensor): Mat {
  if (t.ndim !== 2) throw new Error(`toMat: expected 2-D, got [${t.shape.join(", ")}]`);
  const [m, n] = t.shape as [number, number];
  const d = t.toArray();
  return Array.from({ length: m }, (_, i) => d.slice(i * n, (i + 1) * n));
}
export function toMats(t: Tensor): Mat[] {
  const [e, m, n] = t.shape as [number, number, number];
  const d = t.toArray();
  return Array.from({ length: e }, (_, k) => Array.from({ length: m }, (_, i) => d.slice(k * m * n + i * n, k * m * n + (i + 1) * n)));
}

/** The scalar map of NS steps x ↦ a x + b x³ + c x⁵, composed over `triples`. */
export const nsScalar = (triples: readonly (readonly [number, number, number])[], x: number): number =>
  triples.reduce((y, [a, b, c]) => a * y + b * y ** 3 + c * y ** 5, x);
