// Matmul kernel generator for the wasm backend: float32 [..., m, k] × [..., k, n] → [..., m, n].
//
// Design (GotoBLAS/BLIS-style, everything specialised on the shapes and strides of the call):
//   - Work unit = (batch, column block jb, row block ib), ordered so that a thread's contiguous
//     unit range visits each (batch, jb) group once. Columns are cut into blocks of ≤ NC (512)
//     so a packed B block stays in L2, and further when batch × row blocks gives few units.
//   - Per group and k block (kc ≤ KC = 256) the thread packs the B block (kc × nc) into
//     NR-wide column panels in its scratch; per row block (MC = 64 rows) it packs A (mc × kc)
//     into MR-row panels unless A rows are contiguous in k (then the microkernel reads A in
//     place). For m ≤ 64 and n-contiguous B, B is read in place too, with kc ≤ 16 so that the
//     B rows walked per k step stay in the TLB and L1 (only a ragged last panel is packed).
//   - Microkernel MR×NR (default 4×8: 8 f32x4 accumulators + 2 B vectors + 1 A splat = 11
//     live v128; V8 11.3 spills beyond ~14), one relaxed FMA per vector where available (else mul+add), k loop not unrolled
//     (V8 runs explicit unrolls slower). One call sweeps the B panels of a row tile ("cols"
//     order: A micro-panel stays in L1, C rows are written sequentially).
//   - The k reduction of every output element is fixed by the shapes alone: k is cut into
//     equal blocks; within a block acc = Σ_p a·b in increasing p starting from 0 (first block)
//     or from the partial sum already in C. Units never share an output element, so results
//     are bit-identical for any thread count. k = 0 runs the same code and stores zeros.

import type { View } from "../../../backend/view.js";
import { ModuleBuilder, type FunctionBuilder } from "../asm/index.js";
import { mulAccumulate } from "./emit.js";
import type { KernelPlan } from "./plan.js";

export interface MatmulTuning {
  /** Microkernel rows (A rows per tile) and columns (multiple of 4). */
  readonly mr: number;
  readonly nr: number;
  /** Max k block, row block (multiple of mr) and column block (multiple of nr). */
  readonly kc: number;
  readonly mc: number;
  readonly nc: number;
  /** k unroll of the microkernel (power of 2; V8 11.3 runs 1 fastest). */
  readonly unroll: number;
  /**
   * Tile order within a row block: "rows" sweeps the row tiles for each B panel (BLIS: B panel
   * in L1), "cols" sweeps the B panels for each row tile (A panel in L1, C rows streamed).
   */
  readonly order: "rows" | "cols";
  /** "auto"/"never": read A in place when its rows are contiguous in k, else pack; "always": pack. */
  readonly packA: "auto" | "always" | "never";
  /**
   * "auto": read B in place when m ≤ directBMaxM and B rows are contiguous in n, else pack;
   * "never": read B in place whenever its rows are contiguous; "always": pack.
   */
  readonly packB: "auto" | "always" | "never";
  /** "auto" packing of B is skipped when m ≤ this. */
  readonly directBMaxM: number;
  /**
   * Max k block when B is read in place: few B rows at a time keep the pages and lines the
   * microkernel walks down (one row per k step) in the TLB and L1.
   */
  readonly directKc: number;
  /** Multiply-adds a thread should get before work is split (waking a worker costs ~10–50 µs). */
  readonly minMacsPerThread: number;
  /** Split columns too when (batch × row blocks) gives fewer units than this. */
  readonly minUnits: number;
}

export const DEFAULT_MATMUL_TUNING: MatmulTuning = {
  mr: 4,
  nr: 8,
  kc: 256,
  mc: 64,
  nc: 512,
  unroll: 1,
  order: "cols",
  packA: "auto",
  packB: "auto",
  directBMaxM: 64,
  directKc: 16,
  minMacsPerThread: 1 << 19,
  minUnits: 8,
};

export interface MatmulOptions {
  /** Build modules in the assembler's debug mode (traced and validated). */
  readonly debug?: boolean;
  readonly tuning?: Partial<MatmulTuning>;
}

interface BatchDim {
  readonly size: number;
  /** Strides in elements of a, b and out along this (collapsed) batch dim. */
  readonly sa: number;
  readonly sb: number;
  readonly sc: number;
}

/** Everything the generated code depends on. */
interface Spec {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly batch: number;
  readonly dims: readonly BatchDim[];
  readonly sam: number;
  readonly sak: number;
  readonly sbk: number;
  readonly sbn: number;
  readonly ldc: number;
}

/** Shapes and strides of the call, with size-1 dims' strides canonicalised and batch dims merged. */
function specOf(a: View, b: View, out: View): Spec | null {
  const r = out.shape.length;
  if (r < 2 || a.shape.length < 2 || b.shape.length < 2) return null;
  const m = out.shape[r - 2]!;
  const n = out.shape[r - 1]!;
  const k = a.shape[a.shape.length - 1]!;
  if (a.shape[a.shape.length - 2] !== m || b.shape[b.shape.length - 1] !== n || b.shape[b.shape.length - 2] !== k) return null;
  const ra = a.shape.length, rb = b.shape.length;
  let sam = a.strides[ra - 2]!, sak = a.strides[ra - 1]!;
  let sbk = b.strides[rb - 2]!, sbn = b.strides[rb - 1]!;
  let scn = out.strides[r - 1]!, ldc = out.strides[r - 2]!;
  if (k === 1) (sak = 1), (sbk = Math.max(n, 1));
  if (m === 1) sam = Math.max(k, 1);
  if (n === 1) (sbn = 1), (scn = 1);
  if (m === 1) ldc = n;
  if (scn !== 1 || ldc < n) return null; // out rows must be contiguous and disjoint
  // Batch dims, aligned from the right (missing leading dims broadcast).
  const raw: BatchDim[] = [];
  for (let d = 0; d < r - 2; d++) {
    const size = out.shape[d]!;
    const da = d - (r - ra), db = d - (r - rb);
    if (da >= 0 && a.shape[da] !== size && a.shape[da] !== 1) return null;
    if (db >= 0 && b.shape[db] !== size && b.shape[db] !== 1) return null;
    const sa = da >= 0 && a.shape[da] === size ? a.strides[da]! : 0;
    const sb = db >= 0 && b.shape[db] === size ? b.strides[db]! : 0;
    raw.push({ size, sa, sb, sc: out.strides[d]! });
  }
  let batch = 1;
  for (const d of raw) batch *= d.size;
  const dims: BatchDim[] = [];
  for (let d = raw.length - 1; d >= 0; d--) {
    const x = raw[d]!;
    if (x.size === 1) continue;
    const inner = dims[0];
    if (inner && x.sa === inner.sa * inner.size && x.sb === inner.sb * inner.size && x.sc === inner.sc * inner.size) {
      dims[0] = { size: x.size * inner.size, sa: inner.sa, sb: inner.sb, sc: inner.sc };
    } else dims.unshift({ ...x });
  }
  return { m, n, k, batch, dims, sam, sak, sbk, sbn, ldc };
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => ceilDiv(a, b) * b;
const align64 = (x: number): number => roundUp(x, 64);
const isPow2 = (x: number): boolean => x > 0 && (x & (x - 1)) === 0;

/** Blocking and modes derived from a spec and the tuning. */
interface Layout {
  readonly MR: number;
  readonly NR: number;
  readonly U: number;
  readonly order: "rows" | "cols";
  readonly KC: number;
  readonly NK: number;
  readonly lastKC: number;
  readonly MC: number;
  readonly MB: number;
  readonly lastMC: number;
  readonly NC: number;
  readonly NJ: number;
  readonly lastNC: number;
  readonly units: number;
  readonly packA: boolean;
  readonly packB: boolean;
  readonly bpBytes: number;
  readonly apBytes: number;
  readonly scratch: number;
  readonly minUnitsPerThread: number;
}

function layoutOf(s: Spec, t: MatmulTuning): Layout {
  const MR = t.mr, NR = t.nr, U = t.unroll;
  if (!Number.isInteger(MR) || MR < 1 || MR > 8) throw new RangeError(`matmul tuning: mr=${MR} must be in 1..8`);
  if (!Number.isInteger(NR) || NR < 4 || NR % 4 !== 0 || NR > 32) throw new RangeError(`matmul tuning: nr=${NR} must be a multiple of 4 in 4..32`);
  if (!isPow2(U) || U > 16) throw new RangeError(`matmul tuning: unroll=${U} must be a power of 2 ≤ 16`);
  const { m, n, k, batch } = s;
  const directA = s.sak === 1 && s.sam > 0;
  const packA = t.packA === "always" || !directA;
  const directB = s.sbn === 1 && s.sbk > 0;
  const packB = t.packB === "always" || !directB || (t.packB === "auto" && m > t.directBMaxM);
  const NK = Math.max(1, ceilDiv(k, packB ? t.kc : Math.min(t.kc, t.directKc)));
  const KC = ceilDiv(k, NK);
  const lastKC = k - (NK - 1) * KC;
  const MC = Math.min(roundUp(Math.max(t.mc, MR), MR), roundUp(m, MR));
  const MB = ceilDiv(m, MC);
  let NC = Math.min(roundUp(Math.max(t.nc, NR), NR), roundUp(n, NR));
  // Too few units to keep threads busy: cut columns too (A is then packed once per column block).
  if (batch * MB * ceilDiv(n, NC) < t.minUnits) {
    const want = ceilDiv(t.minUnits, batch * MB);
    NC = Math.max(Math.min(NC, 4 * NR), roundUp(ceilDiv(n, want), NR));
  }
  // Equal column blocks (1152 columns as 3 × 384, not 512 + 512 + 128), so that a thread's
  // share of the units is its share of the work.
  const NJ = ceilDiv(n, NC);
  NC = roundUp(ceilDiv(n, NJ), NR);
  const bpBytes = align64(KC * (packB ? roundUp(NC, NR) : n % NR ? NR : 0) * 4);
  const apBytes = packA ? align64(KC * MC * 4) : 0;
  const units = batch * NJ * MB;
  const macsPerUnit = Math.max(1, MC * Math.min(NC, n) * k);
  const minUnitsPerThread = k === 0 ? Math.max(units, 1) : Math.max(1, Math.ceil(t.minMacsPerThread / macsPerUnit));
  return { MR, NR, U, order: t.order, KC, NK, lastKC, MC, MB, lastMC: m - (MB - 1) * MC, NC, NJ, lastNC: n - (NJ - 1) * NC, units, packA, packB, bpBytes, apBytes, scratch: bpBytes + apBytes, minUnitsPerThread };
}

/** Returns the plan for a float32 matmul, or null for other dtypes / unsupported layouts. */
export function planMatmul(a: View, b: View, out: View, opts: MatmulOptions = {}): KernelPlan | null {
  if (a.dtype !== "float32" || b.dtype !== "float32" || out.dtype !== "float32") return null;
  const spec = specOf(a, b, out);
  if (!spec) return null;
  const tuning = { ...DEFAULT_MATMUL_TUNING, ...opts.tuning };
  const empty = spec.m === 0 || spec.n === 0 || spec.batch === 0;
  const L = empty ? null : layoutOf(spec, tuning);
  const dims = spec.dims.map((d) => `${d.size}:${d.sa}:${d.sb}:${d.sc}`).join(",");
  const tune = L ? `${L.MR}x${L.NR}u${L.U}k${L.KC}m${L.MC}n${L.NC}${L.packA ? "A" : "a"}${L.packB ? "B" : "b"}${L.order}` : "empty";
  const key = `matmul:f32:${spec.m}x${spec.k}x${spec.n}:[${dims}]:a${spec.sam},${spec.sak}:b${spec.sbk},${spec.sbn}:c${spec.ldc}:${tune}`;
  return {
    key,
    build: () => buildMatmul(spec, L, opts.debug),
    scratchBytesPerThread: L?.scratch ?? 0,
    units: L?.units ?? 0,
    minUnitsPerThread: L?.minUnitsPerThread ?? 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Code generation helpers

const MEMORY = { initial: 1, maximum: 65536, shared: true } as const;

/** local += delta. */
function addConst(f: FunctionBuilder, local: number, delta: number): void {
  if (delta === 0) return;
  f.local.get(local).i32.const(delta | 0).i32.add().local.set(local);
}

/** Pushes local + off where off < 0 and returns 0, else pushes local and returns off (for memargs). */
function base(f: FunctionBuilder, local: number, off: number): number {
  f.local.get(local);
  if (off >= 0) return off;
  f.i32.const(off | 0).i32.add();
  return 0;
}

/** Pushes local * c (i32, c a constant). */
function mulConst(f: FunctionBuilder, local: number, c: number): void {
  if (c === 0) f.i32.const(0);
  else if (c === 1) f.local.get(local);
  else if (isPow2(c)) f.local.get(local).i32.const(Math.log2(c)).i32.shl();
  else f.local.get(local).i32.const(c | 0).i32.mul();
}

/** Pushes local / c (unsigned, c > 0 a constant). */
function divConst(f: FunctionBuilder, local: number, c: number): void {
  if (c === 1) f.local.get(local);
  else if (isPow2(c)) f.local.get(local).i32.const(Math.log2(c)).i32.shr_u();
  else f.local.get(local).i32.const(c).i32.div_u();
}

let labelId = 0;

/** Runs `body` `count` times (count: a local, consumed); a do-while guarded for count = 0. */
function repeat(f: FunctionBuilder, count: number, body: () => void): void {
  const id = labelId++;
  f.block("void", `rd${id}`).local.get(count).i32.eqz().br_if(`rd${id}`);
  f.loop("void", `rl${id}`);
  body();
  f.local.get(count).i32.const(1).i32.sub().local.tee(count).br_if(`rl${id}`);
  f.end().end();
}

/** `for (i = from; i < to; i++) body` over i32 locals (to: pushed by `to()`). */
function forRange(f: FunctionBuilder, i: number, from: () => void, to: () => void, body: () => void): void {
  const id = labelId++;
  from();
  f.local.set(i);
  f.block("void", `fd${id}`).loop("void", `fl${id}`);
  f.local.get(i);
  to();
  f.i32.ge_u().br_if(`fd${id}`);
  body();
  f.local.get(i).i32.const(1).i32.add().local.set(i);
  f.br(`fl${id}`).end().end();
}

/** 32-bit lane shuffle of the two v128 on the stack. */
function shuffle32(f: FunctionBuilder, lanes: readonly number[]): void {
  const bytes: number[] = [];
  for (const l of lanes) for (let i = 0; i < 4; i++) bytes.push(4 * l + i);
  f.i8x16.shuffle(bytes);
}

// ---------------------------------------------------------------------------------------------
// Microkernel

interface TileSpec {
  readonly name: string;
  /** Rows computed and stored; columns stored (≤ 4·nv). */
  readonly mr: number;
  readonly nr: number;
  readonly U: number;
  /** Byte step per k of the A and B pointers, byte distance between A rows. */
  readonly aStep: number;
  readonly aRow: number;
  readonly bStep: number;
  /** Byte steps of the A, B and C pointers from one tile to the next. */
  readonly aTile: number;
  readonly bTile: number;
  readonly cTile: number;
  readonly cRow: number;
}

/**
 * tile(pa, pb, pc, kc, first, ntiles): for each of `ntiles` row tiles, C[mr×nr] = (first ? 0 : C)
 * + Σ_{p<kc} A[:, p] B[p, :], k in increasing order; then pa += aTile, pb += bTile, pc += cTile.
 */
function emitTile(mb: ModuleBuilder, t: TileSpec): FunctionBuilder {
  const nv = ceilDiv(t.nr, 4);
  return mb.func({ name: t.name, params: ["i32", "i32", "i32", "i32", "i32", "i32"] }, (f) => {
    const [pa, pb, pc, kc, first, ntiles] = [0, 1, 2, 3, 4, 5];
    const ka = f.addLocal("i32"), kb = f.addLocal("i32"), cnt = f.addLocal("i32");
    const acc = f.addLocal("v128", t.mr * nv);
    const bv = f.addLocal("v128", nv);
    const av = f.addLocal("v128");
    const A = (i: number, v: number) => acc + i * nv + v;
    const lanes = (v: number) => Math.min(4, t.nr - 4 * v);

    const step = (ao: number, bo: number) => {
      for (let v = 0; v < nv; v++) f.local.get(kb).v128.load(2, bo + 16 * v).local.set(bv + v);
      for (let i = 0; i < t.mr; i++) {
        f.local.get(ka).v128.load32_splat(2, ao + i * t.aRow).local.set(av);
        for (let v = 0; v < nv; v++) mulAccumulate(f.local.get(av).local.get(bv + v), A(i, v));
      }
    };

    f.loop("void", "tiles");
    // Accumulators start at 0 (first k block) or at C's partial sums.
    f.local.get(first).if();
    for (let i = 0; i < t.mr; i++) for (let v = 0; v < nv; v++) f.v128.const_i32x4(0, 0, 0, 0).local.set(A(i, v));
    f.else();
    for (let i = 0; i < t.mr; i++) {
      for (let v = 0; v < nv; v++) {
        const off = i * t.cRow + 16 * v;
        const w = lanes(v);
        if (w === 4) f.local.get(pc).v128.load(2, off);
        else if (w === 3) f.local.get(pc).local.get(pc).v128.load64_zero(2, off).v128.load32_lane(2, 2, off + 8);
        else if (w === 2) f.local.get(pc).v128.load64_zero(2, off);
        else f.local.get(pc).v128.load32_zero(2, off);
        f.local.set(A(i, v));
      }
    }
    f.end();

    f.local.get(pa).local.set(ka).local.get(pb).local.set(kb);
    f.local.get(kc).i32.const(Math.log2(t.U)).i32.shr_u().local.set(cnt);
    repeat(f, cnt, () => {
      for (let u = 0; u < t.U; u++) step(u * t.aStep, u * t.bStep);
      addConst(f, ka, t.U * t.aStep);
      addConst(f, kb, t.U * t.bStep);
    });
    if (t.U > 1) {
      f.local.get(kc).i32.const(t.U - 1).i32.and().local.set(cnt);
      repeat(f, cnt, () => {
        step(0, 0);
        addConst(f, ka, t.aStep);
        addConst(f, kb, t.bStep);
      });
    }

    for (let i = 0; i < t.mr; i++) {
      for (let v = 0; v < nv; v++) {
        const off = i * t.cRow + 16 * v;
        const w = lanes(v);
        f.local.get(pc).local.get(A(i, v));
        if (w === 4) f.v128.store(2, off);
        else if (w === 3) f.v128.store64_lane(0, 2, off).local.get(pc).local.get(A(i, v)).v128.store32_lane(2, 2, off + 8);
        else if (w === 2) f.v128.store64_lane(0, 2, off);
        else f.v128.store32_lane(0, 2, off);
      }
    }
    addConst(f, pa, t.aTile);
    addConst(f, pb, t.bTile);
    addConst(f, pc, t.cTile);
    f.local.get(ntiles).i32.const(1).i32.sub().local.tee(ntiles).br_if("tiles");
    f.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Packing

interface PackSpec {
  readonly name: string;
  /** Lanes per panel (MR for A, NR for B). */
  readonly W: number;
  /** Source strides in elements along the packed k axis and along the lanes. */
  readonly sP: number;
  readonly sR: number;
  /** Bytes between consecutive panels in the destination. */
  readonly panel: number;
  /** The only possible ragged lane count of a last panel (0: none). */
  readonly rem: number;
}

/**
 * pack(dst, src, kc, cols): dst[q][p][l] = src[p·sP + (q·W + l)·sR] for p < kc, lanes < cols,
 * zero-padding the ragged last panel to W lanes.
 */
function emitPack(mb: ModuleBuilder, s: PackSpec): FunctionBuilder {
  const { W, sP, sR } = s;
  return mb.func({ name: s.name, params: ["i32", "i32", "i32", "i32"] }, (f) => {
    const [dst, src, kc, cols] = [0, 1, 2, 3];
    const q = f.addLocal("i32"), cnt = f.addLocal("i32"), sp = f.addLocal("i32"), dp = f.addLocal("i32");
    const ps = f.addLocal("i32"), pd = f.addLocal("i32");
    const r = f.addLocal("v128", 4), t = f.addLocal("v128", 4);

    const copyScalar = (lanesN: number) => {
      // One k row of `lanesN` lanes: dp[l] = sp[l·sR].
      for (let l = 0; l < lanesN; l++) {
        f.local.get(dp);
        const o = base(f, sp, l * sR * 4);
        f.i32.load(2, o).i32.store(2, l * 4);
      }
    };

    // Full panels.
    const fullPanel = () => {
      if (sR === 1 && W % 4 === 0) {
        f.local.get(kc).local.set(cnt);
        repeat(f, cnt, () => {
          for (let v = 0; v < W / 4; v++) f.local.get(dp).local.get(sp).v128.load(2, 16 * v).v128.store(2, 16 * v);
          addConst(f, sp, sP * 4);
          addConst(f, dp, W * 4);
        });
      } else if (sP === 1 && W % 4 === 0) {
        // 4×4 transposes: 4 lanes (columns of the source) × 4 consecutive k.
        f.local.get(kc).i32.const(2).i32.shr_u().local.set(cnt);
        repeat(f, cnt, () => {
          for (let v = 0; v < W / 4; v++) {
            for (let j = 0; j < 4; j++) {
              const o = base(f, sp, (4 * v + j) * sR * 4);
              f.v128.load(2, o).local.set(r + j);
            }
            f.local.get(r).local.get(r + 1);
            shuffle32(f, [0, 4, 1, 5]);
            f.local.set(t);
            f.local.get(r).local.get(r + 1);
            shuffle32(f, [2, 6, 3, 7]);
            f.local.set(t + 1);
            f.local.get(r + 2).local.get(r + 3);
            shuffle32(f, [0, 4, 1, 5]);
            f.local.set(t + 2);
            f.local.get(r + 2).local.get(r + 3);
            shuffle32(f, [2, 6, 3, 7]);
            f.local.set(t + 3);
            const outs: [number, number, number[]][] = [
              [t, t + 2, [0, 1, 4, 5]],
              [t, t + 2, [2, 3, 6, 7]],
              [t + 1, t + 3, [0, 1, 4, 5]],
              [t + 1, t + 3, [2, 3, 6, 7]],
            ];
            outs.forEach(([x, y, sh], j) => {
              f.local.get(dp).local.get(x).local.get(y);
              shuffle32(f, sh);
              f.v128.store(2, j * W * 4 + 16 * v);
            });
          }
          addConst(f, sp, 16);
          addConst(f, dp, 4 * W * 4);
        });
        f.local.get(kc).i32.const(3).i32.and().local.set(cnt);
        repeat(f, cnt, () => {
          copyScalar(W);
          addConst(f, sp, 4);
          addConst(f, dp, W * 4);
        });
      } else {
        f.local.get(kc).local.set(cnt);
        repeat(f, cnt, () => {
          copyScalar(W);
          addConst(f, sp, sP * 4);
          addConst(f, dp, W * 4);
        });
      }
    };

    f.local.get(src).local.set(ps).local.get(dst).local.set(pd);
    divConst(f, cols, W);
    f.local.set(q);
    repeat(f, q, () => {
      f.local.get(ps).local.set(sp).local.get(pd).local.set(dp);
      fullPanel();
      addConst(f, ps, W * sR * 4);
      addConst(f, pd, s.panel);
    });
    if (s.rem > 0) {
      // Ragged last panel: zero it, then copy the valid lanes.
      f.local.get(cols).i32.const(W).i32.rem_u().if();
      f.local.get(pd).i32.const(0).local.get(kc).i32.const(W * 4).i32.mul().memory.fill();
      f.local.get(ps).local.set(sp).local.get(pd).local.set(dp).local.get(kc).local.set(cnt);
      repeat(f, cnt, () => {
        copyScalar(s.rem);
        addConst(f, sp, sP * 4);
        addConst(f, dp, W * 4);
      });
      f.end();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Driver

function buildMatmul(s: Spec, L: Layout | null, debug: boolean | undefined): Uint8Array {
  const mb = new ModuleBuilder(debug === undefined ? { name: "matmul" } : { debug, name: "matmul" });
  mb.importMemory("env", "memory", MEMORY);
  const params = ["i32", "i32", "i32", "i32", "i32", "i32", "i32"] as const;
  if (!L) {
    mb.func({ name: "run", params: [...params], export: true }, () => {});
    return mb.build();
  }
  const { m, n, ldc } = s;
  const { MR, NR, U, KC, MC, NC, MB, NJ, NK, packA, packB } = L;
  const cRow = ldc * 4;
  const aTile = packA ? KC * MR * 4 : MR * s.sam * 4;
  const aStep = packA ? MR * 4 : 4;
  const aRow = packA ? 4 : s.sam * 4;
  const bPanel = KC * NR * 4;
  const remM = m % MR, remN = n % NR;

  const byRows = L.order === "rows";
  // Tile variants that can occur: (rows, cols, B packed?); each sweeps tiles in `order`.
  const tiles = new Map<string, FunctionBuilder>();
  const tile = (mr: number, nr: number, bPacked: boolean): FunctionBuilder => {
    const name = `tile${mr}x${nr}${bPacked ? "p" : "d"}`;
    let fn = tiles.get(name);
    if (!fn) {
      const bStep = bPacked ? NR * 4 : s.sbk * 4;
      const steps = byRows ? { aTile, bTile: 0, cTile: MR * cRow } : { aTile: 0, bTile: bPacked ? bPanel : NR * 4, cTile: NR * 4 };
      fn = emitTile(mb, { name, mr, nr, U, aStep, aRow, bStep, cRow, ...steps });
      tiles.set(name, fn);
    }
    return fn;
  };
  const packBFn = emitPack(mb, { name: "packB", W: NR, sP: s.sbk, sR: s.sbn, panel: bPanel, rem: remN });
  const packAFn = packA ? emitPack(mb, { name: "packA", W: MR, sP: s.sak, sR: s.sam, panel: KC * MR * 4, rem: remM }) : null;

  mb.func({ name: "run", params: [...params], export: true }, (f) => {
    const [A, B, C, S, start, end, thread] = [0, 1, 2, 3, 4, 5, 6];
    const L32 = () => f.addLocal("i32");
    const u = L32(), g = L32(), ib0 = L32(), cnt = L32(), bi = L32(), jb = L32(), tmp = L32();
    const aB = L32(), bB = L32(), cB = L32(), nc = L32(), kb = L32(), kc = L32(), bsrc = L32(), asrc = L32();
    const ib = L32(), mc = L32(), pa = L32(), cbase = L32(), full = L32(), jr = L32(), nfull = L32();
    const bp = L32(), ap = L32(), first = L32(), pbj = L32(), pbr = L32();

    // Per-thread scratch.
    f.local.get(S);
    mulConst(f, thread, L.scratch);
    f.i32.add().local.tee(bp).i32.const(L.bpBytes).i32.add().local.set(ap);

    f.local.get(start).local.set(u);
    f.block("void", "units").loop("void", "groups");
    f.local.get(u).local.get(end).i32.ge_u().br_if("units");
    // u = (bi·NJ + jb)·MB + ib
    divConst(f, u, MB);
    f.local.set(g);
    f.local.get(u);
    mulConst(f, g, MB);
    f.i32.sub().local.set(ib0);
    // cnt = min(MB - ib0, end - u)
    f.i32.const(MB).local.get(ib0).i32.sub().local.tee(cnt);
    f.local.get(end).local.get(u).i32.sub().local.tee(tmp);
    f.local.get(cnt).local.get(tmp).i32.lt_u().select().local.set(cnt);
    divConst(f, g, NJ);
    f.local.set(bi);
    f.local.get(g);
    mulConst(f, bi, NJ);
    f.i32.sub().local.set(jb);

    // Batch offsets (mixed radix over the collapsed batch dims).
    f.local.get(A).local.set(aB).local.get(B).local.set(bB).local.get(C).local.set(cB);
    let inner = 1;
    for (let d = s.dims.length - 1; d >= 0; d--) {
      const dim = s.dims[d]!;
      divConst(f, bi, inner);
      if (d > 0) f.i32.const(dim.size).i32.rem_u();
      f.local.set(tmp);
      for (const [ptr, stride] of [[aB, dim.sa], [bB, dim.sb], [cB, dim.sc]] as const) {
        if (stride === 0) continue;
        f.local.get(ptr);
        mulConst(f, tmp, stride * 4);
        f.i32.add().local.set(ptr);
      }
      inner *= dim.size;
    }
    // Column block: j0 = jb·NC.
    f.local.get(bB);
    mulConst(f, jb, NC * s.sbn * 4);
    f.i32.add().local.set(bB);
    f.local.get(cB);
    mulConst(f, jb, NC * 4);
    f.i32.add().local.set(cB);
    f.i32.const(L.lastNC).i32.const(NC).local.get(jb).i32.const(NJ - 1).i32.eq().select().local.set(nc);
    divConst(f, nc, NR);
    f.local.set(nfull);

    forRange(f, kb, () => f.i32.const(0), () => f.i32.const(NK), () => {
      f.local.get(kb).i32.eqz().local.set(first);
      f.i32.const(L.lastKC).i32.const(KC).local.get(kb).i32.const(NK - 1).i32.eq().select().local.set(kc);
      f.local.get(bB);
      mulConst(f, kb, KC * s.sbk * 4);
      f.i32.add().local.set(bsrc);
      if (packB) {
        f.local.get(bp).local.get(bsrc).local.get(kc).local.get(nc).call(packBFn);
      } else if (remN) {
        // Direct B: only the ragged last panel is packed.
        f.local.get(nc).i32.const(NR).i32.rem_u().if();
        f.local.get(bp).local.get(bsrc);
        f.i32.const(0);
        mulConst(f, nfull, NR * s.sbn * 4);
        f.i32.add().i32.add();
        f.local.get(kc).local.get(nc).i32.const(NR).i32.rem_u().call(packBFn);
        f.end();
      }
      forRange(f, ib, () => f.local.get(ib0), () => f.local.get(ib0).local.get(cnt).i32.add(), () => {
        f.i32.const(L.lastMC).i32.const(MC).local.get(ib).i32.const(MB - 1).i32.eq().select().local.set(mc);
        // A source: aB + i0·sam + k0·sak.
        f.local.get(aB);
        mulConst(f, ib, MC * s.sam * 4);
        f.i32.add();
        mulConst(f, kb, KC * s.sak * 4);
        f.i32.add().local.set(asrc);
        if (packAFn) {
          f.local.get(ap).local.get(asrc).local.get(kc).local.get(mc).call(packAFn);
          f.local.get(ap).local.set(pa);
        } else f.local.get(asrc).local.set(pa);
        f.local.get(cB);
        mulConst(f, ib, MC * cRow);
        f.i32.add().local.set(cbase);
        divConst(f, mc, MR);
        f.local.set(full);

        // B of full panel 0, and of the ragged last panel (always packed).
        f.local.get(packB ? bp : bsrc).local.set(pbj);
        f.local.get(bp);
        if (packB) {
          mulConst(f, nfull, bPanel);
          f.i32.add();
        }
        f.local.set(pbr);
        /** Calls tile(mr, nr) for `count` tiles from (pa + a, pb, pc + c) (byte offsets pushed by a/c). */
        const call = (mr: number, nr: number, bPacked: boolean, a: () => void, pb: number, c: () => void, count: () => void) => {
          f.local.get(pa);
          a();
          f.i32.add().local.get(pb).local.get(cbase);
          c();
          f.i32.add().local.get(kc).local.get(first);
          count();
          f.call(tile(mr, nr, bPacked));
        };
        const zero = () => f.i32.const(0);
        const one = () => f.i32.const(1);
        const colOff = () => mulConst(f, nfull, NR * 4);
        if (byRows) {
          // For each B panel: the full row tiles, then the ragged row tile (last row block only).
          const panel = (nr: number, bPacked: boolean, pb: number, c: () => void) => {
            f.local.get(full).if();
            call(MR, nr, bPacked, zero, pb, c, () => f.local.get(full));
            f.end();
            if (remM) {
              f.local.get(mc).i32.const(MR).i32.rem_u().if();
              call(remM, nr, bPacked, () => mulConst(f, full, aTile), pb, () => {
                c();
                mulConst(f, full, MR * cRow);
                f.i32.add();
              }, one);
              f.end();
            }
          };
          forRange(f, jr, () => f.i32.const(0), () => f.local.get(nfull), () => {
            panel(NR, packB, pbj, () => mulConst(f, jr, NR * 4));
            addConst(f, pbj, packB ? bPanel : NR * 4);
          });
          if (remN) {
            f.local.get(nc).i32.const(NR).i32.rem_u().if();
            panel(remN, true, pbr, colOff);
            f.end();
          }
        } else {
          // For each row tile: the full B panels, then the ragged panel (last column block only).
          const rowTile = (mr: number, a: () => void, c: () => void) => {
            f.local.get(nfull).if();
            call(mr, NR, packB, a, pbj, c, () => f.local.get(nfull));
            f.end();
            if (remN) {
              f.local.get(nc).i32.const(NR).i32.rem_u().if();
              call(mr, remN, true, a, pbr, () => {
                c();
                colOff();
                f.i32.add();
              }, one);
              f.end();
            }
          };
          forRange(f, jr, () => f.i32.const(0), () => f.local.get(full), () => {
            rowTile(MR, () => mulConst(f, jr, aTile), () => mulConst(f, jr, MR * cRow));
          });
          if (remM) {
            f.local.get(mc).i32.const(MR).i32.rem_u().if();
            rowTile(remM, () => mulConst(f, full, aTile), () => mulConst(f, full, MR * cRow));
            f.end();
          }
        }
      });
    });

    f.local.get(u).local.get(cnt).i32.add().local.set(u);
    f.br("groups").end().end();
  });
  return mb.build();
}
