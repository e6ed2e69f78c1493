import { describe, expect, it } from "vitest";
import { crossEntropy, layerNorm, logSoftmax, rmsNorm, scaledDotProductAttention, softmax, tensor, zeros, type CrossEntropyOptions } from "@equigrad/tensor";
import {
  at, expectClose, expectExact, fromFn, layouts, mk, naiveLogSumExpRows, naivePermute, naiveSoftmaxRows, randArr, randInts, T, type Arr,
} from "./helpers.js";

const TOL = { rtol: 1e-12, atol: 1e-14 };

describe("softmax / logSoftmax", () => {
  it("last axis matches a naive softmax", () => {
    const x = randArr([3, 4, 5], 1, -4, 4);
    const y = softmax(T(x));
    expect(y.shape).toEqual([3, 4, 5]);
    expectClose(y, naiveSoftmaxRows(x.data, 5), TOL);
    expectClose(T(x).softmax(-1), naiveSoftmaxRows(x.data, 5), TOL);
    expectClose(logSoftmax(T(x)), x.data.map((v, i) => v - naiveLogSumExpRows(x.data, 5)[Math.floor(i / 5)]!), TOL);
  });

  it("other axes (positive and negative)", () => {
    const x = randArr([3, 4, 5], 2, -4, 4);
    for (const [axis, perm] of [[0, [1, 2, 0]], [1, [0, 2, 1]], [-2, [0, 2, 1]], [-3, [1, 2, 0]]] as const) {
      // Move the axis last, softmax rows, move back.
      const moved = naivePermute(x, perm);
      const sm: Arr = { shape: moved.shape, data: naiveSoftmaxRows(moved.data, moved.shape[2]!) };
      const inv = perm.map((_, i) => perm.indexOf(i as never));
      expectClose(softmax(T(x), axis), naivePermute(sm, inv).data, TOL);
      const ls: Arr = { shape: moved.shape, data: sm.data.map(Math.log) };
      expectClose(T(x).logSoftmax(axis), naivePermute(ls, inv).data, { rtol: 1e-11, atol: 1e-13 });
    }
  });

  it("hand values and stability with large / -inf logits", () => {
    expectClose(softmax(tensor([0, Math.log(3)], { dtype: "float64" })), [0.25, 0.75], TOL);
    expectClose(softmax(tensor([1000, 1000, 1000, 1000], { dtype: "float64" })), [0.25, 0.25, 0.25, 0.25], TOL);
    expectClose(softmax(tensor([1001, 1000], { dtype: "float64" })), [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1))], TOL);
    expectClose(softmax(tensor([-1000, 0], { dtype: "float64" })), [0, 1], TOL);
    expectExact(softmax(tensor([-Infinity, 0, -Infinity], { dtype: "float64" })), [0, 1, 0]);
    expectClose(logSoftmax(tensor([1000, 1000], { dtype: "float64" })), [-Math.LN2, -Math.LN2], TOL);
    expectClose(logSoftmax(tensor([-Infinity, 0, 0], { dtype: "float64" })), [-Infinity, -Math.LN2, -Math.LN2], TOL);
    expectClose(logSoftmax(tensor([0, 2000], { dtype: "float64" })), [-2000, 0], TOL);
  });

  it("dtypes, non-contiguous input and empty axes", () => {
    const x = randArr([4, 3], 3, -2, 2, true);
    const y = softmax(T(x, "float32"));
    expect(y.dtype).toBe("float32");
    expectClose(y, naiveSoftmaxRows(x.data, 3), { rtol: 1e-6, atol: 1e-7 });
    expect(softmax(mk([1, 2], [2], "int32")).dtype).toBe("float32");
    for (const { t } of layouts(x)) expectClose(softmax(t, 1), naiveSoftmaxRows(x.data, 3), TOL);
    expect(softmax(zeros([2, 0])).shape).toEqual([2, 0]);
    expect(logSoftmax(zeros([2, 0])).shape).toEqual([2, 0]);
  });
});

/** torch.nn.functional.cross_entropy on [N, C] logits, in float64. */
function naiveCrossEntropy(logits: number[], targets: number[], c: number, opts: Required<CrossEntropyOptions>): number[] {
  const losses: number[] = [];
  let total = 0;
  let count = 0;
  targets.forEach((t, i) => {
    if (t === opts.ignoreIndex) return losses.push(0);
    const row = logits.slice(i * c, i * c + c);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const l = lse - row[t]!;
    losses.push(l);
    total += l;
    count++;
  });
  if (opts.reduction === "none") return losses;
  return [opts.reduction === "sum" ? total : total / count];
}

describe("crossEntropy", () => {
  it("hand values", () => {
    expectClose(crossEntropy(tensor([[0, 0]], { dtype: "float64" }), mk([0], [1], "int32")), [Math.LN2], TOL);
    const l = crossEntropy(tensor([[0, Math.log(3)], [0, Math.log(3)]], { dtype: "float64" }), mk([1, 0], [2], "int32"), { reduction: "none" });
    expectClose(l, [-Math.log(0.75), -Math.log(0.25)], TOL);
  });

  for (const reduction of ["mean", "sum", "none"] as const) {
    for (const ignoreIndex of [-100, 2]) {
      it(`reduction=${reduction} ignoreIndex=${ignoreIndex} against a naive loop`, () => {
        const n = 7, c = 5;
        const logits = randArr([n, c], 5, -3, 3);
        // Two targets equal ignoreIndex; with ignoreIndex 2, class 2 is ignored wherever it appears.
        const targets = ignoreIndex === -100 ? [0, 4, -100, 2, 2, 1, -100] : [0, 4, 3, 2, 2, 1, 0];
        const y = crossEntropy(T(logits), mk(targets, [n], "int32"), { reduction, ignoreIndex });
        const want = naiveCrossEntropy(logits.data, targets, c, { reduction, ignoreIndex });
        expect(y.shape).toEqual(reduction === "none" ? [n] : []);
        expectClose(y, want, TOL);
      });
    }
  }

  it("[B, T, C] logits with [B, T] targets", () => {
    const logits = randArr([2, 3, 4], 8, -2, 2);
    const targets = randInts([2, 3], 9, 0, 4);
    targets.data[4] = -100;
    for (const reduction of ["mean", "sum", "none"] as const) {
      const y = crossEntropy(T(logits), T(targets, "int32"), { reduction });
      expect(y.shape).toEqual(reduction === "none" ? [2, 3] : []);
      expectClose(y, naiveCrossEntropy(logits.data, targets.data, 4, { reduction, ignoreIndex: -100 }), TOL);
    }
  });

  it("all targets ignored: mean is NaN, sum is 0; large logits are stable", () => {
    const logits = tensor([[1, 2], [3, 4]], { dtype: "float64" });
    const ign = mk([-100, -100], [2], "int32");
    expectExact(crossEntropy(logits, ign), [NaN]);
    expectExact(crossEntropy(logits, ign, { reduction: "sum" }), [0]);
    expectExact(crossEntropy(logits, ign, { reduction: "none" }), [0, 0]);
    const big = tensor([[1000, 0, -1000], [5000, 5001, 4999]], { dtype: "float64" });
    const want = naiveCrossEntropy([1000, 0, -1000, 5000, 5001, 4999], [1, 2], 3, { reduction: "none", ignoreIndex: -100 });
    expectClose(crossEntropy(big, mk([1, 2], [2], "int32"), { reduction: "none" }), want, TOL);
  });

  it("float32 logits give float32 loss", () => {
    const logits = randArr([3, 4], 10, -2, 2, true);
    const y = crossEntropy(T(logits, "float32"), mk([0, 1, 3], [3], "int32"));
    expect(y.dtype).toBe("float32");
    expectClose(y, naiveCrossEntropy(logits.data, [0, 1, 3], 4, { reduction: "mean", ignoreIndex: -100 }), { rtol: 1e-6 });
  });
});

/** (x - mean) / sqrt(var + eps) over the trailing `n` dims, then · w + b (both flat over those dims). */
function naiveLayerNorm(x: Arr, n: number, w?: number[], b?: number[], eps = 1e-5, rms = false): number[] {
  const inner = x.shape.slice(-n).reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let r = 0; r < x.data.length / inner; r++) {
    const row = x.data.slice(r * inner, r * inner + inner);
    const mu = rms ? 0 : row.reduce((s, v) => s + v, 0) / inner;
    const v2 = row.reduce((s, v) => s + (v - mu) ** 2, 0) / inner;
    row.forEach((v, j) => out.push(((v - mu) / Math.sqrt(v2 + eps)) * (w ? w[j]! : 1) + (b ? b[j]! : 0)));
  }
  return out;
}

describe("layerNorm / rmsNorm", () => {
  const x = randArr([2, 3, 4], 20, -3, 5);
  const w = randArr([4], 21, 0.5, 1.5);
  const b = randArr([4], 22);

  it("layerNorm over the last dim, with and without affine", () => {
    expectClose(layerNorm(T(x)), naiveLayerNorm(x, 1), TOL);
    expectClose(layerNorm(T(x), T(w)), naiveLayerNorm(x, 1, w.data), TOL);
    expectClose(layerNorm(T(x), T(w), T(b)), naiveLayerNorm(x, 1, w.data, b.data), TOL);
    expectClose(layerNorm(T(x), T(w), T(b), 0.5), naiveLayerNorm(x, 1, w.data, b.data, 0.5), TOL);
  });

  it("layerNorm over the trailing dims a 2-D weight covers", () => {
    const w2 = randArr([3, 4], 23, 0.5, 1.5);
    const b2 = randArr([3, 4], 24);
    expectClose(layerNorm(T(x), T(w2), T(b2)), naiveLayerNorm(x, 2, w2.data, b2.data), TOL);
  });

  it("layerNorm output has zero mean and unit variance per row (eps 0)", () => {
    const y = layerNorm(T(x), undefined, undefined, 0);
    expectClose(y.mean(-1), new Array(6).fill(0), { atol: 1e-14 });
    expectClose(y.square().mean(-1), new Array(6).fill(1), { rtol: 1e-13 });
    expectClose(layerNorm(tensor([1, 2, 3], { dtype: "float64" }), undefined, undefined, 0), [-Math.sqrt(1.5), 0, Math.sqrt(1.5)], TOL);
  });

  it("rmsNorm", () => {
    expectClose(rmsNorm(T(x)), naiveLayerNorm(x, 1, undefined, undefined, 1e-6, true), TOL);
    expectClose(rmsNorm(T(x), T(w)), naiveLayerNorm(x, 1, w.data, undefined, 1e-6, true), TOL);
    expectClose(rmsNorm(T(x), T(w), 0.1), naiveLayerNorm(x, 1, w.data, undefined, 0.1, true), TOL);
    expectClose(rmsNorm(tensor([3, 4], { dtype: "float64" }), undefined, 0), [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)], TOL);
  });

  it("non-contiguous input", () => {
    const y = randArr([4, 5], 25);
    for (const { t } of layouts(y)) {
      expectClose(layerNorm(t), naiveLayerNorm(y, 1), TOL);
      expectClose(rmsNorm(t), naiveLayerNorm(y, 1, undefined, undefined, 1e-6, true), TOL);
    }
  });
});

/**
 * Naive attention: query head h reads kv head ⌊h / (Hq/Hkv)⌋; with `causal`, query i sits at
 * position Tk - Tq + i and sees keys j ≤ that position.
 */
function naiveAttention(q: Arr, k: Arr, v: Arr, causal: boolean, scale?: number): Arr {
  const [B, Hq, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number, number];
  const Dv = v.shape[3]!;
  const s = scale ?? 1 / Math.sqrt(D);
  const group = Hq / Hkv;
  const out = fromFn([B, Hq, Tq, Dv], () => 0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const scores: number[] = [];
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(q, [b, h, i, d]) * at(k, [b, g, j, d]);
          scores.push(causal && j > Tk - Tq + i ? -Infinity : dot * s);
        }
        const p = naiveSoftmaxRows(scores, Tk);
        for (let e = 0; e < Dv; e++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += p[j]! * at(v, [b, g, j, e]);
          out.data[((b * Hq + h) * Tq + i) * Dv + e] = acc;
        }
      }
    }
  }
  return out;
}

describe("scaledDotProductAttention", () => {
  const configs: { name: string; B: number; Hq: number; Hkv: number; Tq: number; Tk: number; D: number; Dv: number; causal: boolean; scale?: number }[] = [
    { name: "MHA causal", B: 2, Hq: 2, Hkv: 2, Tq: 5, Tk: 5, D: 4, Dv: 4, causal: true },
    { name: "MHA non-causal", B: 1, Hq: 3, Hkv: 3, Tq: 4, Tk: 6, D: 3, Dv: 3, causal: false },
    { name: "GQA 4:2 causal", B: 2, Hq: 4, Hkv: 2, Tq: 4, Tk: 4, D: 3, Dv: 3, causal: true },
    { name: "MQA 3:1 causal with explicit scale", B: 1, Hq: 3, Hkv: 1, Tq: 3, Tk: 3, D: 2, Dv: 5, causal: true, scale: 0.7 },
    { name: "GQA 6:2 causal, fewer queries than keys (KV cache)", B: 1, Hq: 6, Hkv: 2, Tq: 2, Tk: 5, D: 4, Dv: 2, causal: true },
    { name: "GQA non-causal", B: 2, Hq: 4, Hkv: 1, Tq: 3, Tk: 2, D: 2, Dv: 3, causal: false },
  ];
  for (const c of configs) {
    it(`${c.name} matches a naive loop`, () => {
      const q = randArr([c.B, c.Hq, c.Tq, c.D], 100 + c.Hq, -1.5, 1.5);
      const k = randArr([c.B, c.Hkv, c.Tk, c.D], 200 + c.Hkv, -1.5, 1.5);
      const v = randArr([c.B, c.Hkv, c.Tk, c.Dv], 300 + c.Dv);
      const opts = c.scale === undefined ? { causal: c.causal } : { causal: c.causal, scale: c.scale };
      const y = scaledDotProductAttention(T(q), T(k), T(v), opts);
      const e = naiveAttention(q, k, v, c.causal, c.scale);
      expect(y.shape).toEqual(e.shape);
      expectClose(y, e.data, TOL);
    });
  }

  it("causal is the default; the first query sees only the first key", () => {
    const q = randArr([1, 1, 3, 2], 1);
    const k = randArr([1, 1, 3, 2], 2);
    const v = randArr([1, 1, 3, 2], 3);
    const y = scaledDotProductAttention(T(q), T(k), T(v));
    expectClose(y, naiveAttention(q, k, v, true).data, TOL);
    expectClose(y.slice(0, 0, 0), v.data.slice(0, 2), TOL);
  });

  it("kv heads are shared by consecutive query heads (GQA head mapping)", () => {
    // Distinct kv heads with constant values: query head h must return kv head ⌊h/2⌋'s value.
    const q = randArr([1, 4, 2, 2], 5);
    const k = randArr([1, 2, 2, 2], 6);
    const v = fromFn([1, 2, 2, 3], ([, g]) => 10 * (g! + 1));
    const y = scaledDotProductAttention(T(q), T(k), T(v), { causal: false });
    expectClose(y, fromFn([1, 4, 2, 3], ([, h]) => 10 * (Math.floor(h! / 2) + 1)).data, TOL);
  });

  it("non-contiguous q / k / v (transposed from [B, T, H, D])", () => {
    const qs = randArr([1, 3, 2, 4], 7); // [B, T, H, D]
    const ks = randArr([1, 3, 1, 4], 8);
    const vs = randArr([1, 3, 1, 4], 9);
    const y = scaledDotProductAttention(T(qs).transpose(1, 2), T(ks).transpose(1, 2), T(vs).transpose(1, 2));
    const e = naiveAttention(naivePermute(qs, [0, 2, 1, 3]), naivePermute(ks, [0, 2, 1, 3]), naivePermute(vs, [0, 2, 1, 3]), true);
    expectClose(y, e.data, TOL);
  });
});
