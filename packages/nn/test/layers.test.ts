import { describe, expect, it } from "vitest";
import { Rng, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { CausalSelfAttention, Dropout, Embedding, GatedMLP, LayerNorm, Linear, MLP, RMSNorm, RoPE, ModuleList, applyLinears, functionalCall } from "@equigrad/nn";
import { valueAndGrad } from "@equigrad/autograd";
import { addRow, expectClose, f64, gelu, geluTanh, heads, ints, layerNormRow, mat, matmulT, naiveAttention, randn, rmsRow, ropeVec, silu, type Mat } from "./helpers.js";

const rng = (name: string): Rng => new Rng(11, name);
const vec = (t: Tensor): number[] => t.toArray();

describe("Linear", () => {
  it("y = x Wᵀ + b with W stored [out, in]", () =>
    tidy(() => {
      const lin = new Linear(3, 2, { rng: rng("lin"), dtype: "float64", role: "attn.q", bias: true });
      expect(lin.weight.shape).toEqual([2, 3]);
      expect(lin.bias!.role).toBe("bias");
      expect(vec(lin.bias!.value)).toEqual([0, 0]);
      const x = randn([4, 3], 1);
      expectClose(lin.forward(x), addRow(matmulT(mat(x), mat(lin.weight.value)), vec(lin.bias!.value)));
      // Batched input [B, T, in].
      const xb = randn([2, 4, 3], 2);
      const y = lin.forward(xb);
      expect(y.shape).toEqual([2, 4, 2]);
      expectClose(y.slice(1), matmulT(mat(xb.slice(1)), mat(lin.weight.value)));
    }));

  it("init: normal with the given std from its own stream", () =>
    tidy(() => {
      const w = new Linear(64, 64, { rng: rng("std"), role: "mlp.up", std: 0.5 }).weight.value.toArray();
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
      expect(Math.abs(mean)).toBeLessThan(0.03);
      expect(std).toBeGreaterThan(0.47);
      expect(std).toBeLessThan(0.53);
    }));
});

describe("applyLinears (Linears of one input as one product)", () => {
  const linears = (bias: boolean[]): Linear[] =>
    bias.map((b, i) => new Linear(24, [16, 8, 8][i]!, { rng: rng(`fused${i}`), role: "attn.q", bias: b }));
  const useAll = (ys: Tensor[], w: Tensor[]) => ys.reduce((acc, y, i) => acc.add(y.mul(w[i]!).sum()), ys[0]!.sum().mul(0));

  for (const bias of [[false, false, false], [true, true, true], [true, false, true]]) {
    it(`same outputs as apart, bit for bit, and the same gradients (bias ${bias})`, () =>
      tidy(() => {
        const ls = linears(bias);
        const x = new Rng(3).normal([2, 5, 24]);
        const fused = applyLinears(x, ls);
        const apart = ls.map((l) => l.forward(x));
        fused.forEach((y, i) => expect(Array.from(y.toArray())).toEqual(Array.from(apart[i]!.toArray())));
        // Gradients of x and of every weight and bias (the views' cotangents join into one concat).
        const w = apart.map((y, i) => new Rng(20 + i).normal(y.shape));
        const [, gf] = valueAndGrad((xx: Tensor) => useAll(applyLinears(xx, ls), w))(x);
        const [, ga] = valueAndGrad((xx: Tensor) => useAll(ls.map((l) => l.forward(xx)), w))(x);
        expectClose(gf as Tensor, vec(ga as Tensor), 1e-5);
        const box = new ModuleList(ls);
        const record = Object.fromEntries(box.namedParameters().map((p) => [p.path, p.value]));
        const gp = (fn: (xx: Tensor) => Tensor[]) =>
          valueAndGrad((p: Record<string, Tensor>) => functionalCall(box, p, () => useAll(fn(x), w)))(record)[1] as Record<string, Tensor>;
        const [pf, pa] = [gp((xx) => applyLinears(xx, ls)), gp((xx) => ls.map((l) => l.forward(xx)))];
        for (const k of Object.keys(pa)) expectClose(pf[k]!, vec(pa[k]!), 1e-5);
      }));
  }
});

describe("Embedding", () => {
  it("looks up rows for ids of any shape", () =>
    tidy(() => {
      const e = new Embedding(5, 3, { rng: rng("emb"), dtype: "float64" });
      const table = mat(e.weight.value);
      const y = e.forward(ints([4, 0, 2, 2], [2, 2]));
      expect(y.shape).toEqual([2, 2, 3]);
      expectClose(y, [table[4], table[0], table[2], table[2]] as Mat);
    }));
});

describe("norms", () => {
  it("LayerNorm matches the formula, with its affine parameters", () =>
    tidy(() => {
      const ln = new LayerNorm(4, { dtype: "float64", eps: 1e-5 });
      const x = randn([3, 4], 3);
      expectClose(ln.forward(x), mat(x).map((r) => layerNormRow(r, [1, 1, 1, 1], [0, 0, 0, 0], 1e-5)));
      const w = [0.5, 2, -1, 3];
      const b = [1, 0, -2, 0.25];
      ln.weight.value.assign(f64(w, [4]));
      ln.bias!.value.assign(f64(b, [4]));
      expectClose(ln.forward(x), mat(x).map((r) => layerNormRow(r, w, b, 1e-5)));
      expect(new LayerNorm(4, { bias: false }).bias).toBeNull();
    }));

  it("RMSNorm matches the formula", () =>
    tidy(() => {
      const n = new RMSNorm(4, { dtype: "float64", eps: 1e-6 });
      const w = [0.5, 2, -1, 3];
      n.weight.value.assign(f64(w, [4]));
      const x = randn([3, 4], 4);
      expectClose(n.forward(x), mat(x).map((r) => rmsRow(r, w, 1e-6)));
    }));
});

describe("RoPE", () => {
  it("rotates pairs (i, i + D/2) by t·θ^(-2i/D)", () =>
    tidy(() => {
      const rope = new RoPE(6, 500);
      const x = randn([2, 3, 5, 6], 5);
      const y = rope.apply(x).tolist() as number[][][][];
      const xs = x.tolist() as number[][][][];
      for (let b = 0; b < 2; b++) for (let h = 0; h < 3; h++) for (let t = 0; t < 5; t++) expectClose(y[b]![h]![t]!, ropeVec(xs[b]![h]![t]!, t, 500));
    }));

  it("scores depend only on the relative position, and norms are preserved", () =>
    tidy(() => {
      const rope = new RoPE(4);
      const q = randn([1, 1, 1, 4], 6).expand(1, 1, 8, 4);
      const k = randn([1, 1, 1, 4], 7).expand(1, 1, 8, 4);
      const rq = rope.apply(q).tolist() as number[][][][];
      const rk = rope.apply(k).tolist() as number[][][][];
      const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
      const s = (m: number, n: number): number => dot(rq[0]![0]![m]!, rk[0]![0]![n]!);
      expect(s(5, 2)).toBeCloseTo(s(3, 0), 12);
      expect(s(7, 7)).toBeCloseTo(s(0, 0), 12);
      expect(dot(rq[0]![0]![6]!, rq[0]![0]![6]!)).toBeCloseTo(dot(rq[0]![0]![0]!, rq[0]![0]![0]!), 12);
    }));

  it("computes each table once per (T, dtype) and keeps it outside every scope", () => {
    const rope = new RoPE(4);
    const [c1] = tidy(() => rope.tables(5, "float64"));
    const [c2] = tidy(() => rope.tables(5, "float64"));
    expect(c2).toBe(c1);
    expect(c1.isDisposed).toBe(false);
    expect(rope.tables(6, "float64")[0]).not.toBe(c1);
    const before = memoryStats().liveBuffers;
    tidy(() => {
      rope.apply(randn([1, 2, 5, 4]));
    });
    expect(memoryStats().liveBuffers).toBe(before);
    rope.dispose();
    expect(c1.isDisposed).toBe(true);
  });
});

/** The whole attention layer by loops on host arrays, for batch element 0. */
function attentionReference(attn: CausalSelfAttention, x: Mat, opts: { rope?: RoPE; qkNorm?: boolean } = {}): Mat {
  const proj = (l: Linear): Mat => (l.bias ? addRow(matmulT(x, mat(l.weight.value)), vec(l.bias.value)) : matmulT(x, mat(l.weight.value)));
  let q = heads(proj(attn.q), attn.nHeads);
  let k = heads(proj(attn.k), attn.nKvHeads);
  const v = heads(proj(attn.v), attn.nKvHeads);
  if (opts.qkNorm) {
    q = q.map((hs) => hs.map((h) => rmsRow(h, vec(attn.qNorm!.weight.value), attn.qNorm!.eps)));
    k = k.map((hs) => hs.map((h) => rmsRow(h, vec(attn.kNorm!.weight.value), attn.kNorm!.eps)));
  }
  if (opts.rope) {
    q = q.map((hs, t) => hs.map((h) => ropeVec(h, t, opts.rope!.theta)));
    k = k.map((hs, t) => hs.map((h) => ropeVec(h, t, opts.rope!.theta)));
  }
  const y = naiveAttention(q, k, v).map((hs) => hs.flat());
  return attn.o.bias ? addRow(matmulT(y, mat(attn.o.weight.value)), vec(attn.o.bias.value)) : matmulT(y, mat(attn.o.weight.value));
}

describe("CausalSelfAttention", () => {
  it("multi-head with biases matches a naive loop", () =>
    tidy(() => {
      const attn = new CausalSelfAttention({ rng: rng("mha"), dtype: "float64", dModel: 6, nHeads: 2, bias: true, std: 0.7 });
      for (const l of [attn.q, attn.k, attn.v, attn.o]) l.bias!.value.assign(randn([l.outFeatures], 9));
      const x = randn([2, 4, 6], 8);
      const y = attn.forward(x);
      expect(y.shape).toEqual([2, 4, 6]);
      expectClose(y.slice(0), attentionReference(attn, mat(x.slice(0))));
      expectClose(y.slice(1), attentionReference(attn, mat(x.slice(1))));
    }));

  it("grouped-query heads with RoPE match a naive loop", () =>
    tidy(() => {
      const rope = new RoPE(2, 100);
      const attn = new CausalSelfAttention({ rng: rng("gqa"), dtype: "float64", dModel: 8, nHeads: 4, nKvHeads: 2, headDim: 2, rope, std: 0.7 });
      expect(attn.k.weight.shape).toEqual([4, 8]);
      expect(attn.q.weight.shape).toEqual([8, 8]);
      const x = randn([1, 5, 8], 10);
      expectClose(attn.forward(x).slice(0), attentionReference(attn, mat(x.slice(0)), { rope }));
    }));

  it("QK-norm (per head, before RoPE) matches a naive loop", () =>
    tidy(() => {
      const rope = new RoPE(4);
      const attn = new CausalSelfAttention({ rng: rng("qkn"), dtype: "float64", dModel: 8, nHeads: 2, nKvHeads: 1, rope, qkNorm: true, std: 0.7 });
      attn.qNorm!.weight.value.assign(f64([1.5, 0.5, -1, 2], [4]));
      attn.kNorm!.weight.value.assign(f64([0.3, 1, 2, -0.5], [4]));
      const x = randn([1, 4, 8], 12);
      expectClose(attn.forward(x).slice(0), attentionReference(attn, mat(x.slice(0)), { rope, qkNorm: true }));
    }));

  it("is causal: a later token does not change earlier outputs", () =>
    tidy(() => {
      const attn = new CausalSelfAttention({ rng: rng("causal"), dtype: "float64", dModel: 4, nHeads: 2 });
      const x = randn([1, 4, 4], 13);
      const x2 = x.slice(null, [0, 3]).contiguous();
      expectClose(attn.forward(x).slice(null, [0, 3]), attn.forward(x2));
    }));

  it("records the head layout and roles of its projections", () => {
    const attn = new CausalSelfAttention({ rng: rng("meta"), dModel: 8, nHeads: 4, nKvHeads: 2, qkNorm: true });
    const meta = Object.fromEntries(attn.namedParameters().map((p) => [p.path, [p.role, p.meta.heads]]));
    expect(meta).toEqual({
      "q.weight": ["attn.q", { heads: 4, headDim: 2, kind: "q" }],
      "k.weight": ["attn.k", { heads: 2, headDim: 2, kind: "k" }],
      "v.weight": ["attn.v", { heads: 2, headDim: 2, kind: "v" }],
      "o.weight": ["attn.o", { heads: 4, headDim: 2, kind: "o" }],
      "q_norm.weight": ["norm", undefined],
      "k_norm.weight": ["norm", undefined],
    });
    expect(() => new CausalSelfAttention({ rng: rng("bad"), dModel: 8, nHeads: 3, headDim: 2, nKvHeads: 2 })).toThrow(/not a multiple/);
  });
});

describe("feed-forward", () => {
  it("MLP: down(gelu(up(x))), exact or tanh GELU, with role overrides", () =>
    tidy(() => {
      const x = randn([3, 4], 14);
      for (const [activation, f] of [["gelu", gelu], ["gelu_tanh", geluTanh]] as const) {
        const mlp = new MLP(4, 6, { rng: rng("mlp"), dtype: "float64", bias: true, activation, std: 0.8 });
        mlp.up.bias!.value.assign(randn([6], 15));
        const h = addRow(matmulT(mat(x), mat(mlp.up.weight.value)), vec(mlp.up.bias!.value)).map((r) => r.map(f));
        expectClose(mlp.forward(x), matmulT(h, mat(mlp.down.weight.value)), 1e-9);
      }
      const roles = new MLP(4, 8, { rng: rng("r"), roles: { up: "mlp.gate" } }).namedParameters().map((p) => p.role);
      expect(roles).toEqual(["mlp.gate", "mlp.down"]);
    }));

  it("SwiGLU and GeGLU: down(act(gate(x)) · up(x))", () =>
    tidy(() => {
      const x = randn([3, 4], 16);
      for (const [kind, f] of [["swiglu", silu], ["geglu", geluTanh]] as const) {
        const g = new GatedMLP(4, 5, { rng: rng(kind), dtype: "float64", kind, std: 0.8 });
        const a = matmulT(mat(x), mat(g.gate.weight.value)).map((r) => r.map(f));
        const u = matmulT(mat(x), mat(g.up.weight.value));
        const h = a.map((r, i) => r.map((v, j) => v * u[i]![j]!));
        expectClose(g.forward(x), matmulT(h, mat(g.down.weight.value)), 1e-12);
        expect(g.namedParameters().map((p) => [p.path, p.role])).toEqual([
          ["gate.weight", "mlp.gate"],
          ["up.weight", "mlp.up"],
          ["down.weight", "mlp.down"],
        ]);
      }
    }));
});

describe("Dropout", () => {
  it("is the identity in eval mode and for p = 0", () =>
    tidy(() => {
      const x = randn([10, 10], 17);
      const d = new Dropout(0.5, rng("drop"));
      d.eval();
      expect(d.forward(x)).toBe(x);
      expect(new Dropout(0, rng("zero")).forward(x)).toBe(x);
    }));

  it("zeroes about p of the elements, scales the rest by 1/(1-p), reproducibly", () =>
    tidy(() => {
      const x = randn([50, 40], 18);
      const xs = x.toArray();
      const y = new Dropout(0.25, rng("d")).forward(x).toArray();
      const zeros = y.filter((v) => v === 0).length / y.length;
      expect(zeros).toBeGreaterThan(0.2);
      expect(zeros).toBeLessThan(0.3);
      y.forEach((v, i) => v !== 0 && expect(v).toBeCloseTo(xs[i]! / 0.75, 12));
      expect(new Dropout(0.25, rng("d")).forward(x).toArray()).toEqual(y);
      // The stream moves on: a second call draws another mask.
      const d = new Dropout(0.25, rng("d"));
      expect(d.forward(x).toArray()).toEqual(y);
      expect(d.forward(x).toArray()).not.toEqual(y);
    }));
});
