import { describe, expect, it, vi } from "vitest";
import { tensor } from "@equigrad/tensor";
import { ROOT_DEFAULTS, root, slotsOf } from "@equigrad/optim";
import { absQuantile } from "../src/rules/quantile.js";
import { expectClose, f64, param } from "./helpers.js";
import { flat, frob, mat, matmul, noise, run, scale, transpose, type Mat } from "./extra-run.js";

/** torch.quantile(|x|, q) (linear interpolation) by sorting. */
function quantileRef(x: readonly number[], q: number): number {
  const a = x.map(Math.abs).sort((p, r) => p - r);
  const pos = q * (a.length - 1);
  const k = Math.floor(pos);
  const f = pos - k;
  return f === 0 ? a[k]! : a[k]! + f * (a[k + 1]! - a[k]!);
}

/** NS with one (a, b, c) for every step, in float64. */
function nsRef(g: Mat, [a, b, c]: readonly [number, number, number], steps = 5): Mat {
  const tall = g.length > g[0]!.length;
  let x = scale(tall ? transpose(g) : g, 1 / (frob(g) + 1e-7));
  for (let k = 0; k < steps; k++) {
    const A = matmul(x, transpose(x));
    const AA = matmul(A, A);
    const B = A.map((r, i) => r.map((v, j) => b * v + c * AA[i]![j]!));
    const BX = matmul(B, x);
    x = x.map((r, i) => r.map((v, j) => a * v + BX[i]![j]!));
  }
  return tall ? transpose(x) : x;
}

const KELLER = [3.4445, -4.775, 2.0315] as const;

/** ROOT by hand in float64 (example_train.py). */
function handRoot(w0: Mat, grads: Mat[], o: { lr: number; wd: number; mu: number; nesterov: boolean; q: number; abc: readonly [number, number, number] }): { w: Mat; buf: Mat } {
  let w = w0;
  let buf = w0.map((r) => r.map(() => 0));
  const [m, n] = [w0.length, w0[0]!.length];
  for (const g of grads) {
    buf = buf.map((r, i) => r.map((x, j) => x * o.mu + g[i]![j]!));
    const v = o.nesterov ? g.map((r, i) => r.map((x, j) => x + buf[i]![j]! * o.mu)) : buf;
    const tau = quantileRef(flat(v), o.q) + 1e-9;
    const b = v.map((r) => r.map((x) => x - Math.sign(x) * Math.max(Math.abs(x) - tau, 0)));
    const X = nsRef(b, o.abc);
    const s = 0.2 * Math.sqrt(Math.max(m, n));
    w = w.map((r, i) => r.map((x, j) => x * (1 - o.lr * o.wd) - o.lr * s * X[i]![j]!));
  }
  return { w, buf };
}

describe("ROOT's per-matrix quantile (tensor ops only)", () => {
  it("equals torch.quantile's linear interpolation of the sorted |x|, per matrix of a batch", () => {
    for (const [m, n, q] of [[10, 10, 0.9], [7, 3, 0.9], [5, 8, 0.5], [4, 4, 1], [3, 7, 0]] as const) {
      const x = noise(m * n, m * 100 + n).map((v) => v * 3);
      expectClose(absQuantile(f64(x, [m, n]), q), [quantileRef(x, q)], 0, 0);
    }
    // Ties and zeros; a heavy outlier (a_k ≪ max).
    const ties = [0, 0, 1, 1, 1, -1, 2, 2, -2, 5, 5, 0];
    expectClose(absQuantile(f64(ties, [3, 4]), 0.9), [quantileRef(ties, 0.9)], 0, 0);
    const spike = noise(30, 3).map((v, i) => (i === 4 ? 1e6 : v));
    expectClose(absQuantile(f64(spike, [5, 6]), 0.9), [quantileRef(spike, 0.9)], 1e-15, 0);
    expectClose(absQuantile(f64(new Array(6).fill(0), [2, 3]), 0.9), [0], 0, 0);
    // float32 (40 halvings): the order statistic exactly (q·(N−1) = 18 is whole), the interpolation to one ulp.
    const x32 = noise(21, 8).map(Math.fround);
    const t32 = (d: number[], shape: number[]) => tensor(Float32Array.from(d), { shape, dtype: "float32" });
    expect(absQuantile(t32(x32, [3, 7]), 0.9).item()).toBe(quantileRef(x32, 0.9));
    const y32 = noise(40, 9).map(Math.fround);
    expect(Math.abs(absQuantile(t32(y32, [5, 8]), 0.9).item() - quantileRef(y32, 0.9))).toBeLessThan(1.2e-7);
    const a = noise(12, 5);
    const b = noise(12, 6).map((v) => v * 10);
    expectClose(absQuantile(f64([...a, ...b], [2, 3, 4]), 0.9), [quantileRef(a, 0.9), quantileRef(b, 0.9)], 0, 0);
  });
});

describe("ROOT (float64)", () => {
  it("T20: v − softthresh_τ(v) == clamp(v, −τ, τ) and 10% (±1) of the entries exceed τ", () => {
    const v = noise(100, 21).map((x, i) => x * (1 + (i % 7)));
    const tau = absQuantile(f64(v, [10, 10]), 0.9).item() + 1e-9;
    const soft = v.map((x) => Math.sign(x) * Math.max(Math.abs(x) - tau, 0));
    v.forEach((x, i) => expect(Math.abs(x - soft[i]! - Math.min(Math.max(x, -tau), tau))).toBeLessThanOrEqual(1e-15 * Math.abs(x)));
    const over = v.filter((x) => Math.abs(x) > tau).length;
    expect(Math.abs(over - 10)).toBeLessThanOrEqual(1);
    // A 7×9 matrix: 63 entries, 0.9·62 = 55.8 → 7 entries above (6.3 ± 1).
    const w = noise(63, 22);
    const t2 = absQuantile(f64(w, [7, 9]), 0.9).item() + 1e-9;
    expect(Math.abs(w.filter((x) => Math.abs(x) > t2).length - 6.3)).toBeLessThanOrEqual(1);
  });

  it("4 steps with Nesterov, decay and the 0.2·√max(m, n) scale match the formula by hand", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const w0 = mat(noise(15, 30), 3, 5);
    const gs = [0, 1, 2, 3].map((t) => mat(noise(15, 31 + t).map((x, i) => (i === 2 * t ? 40 * x : x)), 3, 5)); // one outlier per step
    const o = { lr: 0.02, wd: 0.1, mu: 0.95, nesterov: true, q: 0.9, abc: KELLER };
    const want = handRoot(w0, gs, o);
    // Default coefficients "root": 3×5 is not in the table, so Keller's triple (with a warning).
    const { params, state } = run(root({ lr: 0.02 }), [param("w", "mlp.up", flat(w0), [3, 5])], gs.map((g) => ({ w: flat(g) })));
    expectClose(params[0]!.value, flat(want.w), 1e-11, 1e-14);
    expectClose(slotsOf("root", state, "w").momentum_buffer!, flat(want.buf), 1e-14, 1e-16);
    // The per-shape table was consulted (3×5 is not in it).
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/ROOT has no coefficients for shape 3x5/));
    warn.mockRestore();
    // Explicit triples, plain momentum, tall matrix.
    const abc = [3.4916, -4.8224, 2.1095] as const;
    const w1 = mat(noise(10, 40), 5, 2);
    const g1 = [0, 1, 2].map((t) => mat(noise(10, 41 + t), 5, 2));
    const want1 = handRoot(w1, g1, { ...o, nesterov: false, wd: 0, abc });
    const got1 = run(root({ lr: 0.02, weightDecay: 0, nesterov: false, coefficients: [abc] }), [param("w", "mlp.down", flat(w1), [5, 2])], g1.map((g) => ({ w: flat(g) })));
    expectClose(got1.params[0]!.value, flat(want1.w), 1e-11, 1e-14);
  });

  it("negative control: the clipping matters (quantile 1 keeps the outlier and gives another step)", () => {
    const g = noise(12, 50).map((x, i) => (i === 3 ? 100 : x));
    const step = (q: number) => run(root({ lr: 0.1, weightDecay: 0, quantile: q, coefficients: "keller" }), [param("w", "attn.q", new Array(12).fill(0), [3, 4])], [{ w: g }]).updates[0]!.w!;
    const clipped = step(0.9);
    const unclipped = step(1);
    const diff = Math.max(...clipped.map((x, i) => Math.abs(x - unclipped[i]!)));
    expect(diff).toBeGreaterThan(1e-2);
  });

  it("experts [E, m, n]: each slice has its own τ and polar factor", () => {
    const a = noise(12, 60);
    const b = noise(12, 61).map((x) => x * 50);
    const opt = () => root({ lr: 0.1, weightDecay: 0, coefficients: "keller" });
    const both = run(opt(), [param("e", "moe.expert.up", new Array(24).fill(0), [2, 3, 4])], [{ e: [...a, ...b] }]).updates[0]!.e!;
    const one = (x: number[]) => run(opt(), [param("w", "mlp.up", new Array(12).fill(0), [3, 4])], [{ w: x }]).updates[0]!.w!;
    expectClose(both, [...one(a), ...one(b)], 1e-13, 1e-16);
  });

  it("defaults and bad input", () => {
    expect(ROOT_DEFAULTS).toMatchObject({ lr: 1e-3, weightDecay: 0.1, momentum: 0.95, nesterov: true, nsSteps: 5, quantile: 0.9, tauEps: 1e-9 });
    expect(() => root({ scale: "huge" })).toThrow(/root: 'scale' must be one of "moonshot", "keller", "none"/);
    expect(() => root({ coefficients: "fast" })).toThrow(/root: coefficients must be/);
    expect(() => root({ quantile: 0 })).toThrow(/quantile must be in \(0, 1\]/);
    expect(() => root().init([param("b", "bias", [1, 2])])).toThrow(/root: takes matrices .* 'b' has shape \[2\]/);
  });
});
