// Flash-attention kernels for the wasm backend: the fused "attention" and "attention_grad"
// primitives (composite/attention.ts) in float32. Per head, no more than one query block × key
// block of scores is held at a time (with, in the backward, its gradient): memory is O(T·D)
// per thread, not O(T²).
//
// Layout: q [B, Hq, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] (and, for the gradient,
// out and dOut [B, Hq, Tq, Dv]) with any non-negative strides over batch, head and time but a
// contiguous last dim; anything else is left to the decomposition (attentionFusable says no).
//
// Scores are computed transposed, Sᵀ = K_blk · Q_blkᵀ (keys down, queries across), so that the
// softmax statistics of each query are lane-wise f32x4 operations down a column: no horizontal
// reductions and no transpose of K. Every block product is one register-tiled microkernel
// (4 rows × 8 columns, f32x4 mul + add, k ascending), over operands in per-thread scratch: Qᵀ
// (and dOᵀ) transposed per query block with 4×4 shuffles, K and V read in place where a key
// block holds all the rows it needs, else copied and zero padded.
//
// Forward, one work unit per (batch, query head, query block of BQ rows): for each key block
// (BK keys; blocks wholly above the causal diagonal skipped, and the rows of the diagonal block
// past the block's last query) Sᵀ = K Qᵀ · scale, masked to -inf, then the online softmax per
// query: m' = max(m, max_j s), c = exp(m - m'), P = exp(s - m'), l = l·c + Σ P,
// O = c ⊙ O + P V; finally out = O / l.
//
// Backward, one work unit per (batch, kv head): the unit owns dK and dV of its kv head (summed
// over the group's query heads) and dQ of those query heads, so no two units write one element
// and no atomics are needed. It copies the head's K and V once; then, for each query head of
// the group and each query block, it recomputes the row statistics lse = m + log l with one
// online pass of Sᵀ over the key blocks (the fused op has one output, so the forward's
// statistics are not kept), keeping every block's e^(Sᵀ - m_kb) and running maximum m_kb in
// scratch (Tk × BQ floats), computes δ = rowsum(dO ⊙ O), and per key block:
//   Pᵀ = e^(Sᵀ - m_kb) · e^(m_kb - lse), dPᵀ = V dOᵀ, dSᵀ = Pᵀ ⊙ (dPᵀ - δ) · scale,
//   dV_blk += Pᵀ dO,  dK_blk += dSᵀ Q,  dQ_blk += dS K.
// (Recomputing Sᵀ and one exp per score there instead cost about a quarter of the backward.)
// dK and dV accumulate in scratch (Tk × D each) and are stored at the end of the unit.
//
// Determinism: every output element is reduced in an order fixed by the shapes alone (key
// blocks, query heads and query blocks ascending; k ascending inside each product); units never
// share outputs, so results are bit-identical for any thread count.

import type { View } from "../../../backend/view.js";
import type { AttentionOp, CallOf } from "../../../ops/primitives.js";
import { ModuleBuilder, type FunctionBuilder } from "../asm/index.js";
import { addConst, mulAccumulate } from "./emit.js";
import type { KernelPlan } from "./plan.js";
import { addSimdMath } from "./simd-math.js";

/**
 * Block sizes, forward and backward. Small query blocks keep a unit's scratch in L1 (measured on
 * V8 / x86-64, 1 thread, GPT-small shapes: forward bq 8 ≈ 16 < 32 < 64; backward bq 16 ≈ 8 < 32).
 */
export interface AttentionTuning {
  /** Query rows per block (a multiple of 8), forward and backward. */
  readonly bq: number;
  readonly bqGrad: number;
  /** Keys per block (a multiple of 8), forward and backward. */
  readonly bk: number;
  readonly bkGrad: number;
  /** Multiply-adds a thread should get before work is split across threads. */
  readonly minMacsPerThread: number;
}

export const DEFAULT_ATTENTION_TUNING: AttentionTuning = { bq: 8, bqGrad: 16, bk: 64, bkGrad: 64, minMacsPerThread: 1 << 19 };

export interface AttentionOptions {
  readonly debug?: boolean;
  readonly tuning?: Partial<AttentionTuning>;
}

/** Per-thread scratch above which the kernels are not used (the decomposition runs instead). */
const MAX_SCRATCH = 256 << 20;

const MR = 4;
const NR = 8;
const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => ceilDiv(a, b) * b;
const align64 = (x: number): number => roundUp(x, 64);

/** Element strides over [batch, head, time] (the last dim is contiguous); size-1 dims get stride 0. */
type Strides3 = readonly [number, number, number];

interface Spec {
  readonly grad: boolean;
  readonly causal: boolean;
  readonly scale: number;
  readonly B: number;
  readonly Hq: number;
  readonly Hkv: number;
  readonly Tq: number;
  readonly Tk: number;
  readonly D: number;
  readonly Dv: number;
  readonly q: Strides3;
  readonly k: Strides3;
  readonly v: Strides3;
  /** The forward output and its cotangent (gradient only). */
  readonly o: Strides3;
  readonly dO: Strides3;
}

interface Layout {
  readonly BQ: number;
  readonly BK: number;
  readonly nQB: number;
  readonly nKB: number;
  readonly Tkp: number;
  readonly Dp: number;
  readonly Dvp: number;
  readonly group: number;
  /** Byte offsets of the scratch buffers within a thread's slice, and its size. */
  readonly at: Readonly<Record<string, number>>;
  readonly scratch: number;
  readonly units: number;
  readonly minUnitsPerThread: number;
}

const strides3 = (v: View): Strides3 => [0, 1, 2].map((d) => (v.shape[d] === 1 ? 0 : v.strides[d]!)) as unknown as Strides3;

function specOf(call: CallOf<AttentionOp>, inputs: readonly View[]): Spec | null {
  const n = call.op === "attention" ? 3 : 5;
  if (inputs.length !== n) return null;
  for (const x of inputs) {
    if (x.dtype !== "float32" || x.shape.length !== 4 || x.shape.some((d) => d <= 0)) return null;
    if (x.shape[3] !== 1 && x.strides[3] !== 1) return null;
    // Addresses are formed with constant, non-negative offsets.
    if (x.strides.some((s, d) => s < 0 && x.shape[d] !== 1)) return null;
  }
  const [q, k, v, o, dO] = inputs as [View, View, View, View?, View?];
  const [B, Hq, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number];
  const Dv = v.shape[3]!;
  if (!Number.isFinite(call.scale) || Hq % Hkv !== 0 || (call.causal && Tq > Tk)) return null;
  return {
    grad: call.op === "attention_grad", causal: call.causal, scale: call.scale, B, Hq, Hkv, Tq, Tk, D, Dv,
    q: strides3(q), k: strides3(k), v: strides3(v), o: o ? strides3(o) : [0, 0, 0], dO: dO ? strides3(dO) : [0, 0, 0],
  };
}

function layoutOf(s: Spec, tuning: AttentionTuning): Layout {
  const t = s.grad ? { ...tuning, bq: tuning.bqGrad, bk: tuning.bkGrad } : tuning;
  if (!Number.isInteger(t.bq) || t.bq < 8 || t.bq % 8) throw new RangeError(`attention tuning: bq=${t.bq} must be a positive multiple of 8`);
  if (!Number.isInteger(t.bk) || t.bk < 8 || t.bk % 8) throw new RangeError(`attention tuning: bk=${t.bk} must be a positive multiple of 8`);
  const BQ = Math.min(t.bq, roundUp(s.Tq, 8));
  const BK = Math.min(t.bk, roundUp(s.Tk, 8));
  const nQB = ceilDiv(s.Tq, BQ), nKB = ceilDiv(s.Tk, BK);
  const Tkp = nKB * BK;
  const Dp = roundUp(s.D, NR), Dvp = roundUp(s.Dv, NR);
  const group = s.Hq / s.Hkv;
  const sizes: [string, number][] = s.grad
    ? [
        ["kall", Tkp * Dp], ["vall", Tkp * Dvp], ["dka", Tkp * Dp], ["dva", Tkp * Dvp],
        ["qt", s.D * BQ], ["qp", BQ * Dp], ["dot", s.Dv * BQ], ["dop", BQ * Dvp],
        ["pt", Tkp * BQ], ["dst", BK * BQ], ["dqt", BQ * Dp],
        ["lse", BQ], ["delta", BQ], ["m", BQ], ["l", BQ], ["mblk", nKB * BQ],
      ]
    : [["qt", s.D * BQ], ["kp", BK * s.D], ["vp", BK * Dvp], ["pt", BK * BQ], ["o", BQ * Dvp], ["m", BQ], ["l", BQ], ["c", BQ]];
  const at: Record<string, number> = {};
  let scratch = 0;
  for (const [name, floats] of sizes) {
    at[name] = scratch;
    scratch += align64(floats * 4);
  }
  // Multiply-adds per unit (upper bound: causal skips about half the key blocks).
  const pairMacs = BQ * BK * (s.grad ? 3 * s.D + 2 * s.Dv : s.D + s.Dv);
  const units = s.grad ? s.B * s.Hkv : s.B * s.Hq * nQB;
  const macsPerUnit = Math.max(1, pairMacs * nKB * (s.grad ? group * nQB : 1));
  return { BQ, BK, nQB, nKB, Tkp, Dp, Dvp, group, at, scratch, units, minUnitsPerThread: Math.max(1, Math.ceil(t.minMacsPerThread / macsPerUnit)) };
}

/** Whether the attention kernels take this call: float32, contiguous last dims, non-negative strides. */
export function attentionFusable(call: CallOf<AttentionOp>, inputs: readonly View[], opts: AttentionOptions = {}): boolean {
  const spec = specOf(call, inputs);
  return spec !== null && layoutOf(spec, { ...DEFAULT_ATTENTION_TUNING, ...opts.tuning }).scratch <= MAX_SCRATCH;
}

/**
 * The kernel for an attention call; its arguments are the inputs' addresses (q, k, v, and for
 * the gradient out, dOut), the output's, then the scratch arena's.
 */
export function planAttention(call: CallOf<AttentionOp>, inputs: readonly View[], out: View, opts: AttentionOptions = {}): KernelPlan | null {
  const spec = specOf(call, inputs);
  if (!spec || out.dtype !== "float32") return null;
  const L = layoutOf(spec, { ...DEFAULT_ATTENTION_TUNING, ...opts.tuning });
  if (L.scratch > MAX_SCRATCH) return null;
  const st = (x: Strides3) => x.join(",");
  const key = [
    spec.grad ? "attention_grad" : "attention", spec.causal ? "causal" : "full", spec.scale,
    `${spec.B}x${spec.Hq}x${spec.Hkv}x${spec.Tq}x${spec.Tk}x${spec.D}x${spec.Dv}`,
    st(spec.q), st(spec.k), st(spec.v), st(spec.o), st(spec.dO), `bq${L.BQ}bk${L.BK}`,
  ].join(";");
  return {
    key,
    build: () => (spec.grad ? buildBackward(spec, L, opts.debug) : buildForward(spec, L, opts.debug)),
    scratchBytesPerThread: L.scratch,
    units: L.units,
    minUnitsPerThread: L.minUnitsPerThread,
  };
}

// ---------------------------------------------------------------------------------------------
// Code generation helpers

const MEMORY = { initial: 1, maximum: 65536, shared: true } as const;
let labelId = 0;

/** for (i = 0; i < count; i++) body, count an i32 pushed by `count` (signed compare). */
function forRange(f: FunctionBuilder, i: number, count: () => void, body: () => void): void {
  const id = labelId++;
  f.i32.const(0).local.set(i);
  f.block("void", `fd${id}`).loop("void", `fl${id}`);
  f.local.get(i);
  count();
  f.i32.ge_s().br_if(`fd${id}`);
  body();
  f.local.get(i).i32.const(1).i32.add().local.set(i);
  f.br(`fl${id}`).end().end();
}

/** Pushes local · c. */
function mulConst(f: FunctionBuilder, local: number, c: number): void {
  if (c === 0) f.i32.const(0);
  else if (c === 1) f.local.get(local);
  else f.local.get(local).i32.const(c | 0).i32.mul();
}

/**
 * The key block kb of a query block: j0 (first key), bk (keys in the block), lim (those some
 * query of the block sees: all, or up to the diagonal when causal) and jn (lim rounded up to 4).
 */
function keyBlock(f: FunctionBuilder, tmp: number, l: { kb: number; j0: number; bk: number; lim: number; jn: number; pos0: number; bq: number }, BK: number, Tk: number, causal: boolean): void {
  f.local.get(l.kb).i32.const(BK).i32.mul().local.set(l.j0);
  minI32(f, tmp, l.lim, () => f.i32.const(BK), () => f.i32.const(Tk).local.get(l.j0).i32.sub());
  f.local.set(l.bk);
  if (causal) {
    minI32(f, tmp, l.lim, () => f.local.get(l.bk), () => f.local.get(l.pos0).local.get(l.bq).i32.add().local.get(l.j0).i32.sub());
    f.local.set(l.lim);
  } else f.local.get(l.bk).local.set(l.lim);
  f.local.get(l.lim).i32.const(3).i32.add().i32.const(~3).i32.and().local.set(l.jn);
}

/** Pushes min(a, b) of two i32 expressions (signed). */
function minI32(f: FunctionBuilder, tmpA: number, tmpB: number, a: () => void, b: () => void): void {
  a();
  f.local.set(tmpA);
  b();
  f.local.set(tmpB);
  f.local.get(tmpA).local.get(tmpB).local.get(tmpA).local.get(tmpB).i32.lt_s().select();
}

/** 32-bit lane shuffle of the two v128 on the stack. */
function shuffle32(f: FunctionBuilder, lanes: readonly number[]): void {
  const bytes: number[] = [];
  for (const l of lanes) for (let i = 0; i < 4; i++) bytes.push(4 * l + i);
  f.i8x16.shuffle(bytes);
}

interface TileSpec {
  /** Byte distance between A rows, and between consecutive k of one A row. */
  readonly aRow: number;
  readonly aStep: number;
  /** Byte distance between consecutive k rows of B, and between C rows. */
  readonly bStep: number;
  readonly cRow: number;
  /** Accumulators start at 0, at C, or at C times a per-row factor (from `rs`). */
  readonly init: "zero" | "load" | "scaled";
  /** Factor applied when storing (1: none). */
  readonly scale: number;
}

/**
 * tile(pa, pb, pc, kc, ntiles, rs): for each of `ntiles` tiles of MR rows × NR columns, side by
 * side, C = init + Σ_{p<kc} A[:, p] B[p, :] (p ascending), stored times `scale`; A rows are read
 * by splat loads, B rows and C rows by f32x4 loads.
 */
function tileFunction(mb: ModuleBuilder, cache: Map<string, FunctionBuilder>, t: TileSpec): FunctionBuilder {
  const key = `${t.aRow},${t.aStep},${t.bStep},${t.cRow},${t.init},${t.scale}`;
  let fn = cache.get(key);
  if (fn) return fn;
  fn = mb.func({ name: `tile${cache.size}`, params: ["i32", "i32", "i32", "i32", "i32", "i32"] }, (f) => {
    const [pa, pb, pc, kc, nt, rs] = [0, 1, 2, 3, 4, 5];
    const ka = f.addLocal("i32"), kb = f.addLocal("i32"), cnt = f.addLocal("i32");
    const nv = NR / 4;
    const acc = f.addLocal("v128", MR * nv);
    const bv = f.addLocal("v128", nv);
    const av = f.addLocal("v128");
    const A = (i: number, v: number) => acc + i * nv + v;
    f.block("void", "none").local.get(nt).i32.eqz().br_if("none");
    f.loop("void", "tiles");
    for (let i = 0; i < MR; i++) {
      if (t.init === "scaled") f.local.get(rs).v128.load32_splat(2, 4 * i).local.set(av);
      for (let v = 0; v < nv; v++) {
        if (t.init === "zero") f.v128.const_i32x4(0, 0, 0, 0);
        else {
          f.local.get(pc).v128.load(2, i * t.cRow + 16 * v);
          if (t.init === "scaled") f.local.get(av).f32x4.mul();
        }
        f.local.set(A(i, v));
      }
    }
    f.local.get(pa).local.set(ka).local.get(pb).local.set(kb).local.get(kc).local.set(cnt);
    f.block("void", "kdone").local.get(cnt).i32.eqz().br_if("kdone");
    f.loop("void", "k");
    for (let v = 0; v < nv; v++) f.local.get(kb).v128.load(2, 16 * v).local.set(bv + v);
    for (let i = 0; i < MR; i++) {
      f.local.get(ka).v128.load32_splat(2, i * t.aRow).local.set(av);
      for (let v = 0; v < nv; v++) mulAccumulate(f.local.get(av).local.get(bv + v), A(i, v));
    }
    addConst(f, ka, t.aStep);
    addConst(f, kb, t.bStep);
    f.local.get(cnt).i32.const(1).i32.sub().local.tee(cnt).br_if("k");
    f.end().end();
    for (let i = 0; i < MR; i++) {
      for (let v = 0; v < nv; v++) {
        f.local.get(pc).local.get(A(i, v));
        if (t.scale !== 1) f.v128.const_f32x4(t.scale, t.scale, t.scale, t.scale).f32x4.mul();
        f.v128.store(2, i * t.cRow + 16 * v);
      }
    }
    addConst(f, pb, NR * 4);
    addConst(f, pc, NR * 4);
    f.local.get(nt).i32.const(1).i32.sub().local.tee(nt).br_if("tiles");
    f.end().end();
  });
  cache.set(key, fn);
  return fn;
}

/** Locals shared by the code emitters of one kernel function. */
interface Tmp {
  readonly i: number;
  readonly j: number;
  readonly c: number;
  readonly n: number;
  readonly pa: number;
  readonly pb: number;
  readonly pc: number;
  readonly pr: number;
  readonly kc: number;
  readonly t0: number;
  readonly t1: number;
  readonly v0: number;
  readonly v1: number;
  readonly v2: number;
  readonly v3: number;
  readonly v4: number;
  readonly v5: number;
  readonly v6: number;
  readonly v7: number;
}

function tmpLocals(f: FunctionBuilder): Tmp {
  const i32 = () => f.addLocal("i32");
  const v = () => f.addLocal("v128");
  return {
    i: i32(), j: i32(), c: i32(), n: i32(), pa: i32(), pb: i32(), pc: i32(), pr: i32(), kc: i32(), t0: i32(), t1: i32(),
    v0: v(), v1: v(), v2: v(), v3: v(), v4: v(), v5: v(), v6: v(), v7: v(),
  };
}

interface Gemm {
  readonly tile: FunctionBuilder;
  readonly spec: TileSpec;
  /** Push the base addresses of A, B, C (and of the per-row factors for "scaled"). */
  readonly a: () => void;
  readonly b: () => void;
  readonly c: () => void;
  readonly rs?: () => void;
  /** Pushes the number of MR-row tiles. */
  readonly rowTiles: () => void;
  readonly colTiles: number;
  /** Pushes the inner dimension. */
  readonly kc: () => void;
}

/** C[rows × cols] (op)= A[rows × kc] · B[kc × cols], tile row by tile row. */
function emitGemm(f: FunctionBuilder, T: Tmp, g: Gemm): void {
  g.a();
  f.local.set(T.pa);
  g.b();
  f.local.set(T.pb);
  g.c();
  f.local.set(T.pc);
  if (g.rs) g.rs();
  else f.i32.const(0);
  f.local.set(T.pr);
  g.kc();
  f.local.set(T.kc);
  forRange(f, T.n, g.rowTiles, () => {
    f.local.get(T.pa).local.get(T.pb).local.get(T.pc).local.get(T.kc).i32.const(g.colTiles).local.get(T.pr).call(g.tile);
    addConst(f, T.pa, MR * g.spec.aRow);
    addConst(f, T.pc, MR * g.spec.cRow);
    addConst(f, T.pr, MR * 4);
  });
}

/** memory.fill(dst, 0, bytes) for a local address and a constant size. */
function zero(f: FunctionBuilder, dst: () => void, bytes: number): void {
  if (bytes <= 0) return;
  dst();
  f.i32.const(0).i32.const(bytes).memory.fill();
}

/**
 * Copies `rows` (a local) rows of `bytes` bytes from src (row stride srcRow bytes) to dst (row
 * stride dstRow bytes).
 */
function copyRows(f: FunctionBuilder, T: Tmp, dst: () => void, dstRow: number, src: () => void, srcRow: number, rows: number, bytes: number): void {
  if (dstRow === bytes && srcRow === bytes) {
    dst();
    src();
    f.local.get(rows).i32.const(bytes).i32.mul().memory.copy();
    return;
  }
  dst();
  f.local.set(T.pa);
  src();
  f.local.set(T.pb);
  forRange(f, T.i, () => f.local.get(rows), () => {
    f.local.get(T.pa).local.get(T.pb).i32.const(bytes).memory.copy();
    addConst(f, T.pa, dstRow);
    addConst(f, T.pb, srcRow);
  });
}

/**
 * Transposes `rows` (a local) rows of `cols` floats at src (row stride srcRow bytes) into dst,
 * where element (i, d) lands at dst + d·dstRow + 4i: 4×4 blocks with shuffles, scalar edges.
 */
function transposeRows(f: FunctionBuilder, T: Tmp, dst: () => void, dstRow: number, src: () => void, srcRow: number, rows: number, cols: number): void {
  const c4 = cols & ~3;
  dst();
  f.local.set(T.pa);
  src();
  f.local.set(T.pb);
  const scalarRow = (r: number) => {
    for (let d = 0; d < cols; d++) f.local.get(T.pa).local.get(T.pb).f32.load(2, r * srcRow + 4 * d).f32.store(2, d * dstRow + 4 * r);
  };
  // Groups of 4 rows.
  f.local.get(rows).i32.const(2).i32.shr_u().local.set(T.n);
  forRange(f, T.i, () => f.local.get(T.n), () => {
    const r = [T.v0, T.v1, T.v2, T.v3];
    const t = [T.v4, T.v5, T.v6, T.v7];
    for (let d = 0; d < c4; d += 4) {
      for (let k = 0; k < 4; k++) f.local.get(T.pb).v128.load(2, k * srcRow + 4 * d).local.set(r[k]!);
      f.local.get(r[0]!).local.get(r[1]!);
      shuffle32(f, [0, 4, 1, 5]);
      f.local.set(t[0]!).local.get(r[0]!).local.get(r[1]!);
      shuffle32(f, [2, 6, 3, 7]);
      f.local.set(t[1]!).local.get(r[2]!).local.get(r[3]!);
      shuffle32(f, [0, 4, 1, 5]);
      f.local.set(t[2]!).local.get(r[2]!).local.get(r[3]!);
      shuffle32(f, [2, 6, 3, 7]);
      f.local.set(t[3]!);
      const outs: [number, number, number[]][] = [
        [t[0]!, t[2]!, [0, 1, 4, 5]],
        [t[0]!, t[2]!, [2, 3, 6, 7]],
        [t[1]!, t[3]!, [0, 1, 4, 5]],
        [t[1]!, t[3]!, [2, 3, 6, 7]],
      ];
      outs.forEach(([x, y, sh], k) => {
        f.local.get(T.pa).local.get(x).local.get(y);
        shuffle32(f, sh);
        f.v128.store(2, (d + k) * dstRow);
      });
    }
    for (let k = 0; k < 4; k++) for (let d = c4; d < cols; d++) f.local.get(T.pa).local.get(T.pb).f32.load(2, k * srcRow + 4 * d).f32.store(2, d * dstRow + 4 * k);
    addConst(f, T.pa, 16);
    addConst(f, T.pb, 4 * srcRow);
  });
  // The remaining rows, one at a time.
  f.local.get(rows).i32.const(3).i32.and().local.set(T.n);
  forRange(f, T.i, () => f.local.get(T.n), () => {
    scalarRow(0);
    addConst(f, T.pa, 4);
    addConst(f, T.pb, srcRow);
  });
}

/** Pushes the address `base + Σ index_k · stride_k · 4` (indices are locals). */
function address(f: FunctionBuilder, base: number, terms: readonly [number, number][]): void {
  f.local.get(base);
  for (const [local, stride] of terms) {
    if (stride === 0) continue;
    mulConst(f, local, stride * 4);
    f.i32.add();
  }
}

/**
 * Mask vector of the lanes of query chunk `c` (4 queries from row 4c of the block) against key
 * block j0: the number of keys in the block that each query sees, as i32x4 —
 * causal: min(pos0 + 4c + lane + 1 - j0, bk), else bk.
 */
function emitLimits(f: FunctionBuilder, causal: boolean, c: number, base: number, bk: number, out: number): void {
  if (causal) {
    f.local.get(base).local.get(c).i32.const(2).i32.shl().i32.add().i32x4.splat().v128.const_i32x4(0, 1, 2, 3).i32x4.add();
    f.local.get(bk).i32x4.splat().i32x4.min_s();
  } else f.local.get(bk).i32x4.splat();
  f.local.set(out);
}

const NEG_INF = () => [-Infinity, -Infinity, -Infinity, -Infinity] as const;

// ---------------------------------------------------------------------------------------------
// Forward

function buildForward(s: Spec, L: Layout, debug: boolean | undefined): Uint8Array {
  const mb = new ModuleBuilder(debug === undefined ? { name: "attention" } : { debug, name: "attention" });
  mb.importMemory("env", "memory", MEMORY);
  const math = addSimdMath(mb, ["exp"]);
  const tiles = new Map<string, FunctionBuilder>();
  const { BQ, BK, nQB, nKB, Dvp, group, at } = L;
  const { D, Dv, Tq, Tk, Hq } = s;
  const sTile: TileSpec = { aRow: D * 4, aStep: 4, bStep: BQ * 4, cRow: BQ * 4, init: "zero", scale: s.scale };
  const pvTile: TileSpec = { aRow: 4, aStep: BQ * 4, bStep: Dvp * 4, cRow: Dvp * 4, init: "scaled", scale: 1 };
  const sFn = tileFunction(mb, tiles, sTile);
  const pvFn = tileFunction(mb, tiles, pvTile);
  // Variants reading K (as A) and V (as B) in place, for blocks that hold all the rows used.
  const withSpec = (spec: TileSpec) => ({ spec, fn: tileFunction(mb, tiles, spec) });
  const sDirect = s.k[2] > 0 ? withSpec({ ...sTile, aRow: s.k[2] * 4 }) : null;
  const pvDirect = s.v[2] > 0 && Dv === Dvp ? withSpec({ ...pvTile, bStep: s.v[2] * 4 }) : null;

  mb.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [Q, K, V, OUT, S, start, end, thread] = [0, 1, 2, 3, 4, 5, 6, 7];
    const T = tmpLocals(f);
    const i32 = () => f.addLocal("i32");
    const v128 = () => f.addLocal("v128");
    const base = i32(), u = i32(), qb = i32(), h = i32(), b = i32(), g = i32(), bh = i32();
    const qB = i32(), kB = i32(), vB = i32(), oB = i32(), bq = i32(), pos0 = i32(), nk = i32(), kb = i32(), j0 = i32(), bk = i32(), jn = i32(), lim = i32(), nr = i32(), p = i32(), direct = i32();
    const lanes = v128(), mOld = v128(), mx = v128(), sum = v128(), jv = v128(), sv = v128(), lv = v128();
    const buf = (name: string) => () => void f.local.get(base).i32.const(at[name]!).i32.add();

    f.local.get(S);
    mulConst(f, thread, L.scratch);
    f.i32.add().local.set(base);

    f.local.get(start).local.set(u);
    f.block("void", "units").loop("void", "unit");
    f.local.get(u).local.get(end).i32.ge_u().br_if("units");
    // u = (b·Hq + h)·nQB + qb
    f.local.get(u).i32.const(nQB).i32.rem_u().local.set(qb);
    f.local.get(u).i32.const(nQB).i32.div_u().local.tee(bh).i32.const(Hq).i32.rem_u().local.set(h);
    f.local.get(bh).i32.const(Hq).i32.div_u().local.set(b);
    f.local.get(h).i32.const(group).i32.div_u().local.set(g);
    f.local.get(qb).i32.const(BQ).i32.mul().local.set(T.t0); // i0
    address(f, Q, [[b, s.q[0]], [h, s.q[1]], [T.t0, s.q[2]]]);
    f.local.set(qB);
    address(f, K, [[b, s.k[0]], [g, s.k[1]]]);
    f.local.set(kB);
    address(f, V, [[b, s.v[0]], [g, s.v[1]]]);
    f.local.set(vB);
    f.local.get(OUT);
    mulConst(f, bh, Tq * Dv * 4);
    f.i32.add();
    mulConst(f, T.t0, Dv * 4);
    f.i32.add().local.set(oB);
    minI32(f, T.t1, lim, () => f.i32.const(BQ), () => f.i32.const(Tq).local.get(T.t0).i32.sub());
    f.local.set(bq);
    f.i32.const(Tk - Tq).local.get(T.t0).i32.add().local.set(pos0);
    if (s.causal) {
      // Keys seen by the block: min(Tk, pos0 + bq).
      minI32(f, T.t1, lim, () => f.i32.const(Tk), () => f.local.get(pos0).local.get(bq).i32.add());
      f.i32.const(BK - 1).i32.add().i32.const(BK).i32.div_u().local.set(nk);
    } else f.i32.const(nKB).local.set(nk);

    // Qᵀ (D × BQ, zero padded), m = -inf, l = 0, O = 0.
    zero(f, buf("qt"), D * BQ * 4);
    transposeRows(f, T, buf("qt"), BQ * 4, () => f.local.get(qB), s.q[2] * 4, bq, D);
    for (let c = 0; c < BQ; c += 4) {
      buf("m")();
      f.v128.const_f32x4(...NEG_INF()).v128.store(2, 4 * c);
    }
    zero(f, buf("l"), BQ * 4);
    zero(f, buf("o"), BQ * Dvp * 4);

    forRange(f, kb, () => f.local.get(nk), () => {
      keyBlock(f, T.t1, { kb, j0, bk, lim, jn, pos0, bq }, BK, Tk, s.causal);
      // K and V rows: read in place when the block holds all jn rows (and V rows are whole
      // tiles), else packed: the min(bk, jn) rows used, K rows up to jn are masked anyway, V
      // zero padded to jn × Dvp (P is 0 there, but V must be finite).
      f.local.get(jn).local.get(bk).i32.le_s().local.set(direct);
      const kRows = () => void f.local.get(kB).local.get(j0).i32.const(s.k[2] * 4).i32.mul().i32.add();
      const vRows = () => void f.local.get(vB).local.get(j0).i32.const(s.v[2] * 4).i32.mul().i32.add();
      const packK = () => {
        minI32(f, T.t1, nr, () => f.local.get(bk), () => f.local.get(jn));
        f.local.set(nr);
        copyRows(f, T, buf("kp"), D * 4, kRows, s.k[2] * 4, nr, D * 4);
      };
      const packV = () => {
        minI32(f, T.t1, nr, () => f.local.get(bk), () => f.local.get(jn));
        f.local.set(nr);
        if (Dv !== Dvp) zero(f, buf("vp"), BK * Dvp * 4);
        else {
          buf("vp")();
          f.local.get(nr).i32.const(Dvp * 4).i32.mul().i32.add().i32.const(0).local.get(jn).local.get(nr).i32.sub().i32.const(Dvp * 4).i32.mul().memory.fill();
        }
        copyRows(f, T, buf("vp"), Dvp * 4, vRows, s.v[2] * 4, nr, Dv * 4);
      };
      const scoreGemm = (fn: FunctionBuilder, spec: TileSpec, a: () => void) =>
        emitGemm(f, T, {
          tile: fn, spec, a, b: buf("qt"), c: buf("pt"),
          rowTiles: () => void f.local.get(jn).i32.const(2).i32.shr_u(), colTiles: BQ / NR, kc: () => void f.i32.const(D),
        });
      /** The gemm on the operand in place when the layout allows (decided at run time), else on its packed copy. */
      const directOrPacked = (d: { fn: FunctionBuilder; spec: TileSpec } | null | undefined, rows: () => void, pack: () => void, gemm: (fn: FunctionBuilder, spec: TileSpec, x: () => void) => void, fn: FunctionBuilder, tile: TileSpec, packed: () => void) => {
        if (d) {
          f.local.get(direct).if();
          gemm(d.fn, d.spec, rows);
          f.else();
        }
        pack();
        gemm(fn, tile, packed);
        if (d) f.end();
      };
      // Sᵀ = K Qᵀ · scale  (jn × BQ)
      directOrPacked(sDirect, kRows, packK, scoreGemm, sFn, sTile, buf("kp"));
      // Online softmax, 4 queries at a time down their columns.
      f.local.get(pos0).i32.const(1).i32.add().local.get(j0).i32.sub().local.set(lim);
      forRange(f, T.c, () => f.i32.const(BQ / 4), () => {
        emitLimits(f, s.causal, T.c, lim, bk, lanes);
        f.local.get(base).local.get(T.c).i32.const(4).i32.shl().i32.add().local.set(T.t1); // + 16c
        f.local.get(T.t1).v128.load(2, at.m!).local.tee(mOld).local.set(mx);
        f.local.get(T.t1).i32.const(at.pt!).i32.add().local.set(p);
        f.v128.const_i32x4(0, 0, 0, 0).local.set(jv);
        forRange(f, T.j, () => f.local.get(jn), () => {
          f.local.get(p).local.get(p).v128.load(2).v128.const_f32x4(...NEG_INF()).local.get(jv).local.get(lanes).i32x4.lt_s().v128.bitselect().local.tee(sv).v128.store(2);
          f.local.get(mx).local.get(sv).f32x4.max().local.set(mx);
          f.local.get(jv).v128.const_i32x4(1, 1, 1, 1).i32x4.add().local.set(jv);
          addConst(f, p, BQ * 4);
        });
        // c = exp(m - m'), stored for the rescale of O.
        f.local.get(T.t1).local.get(mOld).local.get(mx).f32x4.sub().call(math.exp).v128.store(2, at.c!);
        f.local.get(T.t1).local.get(mx).v128.store(2, at.m!);
        f.local.get(T.t1).i32.const(at.pt!).i32.add().local.set(p);
        f.v128.const_i32x4(0, 0, 0, 0).local.set(sum);
        forRange(f, T.j, () => f.local.get(jn), () => {
          f.local.get(p).local.get(p).v128.load(2).local.get(mx).f32x4.sub().call(math.exp).local.tee(sv).v128.store(2);
          f.local.get(sum).local.get(sv).f32x4.add().local.set(sum);
          addConst(f, p, BQ * 4);
        });
        f.local.get(T.t1).local.get(T.t1).v128.load(2, at.l!).local.get(T.t1).v128.load(2, at.c!).f32x4.mul().local.get(sum).f32x4.add().v128.store(2, at.l!);
      });
      // O = c ⊙ O + P V  (rows: the block's queries, rounded up to MR)
      const pvGemm = (fn: FunctionBuilder, spec: TileSpec, b: () => void) =>
        emitGemm(f, T, {
          tile: fn, spec, a: buf("pt"), b, c: buf("o"), rs: buf("c"),
          rowTiles: () => void f.local.get(bq).i32.const(3).i32.add().i32.const(2).i32.shr_u(), colTiles: Dvp / NR, kc: () => void f.local.get(jn),
        });
      directOrPacked(pvDirect, vRows, packV, pvGemm, pvFn, pvTile, buf("vp"));
    });

    // out = O / l
    buf("o")();
    f.local.set(p);
    buf("l")();
    f.local.set(T.t1);
    f.local.get(oB).local.set(T.pc);
    forRange(f, T.i, () => f.local.get(bq), () => {
      f.local.get(T.t1).v128.load32_splat(2).local.set(lv);
      for (let e = 0; e + 4 <= Dv; e += 4) f.local.get(T.pc).local.get(p).v128.load(2, 4 * e).local.get(lv).f32x4.div().v128.store(2, 4 * e);
      for (let e = Dv & ~3; e < Dv; e++) f.local.get(T.pc).local.get(p).f32.load(2, 4 * e).local.get(T.t1).f32.load(2).f32.div().f32.store(2, 4 * e);
      addConst(f, p, Dvp * 4);
      addConst(f, T.t1, 4);
      addConst(f, T.pc, Dv * 4);
    });

    addConst(f, u, 1);
    f.br("unit").end().end();
  });
  return mb.build();
}

// ---------------------------------------------------------------------------------------------
// Backward

function buildBackward(s: Spec, L: Layout, debug: boolean | undefined): Uint8Array {
  const mb = new ModuleBuilder(debug === undefined ? { name: "attention_grad" } : { debug, name: "attention_grad" });
  mb.importMemory("env", "memory", MEMORY);
  const math = addSimdMath(mb, ["exp", "log"]);
  const tiles = new Map<string, FunctionBuilder>();
  const { BQ, BK, nQB, nKB, Tkp, Dp, Dvp, group, at } = L;
  const { D, Dv, Tq, Tk, Hq, Hkv, B } = s;
  const NQ = B * Hq * Tq * D, NK = B * Hkv * Tk * D;
  const sTile: TileSpec = { aRow: Dp * 4, aStep: 4, bStep: BQ * 4, cRow: BQ * 4, init: "zero", scale: s.scale };
  const dpTile: TileSpec = { aRow: Dvp * 4, aStep: 4, bStep: BQ * 4, cRow: BQ * 4, init: "zero", scale: 1 };
  const dvTile: TileSpec = { aRow: BQ * 4, aStep: 4, bStep: Dvp * 4, cRow: Dvp * 4, init: "load", scale: 1 };
  const dkTile: TileSpec = { aRow: BQ * 4, aStep: 4, bStep: Dp * 4, cRow: Dp * 4, init: "load", scale: 1 };
  const dqTile: TileSpec = { aRow: 4, aStep: BQ * 4, bStep: Dp * 4, cRow: Dp * 4, init: "load", scale: 1 };
  const fn = (t: TileSpec) => tileFunction(mb, tiles, t);
  const [sFn, dpFn, dvFn, dkFn, dqFn] = [sTile, dpTile, dvTile, dkTile, dqTile].map(fn) as [FunctionBuilder, FunctionBuilder, FunctionBuilder, FunctionBuilder, FunctionBuilder];

  mb.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [Q, K, V, O, DO, OUT, S, start, end, thread] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const T = tmpLocals(f);
    const i32 = () => f.addLocal("i32");
    const v128 = () => f.addLocal("v128");
    const base = i32(), u = i32(), b = i32(), g = i32(), hh = i32(), h = i32(), qb = i32(), i0 = i32();
    const kB = i32(), vB = i32(), qB = i32(), oB = i32(), dOB = i32(), dqB = i32(), tkRows = i32();
    const bq = i32(), pos0 = i32(), nk = i32(), kb = i32(), j0 = i32(), bk = i32(), jn = i32(), lim = i32(), lim0 = i32(), p = i32(), p2 = i32();
    const lanes = v128(), mOld = v128(), mx = v128(), sum = v128(), jv = v128(), sv = v128(), stat = v128();
    const buf = (name: string) => () => void f.local.get(base).i32.const(at[name]!).i32.add();
    const at16c = (name: string) => () => void f.local.get(base).i32.const(at[name]!).i32.add().local.get(T.c).i32.const(4).i32.shl().i32.add();
    // The scores of all key blocks stay in scratch (block kb at row j0) from the statistics pass
    // to the gradient pass, as e^(s − m_kb), m_kb the running maximum after block kb (in mblk).
    const ptBlk = () => void f.local.get(base).i32.const(at.pt!).i32.add().local.get(j0).i32.const(BQ * 4).i32.mul().i32.add();
    const ptCol = () => (ptBlk(), void f.local.get(T.c).i32.const(4).i32.shl().i32.add());
    const mblkCol = () => void f.local.get(base).i32.const(at.mblk!).i32.add().local.get(kb).i32.const(BQ * 4).i32.mul().i32.add().local.get(T.c).i32.const(4).i32.shl().i32.add();

    f.local.get(S);
    mulConst(f, thread, L.scratch);
    f.i32.add().local.set(base);
    f.i32.const(Tk).local.set(tkRows);

    f.local.get(start).local.set(u);
    f.block("void", "units").loop("void", "unit");
    f.local.get(u).local.get(end).i32.ge_u().br_if("units");
    // u = b·Hkv + g
    f.local.get(u).i32.const(Hkv).i32.rem_u().local.set(g);
    f.local.get(u).i32.const(Hkv).i32.div_u().local.set(b);
    address(f, K, [[b, s.k[0]], [g, s.k[1]]]);
    f.local.set(kB);
    address(f, V, [[b, s.v[0]], [g, s.v[1]]]);
    f.local.set(vB);
    // K and V of the kv head, zero padded to Tkp × Dp / Dvp; dK, dV accumulators = 0.
    if (Dp !== D || Tkp !== Tk) zero(f, buf("kall"), Tkp * Dp * 4);
    copyRows(f, T, buf("kall"), Dp * 4, () => f.local.get(kB), s.k[2] * 4, tkRows, D * 4);
    if (Dvp !== Dv || Tkp !== Tk) zero(f, buf("vall"), Tkp * Dvp * 4);
    copyRows(f, T, buf("vall"), Dvp * 4, () => f.local.get(vB), s.v[2] * 4, tkRows, Dv * 4);
    zero(f, buf("dka"), Tkp * Dp * 4);
    zero(f, buf("dva"), Tkp * Dvp * 4);

    /** Per key block: j0, bk, lim (keys some query of the block sees) and jn (lim rounded up to MR). */
    const blockOfKeys = () => {
      keyBlock(f, T.t1, { kb, j0, bk, lim, jn, pos0, bq }, BK, Tk, s.causal);
      f.local.get(pos0).i32.const(1).i32.add().local.get(j0).i32.sub().local.set(lim0);
    };
    /** Sᵀ = K_blk Qᵀ · scale into pt (jn × BQ). */
    const scores = () =>
      emitGemm(f, T, {
        tile: sFn, spec: sTile, a: () => void f.local.get(base).i32.const(at.kall!).i32.add().local.get(j0).i32.const(Dp * 4).i32.mul().i32.add(),
        b: buf("qt"), c: ptBlk, rowTiles: () => void f.local.get(jn).i32.const(2).i32.shr_u(), colTiles: BQ / NR, kc: () => void f.i32.const(D),
      });
    /** For each chunk of 4 queries, walks the column of pt (jn rows) with the mask in `lanes`. */
    const columns = (body: () => void) =>
      forRange(f, T.c, () => f.i32.const(BQ / 4), () => {
        emitLimits(f, s.causal, T.c, lim0, bk, lanes);
        body();
      });
    const masked = () => void f.v128.const_f32x4(...NEG_INF()).local.get(jv).local.get(lanes).i32x4.lt_s().v128.bitselect();
    const down = (body: () => void) => {
      f.v128.const_i32x4(0, 0, 0, 0).local.set(jv);
      forRange(f, T.j, () => f.local.get(jn), () => {
        body();
        f.local.get(jv).v128.const_i32x4(1, 1, 1, 1).i32x4.add().local.set(jv);
        addConst(f, p, BQ * 4);
        addConst(f, p2, BQ * 4);
      });
    };

    forRange(f, hh, () => f.i32.const(group), () => {
      f.local.get(g).i32.const(group).i32.mul().local.get(hh).i32.add().local.set(h);
      forRange(f, qb, () => f.i32.const(nQB), () => {
        f.local.get(qb).i32.const(BQ).i32.mul().local.set(i0);
        minI32(f, T.t1, lim, () => f.i32.const(BQ), () => f.i32.const(Tq).local.get(i0).i32.sub());
        f.local.set(bq);
        f.i32.const(Tk - Tq).local.get(i0).i32.add().local.set(pos0);
        if (s.causal) {
          minI32(f, T.t1, lim, () => f.i32.const(Tk), () => f.local.get(pos0).local.get(bq).i32.add());
          f.i32.const(BK - 1).i32.add().i32.const(BK).i32.div_u().local.set(nk);
        } else f.i32.const(nKB).local.set(nk);
        address(f, Q, [[b, s.q[0]], [h, s.q[1]], [i0, s.q[2]]]);
        f.local.set(qB);
        address(f, O, [[b, s.o[0]], [h, s.o[1]], [i0, s.o[2]]]);
        f.local.set(oB);
        address(f, DO, [[b, s.dO[0]], [h, s.dO[1]], [i0, s.dO[2]]]);
        f.local.set(dOB);
        f.local.get(OUT).local.get(b).i32.const(Hq).i32.mul().local.get(h).i32.add().i32.const(Tq * D * 4).i32.mul().i32.add();
        mulConst(f, i0, D * 4);
        f.i32.add().local.set(dqB);

        // Qᵀ, Q, dOᵀ, dO of the block, zero padded.
        zero(f, buf("qt"), D * BQ * 4);
        transposeRows(f, T, buf("qt"), BQ * 4, () => f.local.get(qB), s.q[2] * 4, bq, D);
        zero(f, buf("qp"), BQ * Dp * 4);
        copyRows(f, T, buf("qp"), Dp * 4, () => f.local.get(qB), s.q[2] * 4, bq, D * 4);
        zero(f, buf("dot"), Dv * BQ * 4);
        transposeRows(f, T, buf("dot"), BQ * 4, () => f.local.get(dOB), s.dO[2] * 4, bq, Dv);
        zero(f, buf("dop"), BQ * Dvp * 4);
        copyRows(f, T, buf("dop"), Dvp * 4, () => f.local.get(dOB), s.dO[2] * 4, bq, Dv * 4);
        // δ = rowsum(dO ⊙ O): f32x4 partial sums, then lanes 0+1+2+3, then the tail.
        zero(f, buf("delta"), BQ * 4);
        buf("dop")();
        f.local.set(p);
        f.local.get(oB).local.set(p2);
        buf("delta")();
        f.local.set(T.pc);
        forRange(f, T.i, () => f.local.get(bq), () => {
          f.v128.const_i32x4(0, 0, 0, 0).local.set(sum);
          for (let e = 0; e + 4 <= Dv; e += 4) f.local.get(sum).local.get(p).v128.load(2, 4 * e).local.get(p2).v128.load(2, 4 * e).f32x4.mul().f32x4.add().local.set(sum);
          f.local.get(T.pc);
          f.local.get(sum).f32x4.extract_lane(0).local.get(sum).f32x4.extract_lane(1).f32.add();
          f.local.get(sum).f32x4.extract_lane(2).f32.add().local.get(sum).f32x4.extract_lane(3).f32.add();
          for (let e = Dv & ~3; e < Dv; e++) f.local.get(p).f32.load(2, 4 * e).local.get(p2).f32.load(2, 4 * e).f32.mul().f32.add();
          f.f32.store(2);
          addConst(f, p, Dvp * 4);
          addConst(f, p2, s.o[2] * 4);
          addConst(f, T.pc, 4);
        });

        // Row statistics: lse = m + log l over the keys each query sees.
        for (let c = 0; c < BQ; c += 4) {
          buf("m")();
          f.v128.const_f32x4(...NEG_INF()).v128.store(2, 4 * c);
        }
        zero(f, buf("l"), BQ * 4);
        forRange(f, kb, () => f.local.get(nk), () => {
          blockOfKeys();
          scores();
          columns(() => {
            at16c("m")();
            f.local.set(T.t0);
            f.local.get(T.t0).v128.load(2).local.tee(mOld).local.set(mx);
            ptCol();
            f.local.set(p);
            down(() => {
              f.local.get(p).local.get(p).v128.load(2);
              masked();
              f.local.tee(sv).v128.store(2);
              f.local.get(mx).local.get(sv).f32x4.max().local.set(mx);
            });
            f.local.get(T.t0).local.get(mx).v128.store(2);
            mblkCol();
            f.local.get(mx).v128.store(2);
            ptCol();
            f.local.set(p);
            f.v128.const_i32x4(0, 0, 0, 0).local.set(sum);
            down(() => {
              f.local.get(p).local.get(p).v128.load(2).local.get(mx).f32x4.sub().call(math.exp).local.tee(sv).v128.store(2);
              f.local.get(sum).local.get(sv).f32x4.add().local.set(sum);
            });
            at16c("l")();
            f.local.set(T.t1);
            f.local.get(T.t1).local.get(T.t1).v128.load(2).local.get(mOld).local.get(mx).f32x4.sub().call(math.exp).f32x4.mul().local.get(sum).f32x4.add().v128.store(2);
          });
        });
        for (let c = 0; c < BQ; c += 4) {
          buf("lse")();
          buf("m")();
          f.v128.load(2, 4 * c);
          buf("l")();
          f.v128.load(2, 4 * c).call(math.log).f32x4.add().v128.store(2, 4 * c);
        }

        // Gradients, key block by key block.
        zero(f, buf("dqt"), BQ * Dp * 4);
        forRange(f, kb, () => f.local.get(nk), () => {
          blockOfKeys();
          // Pᵀ = e^(Sᵀ − lse) = e^(Sᵀ − m_kb) · e^(m_kb − lse), masked entries already 0
          columns(() => {
            mblkCol();
            f.v128.load(2);
            at16c("lse")();
            f.v128.load(2).f32x4.sub().call(math.exp).local.set(stat);
            ptCol();
            f.local.set(p);
            down(() => void f.local.get(p).local.get(p).v128.load(2).local.get(stat).f32x4.mul().v128.store(2));
          });
          // dPᵀ = V_blk dOᵀ into dst
          emitGemm(f, T, {
            tile: dpFn, spec: dpTile, a: () => void f.local.get(base).i32.const(at.vall!).i32.add().local.get(j0).i32.const(Dvp * 4).i32.mul().i32.add(),
            b: buf("dot"), c: buf("dst"), rowTiles: () => void f.local.get(jn).i32.const(2).i32.shr_u(), colTiles: BQ / NR, kc: () => void f.i32.const(Dv),
          });
          // dSᵀ = Pᵀ ⊙ (dPᵀ - δ) · scale
          columns(() => {
            at16c("delta")();
            f.v128.load(2).local.set(stat);
            at16c("dst")();
            f.local.set(p);
            ptCol();
            f.local.set(p2);
            down(() => {
              f.local.get(p).local.get(p2).v128.load(2).local.get(p).v128.load(2).local.get(stat).f32x4.sub().f32x4.mul();
              f.v128.const_f32x4(s.scale, s.scale, s.scale, s.scale).f32x4.mul().v128.store(2);
            });
          });
          const rowsJ = () => void f.local.get(jn).i32.const(2).i32.shr_u();
          // dV_blk += Pᵀ dO, dK_blk += dSᵀ Q (inner dim: the block's queries)
          emitGemm(f, T, {
            tile: dvFn, spec: dvTile, a: ptBlk, b: buf("dop"), c: () => void f.local.get(base).i32.const(at.dva!).i32.add().local.get(j0).i32.const(Dvp * 4).i32.mul().i32.add(),
            rowTiles: rowsJ, colTiles: Dvp / NR, kc: () => void f.local.get(bq),
          });
          emitGemm(f, T, {
            tile: dkFn, spec: dkTile, a: buf("dst"), b: buf("qp"), c: () => void f.local.get(base).i32.const(at.dka!).i32.add().local.get(j0).i32.const(Dp * 4).i32.mul().i32.add(),
            rowTiles: rowsJ, colTiles: Dp / NR, kc: () => void f.local.get(bq),
          });
          // dQ_blk += dS K_blk (inner dim: the block's keys)
          emitGemm(f, T, {
            tile: dqFn, spec: dqTile, a: buf("dst"), b: () => void f.local.get(base).i32.const(at.kall!).i32.add().local.get(j0).i32.const(Dp * 4).i32.mul().i32.add(),
            c: buf("dqt"), rowTiles: () => void f.local.get(bq).i32.const(3).i32.add().i32.const(2).i32.shr_u(), colTiles: Dp / NR, kc: () => void f.local.get(jn),
          });
        });
        copyRows(f, T, () => f.local.get(dqB), D * 4, buf("dqt"), Dp * 4, bq, D * 4);
      });
    });

    // dK, dV of the kv head.
    copyRows(f, T, () => void f.local.get(OUT).local.get(u).i32.const(Tk * D * 4).i32.mul().i32.add().i32.const(NQ * 4).i32.add(), D * 4, buf("dka"), Dp * 4, tkRows, D * 4);
    copyRows(f, T, () => void f.local.get(OUT).local.get(u).i32.const(Tk * Dv * 4).i32.mul().i32.add().i32.const((NQ + NK) * 4).i32.add(), Dv * 4, buf("dva"), Dvp * 4, tkRows, Dv * 4);

    addConst(f, u, 1);
    f.br("unit").end().end();
  });
  return mb.build();
}
