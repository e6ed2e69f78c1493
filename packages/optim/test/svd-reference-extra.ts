/**
 * A float64 SVD for test references: one-sided (Hestenes) Jacobi on plain arrays. Slow and
 * obviously correct; for the small matrices the extra-rule tests use.
 */
import type { Mat } from "./extra-run.js";
import { transpose } from "./extra-run.js";

export interface Svd {
  /** m×k, orthonormal columns (k = min(m, n)). */
  u: Mat;
  /** Descending. */
  s: number[];
  /** n×k, orthonormal columns. */
  v: Mat;
}

/** Thin SVD A = U diag(s) Vᵀ by one-sided Jacobi rotations until every column pair is orthogonal. */
export function svd(a: Mat): Svd {
  const m = a.length;
  const n = a[0]!.length;
  if (m < n) {
    const t = svd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const w = a.map((r) => [...r]); // columns get orthogonalised in place
  const v: Mat = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          alpha += w[i]![p]! ** 2;
          beta += w[i]![q]! ** 2;
          gamma += w[i]![p]! * w[i]![q]!;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const x of [w, v]) {
          for (const row of x) {
            const xp = row[p]!;
            const xq = row[q]!;
            row[p] = c * xp - s * xq;
            row[q] = s * xp + c * xq;
          }
        }
      }
    }
    if (off <= 1e-15) break;
  }
  const norms = Array.from({ length: n }, (_, j) => Math.sqrt(w.reduce((acc, r) => acc + r[j]! ** 2, 0)));
  const order = norms.map((_, j) => j).sort((i, j) => norms[j]! - norms[i]!);
  return {
    s: order.map((j) => norms[j]!),
    u: w.map((r) => order.map((j) => (norms[j]! > 0 ? r[j]! / norms[j]! : 0))),
    v: v.map((r) => order.map((j) => r[j]!)),
  };
}

export const singularValues = (a: Mat): number[] => svd(a).s;
export const spectralNorm = (a: Mat): number => svd(a).s[0]!;

/** U f(Σ) Vᵀ for a map f of each singular value. */
export function mapSingular(a: Mat, f: (s: number) => number): Mat {
  const { u, s, v } = svd(a);
  return u.map((ur) => v.map((vr) => ur.reduce((acc, x, k) => acc + x * f(s[k]!) * vr[k]!, 0)));
}

/** polar(A) = UVᵀ over the nonzero singular values (those above 1e-10·σ_max; below is roundoff). */
export function polarRef(a: Mat): Mat {
  const top = svd(a).s[0]!;
  return mapSingular(a, (s) => (s > 1e-10 * top ? 1 : 0));
}
