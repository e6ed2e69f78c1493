import { describe, expect, it } from "vitest";
import {
  DECOMPOSITIONS, Rng, WasmBackend, currentBackendName, fused, profile, registerBackend, scaledDotProductAttention, tidy, withBackend, type Tensor,
} from "@equigrad/tensor";

// The fused attention primitives (forward and VJP) against their decompositions, on the
// project's backend: the reference backend runs float64 kernels, the wasm backend its
// flash-attention kernels for float32 (anything else decomposes there).

interface Case {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  Dv: number;
  causal: boolean;
  scale?: number;
}

const c = (name: string, B: number, Hq: number, Hkv: number, Tq: number, Tk: number, D: number, Dv: number, causal: boolean, scale?: number): Case =>
  scale === undefined ? { name, B, Hq, Hkv, Tq, Tk, D, Dv, causal } : { name, B, Hq, Hkv, Tq, Tk, D, Dv, causal, scale };

const CASES: Case[] = [
  c("T=1 D=8 causal", 2, 2, 2, 1, 1, 8, 8, true),
  c("T=3 D=24 causal", 1, 2, 2, 3, 3, 24, 24, true),
  c("T=17 D=64 causal", 2, 2, 2, 17, 17, 64, 64, true),
  c("T=65 D=24 causal", 1, 2, 2, 65, 65, 24, 24, true),
  c("T=65 D=64 causal", 1, 1, 1, 65, 65, 64, 64, true),
  c("T=17 D=8 non-causal", 2, 2, 2, 17, 17, 8, 8, false),
  c("T=65 D=64 non-causal", 1, 2, 2, 65, 65, 64, 64, false),
  c("GQA Hq=4 Hkv=2 T=17 D=24 causal", 2, 4, 2, 17, 17, 24, 24, true),
  c("GQA Hq=4 Hkv=2 T=65 D=8 non-causal", 1, 4, 2, 65, 65, 8, 8, false),
  c("Tq=3 < Tk=17 causal (KV cache)", 1, 4, 2, 3, 17, 24, 24, true),
  c("Tq=17 < Tk=65 causal", 1, 2, 1, 17, 65, 8, 8, true),
  c("Tq=1 < Tk=65 causal", 2, 2, 2, 1, 65, 64, 64, true),
  c("Tq=17 < Tk=65 non-causal", 1, 2, 2, 17, 65, 24, 24, false),
  c("Dv=5 != D=3, custom scale", 1, 3, 1, 17, 17, 3, 5, true, 0.7),
  c("Dv=24 != D=8 non-causal", 1, 2, 2, 17, 3, 8, 24, false),
];

const TOL = { float32: 2e-5, float64: 1e-12 } as const;

function inputs(k: Case, dtype: "float32" | "float64", seed: number): Tensor[] {
  const r = new Rng(seed);
  return [
    r.normal([k.B, k.Hq, k.Tq, k.D], 0, 1, dtype),
    r.normal([k.B, k.Hkv, k.Tk, k.D], 0, 1, dtype),
    r.normal([k.B, k.Hkv, k.Tk, k.Dv], 0, 1, dtype),
    r.normal([k.B, k.Hq, k.Tq, k.Dv], 0, 1, dtype),
  ];
}

function expectNear(got: Tensor, want: Tensor, tol: number, what: string): void {
  expect(got.shape).toEqual(want.shape);
  const g = got.toArray(), w = want.toArray();
  // Relative to the tensor's scale: sums of products cancel, so single elements can be tiny.
  const scale = Math.max(1, ...w.map(Math.abs));
  let worst = 0, at = -1;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs(g[i]! - w[i]!);
    if (!(e <= worst)) (worst = e), (at = i);
  }
  if (!(worst <= tol * scale)) expect.fail(`${what}: element ${at} is ${g[at]}, expected ${w[at]} (|error| ${worst} > ${tol} × ${scale})`);
}

/** Whether fn ran the named primitive (rather than only its decomposition). */
function ran<T>(op: string, fn: () => T): [T, boolean] {
  const [out, table] = profile(fn);
  return [out, table.some((e) => e.op === op)];
}

const onWasm = () => currentBackendName() === "wasm";

describe("fused attention matches its decomposition", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const k of CASES) {
      it(`${dtype} ${k.name}`, () => {
        tidy(() => {
          const [q, kk, v, dOut] = inputs(k, dtype, 11) as [Tensor, Tensor, Tensor, Tensor];
          const call = { op: "attention", causal: k.causal, scale: k.scale ?? 1 / Math.sqrt(k.D) } as const;
          const gradCall = { ...call, op: "attention_grad" } as const;
          const [y, fwdFused] = ran("attention", () => fused(call, q, kk, v));
          const [packed, bwdFused] = ran("attention_grad", () => fused(gradCall, q, kk, v, y, dOut));
          // The reference backend fuses everything; the wasm backend float32 only.
          const expectFused = !onWasm() || dtype === "float32";
          expect(fwdFused, "forward fused").toBe(expectFused);
          expect(bwdFused, "backward fused").toBe(expectFused);
          expectNear(y, DECOMPOSITIONS.attention(q, call, kk, v), TOL[dtype], "forward");
          const want = DECOMPOSITIONS.attention_grad(q, gradCall, kk, v, y, dOut);
          const nq = q.size, nk = kk.size;
          expectNear(packed.slice([0, nq]), want.slice([0, nq]), TOL[dtype], "dq");
          expectNear(packed.slice([nq, nq + nk]), want.slice([nq, nq + nk]), TOL[dtype], "dk");
          expectNear(packed.slice([nq + nk, want.size]), want.slice([nq + nk, want.size]), TOL[dtype], "dv");
        });
      });
    }
  }

  it("strided q, k, v, out and dOut (heads and time transposed, slices of one qkv tensor)", () => {
    tidy(() => {
      const [B, T, H, D] = [2, 33, 3, 24];
      const r = new Rng(5);
      const qkv = r.normal([B, T, 3, H, D]).permute(2, 0, 3, 1, 4); // [3, B, H, T, D], last dim contiguous
      const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(i)) as [Tensor, Tensor, Tensor];
      const dOut = r.normal([B, T, H, D]).transpose(1, 2);
      const call = { op: "attention", causal: true, scale: 0.2 } as const;
      const gradCall = { ...call, op: "attention_grad" } as const;
      const [y, fwdFused] = ran("attention", () => fused(call, q, k, v));
      const yT = y.transpose(1, 2).contiguous().transpose(1, 2); // a strided `out`
      const [packed, bwdFused] = ran("attention_grad", () => fused(gradCall, q, k, v, yT, dOut));
      expect(fwdFused && bwdFused).toBe(true);
      expectNear(y, DECOMPOSITIONS.attention(q, call, k, v), TOL.float32, "forward");
      expectNear(packed, DECOMPOSITIONS.attention_grad(q, gradCall, k, v, yT, dOut), TOL.float32, "backward");
    });
  });

  it("a non-contiguous last dim decomposes on wasm and still agrees", () => {
    tidy(() => {
      const r = new Rng(6);
      const q = r.normal([1, 2, 8, 17]).transpose(2, 3); // [1, 2, 17, 8], last-dim stride 17
      const k = r.normal([1, 2, 17, 8]);
      const v = r.normal([1, 2, 17, 8]);
      const call = { op: "attention", causal: true, scale: 0.3 } as const;
      const [y, wasFused] = ran("attention", () => fused(call, q, k, v));
      expect(wasFused).toBe(!onWasm());
      expectNear(y, DECOMPOSITIONS.attention(q, call, k, v), TOL.float32, "forward");
    });
  });

  it("scaledDotProductAttention runs the fused op for float32 and keeps its errors", () => {
    tidy(() => {
      const r = new Rng(7);
      const [q, k, v] = [r.normal([1, 4, 9, 8]), r.normal([1, 2, 9, 8]), r.normal([1, 2, 9, 8])];
      const [, wasFused] = ran("attention", () => scaledDotProductAttention(q!, k!, v!));
      expect(wasFused).toBe(true);
      expect(() => scaledDotProductAttention(q!, r.normal([1, 3, 9, 8]), r.normal([1, 3, 9, 8]))).toThrow(/multiple of kv heads/);
      expect(() => scaledDotProductAttention(r.normal([1, 2, 10, 8]), r.normal([1, 2, 9, 8]), r.normal([1, 2, 9, 8]))).toThrow(/at least as many keys/);
    });
  });
});

// One wasm backend per thread count, registered under its own name.
const backends = new Map<number, string>();
function wasmWith(threads: number): string {
  let name = backends.get(threads);
  if (!name) {
    name = `wasm-attention-${threads}t`;
    const b = new WasmBackend({ threads });
    registerBackend(name, () => b);
    backends.set(threads, name);
  }
  return name;
}

describe("wasm attention kernels: 1 and 2 threads are bit-identical", () => {
  const cases: Case[] = [
    c("MHA causal T=130 D=64", 2, 4, 4, 130, 130, 64, 64, true),
    c("GQA causal T=97 D=24", 2, 4, 2, 97, 97, 24, 24, true),
    c("non-causal Tq=65 < Tk=130 D=8", 2, 4, 2, 65, 130, 8, 8, false),
  ];
  for (const k of cases) {
    it(k.name, () => {
      const run = () =>
        tidy(() => {
          const [q, kk, v, dOut] = inputs(k, "float32", 21) as [Tensor, Tensor, Tensor, Tensor];
          const call = { op: "attention", causal: k.causal, scale: 1 / Math.sqrt(k.D) } as const;
          const y = fused(call, q, kk, v);
          const g = fused({ ...call, op: "attention_grad" }, q, kk, v, y, dOut);
          return [y.toArray(), g.toArray()];
        });
      const one = withBackend(wasmWith(1), run);
      const two = withBackend(wasmWith(2), run);
      expect(two[0]).toEqual(one[0]);
      expect(two[1]).toEqual(one[1]);
      expect(withBackend(wasmWith(2), run)[1]).toEqual(one[1]);
    });
  }
});
