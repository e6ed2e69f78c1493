import { ModuleBuilder, type FunctionBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import { addConst, loop } from "./emit.js";
import type { KernelPlan } from "./plan.js";

/**
 * The embedding pattern of gather / scatter_add: 2-D float32 rows picked along axis 0 by an
 * index that is constant along each row (an expanded [N, 1] index). Other shapes use the
 * reference kernels. Indices are checked on the host before a kernel runs (`rowIndices`).
 */
export function isRowIndexed(x: View, idx: View, axis: number): boolean {
  return axis === 0 && x.shape.length === 2 && x.dtype === "float32" && x.strides[1] === 1 && idx.strides[1] === 0;
}

const COLS = 16; // columns per scatter work unit: one cache line of each row

/** out[i, :] = x[idx[i], :], one row copy per unit. Args: x, idx, out. */
export function planGatherRows(x: View, idx: View, out: View): KernelPlan {
  const [n, d] = out.shape as [number, number];
  const xRow = x.strides[0]! * 4;
  const idxStride = idx.strides[0]! * 4;
  return {
    key: ["gather-rows", d, xRow, idxStride].join(";"),
    build: () => {
      const m = new ModuleBuilder();
      m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
      m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
        const [xp, ip, op, start, end] = [0, 1, 2, 3, 4];
        const u = f.addLocal("i32");
        f.local.get(start).local.set(u);
        loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
          // memory.copy(out + u*d*4, x + idx[u]*xRow, d*4)
          f.local.get(op).local.get(u).i32.const(d * 4).i32.mul().i32.add();
          f.local.get(xp).local.get(ip).local.get(u).i32.const(idxStride).i32.mul().i32.add().i32.load(2).i32.const(xRow).i32.mul().i32.add();
          f.i32.const(d * 4).memory.copy();
          addConst(f, u, 1);
        });
      });
      return m.build();
    },
    units: n,
    minUnitsPerThread: Math.max(1, Math.ceil(8192 / d)),
  };
}

/**
 * out = base; out[idx[i], :] += src[i, :] for i in order. Work units are blocks of 16 columns,
 * so threads never write the same element and each element's additions keep source order.
 * Args: base, idx, src, out.
 */
export function planScatterAddRows(base: View, idx: View, src: View): KernelPlan | null {
  if (base.strides[1] !== 1 || src.strides[1] !== 1 || src.dtype !== "float32") return null;
  const [rows, d] = base.shape as [number, number];
  const n = src.shape[0]!;
  const [baseRow, srcRow, idxStride] = [base.strides[0]! * 4, src.strides[0]! * 4, idx.strides[0]! * 4];
  const units = Math.ceil(d / COLS);
  return {
    key: ["scatter-rows", rows, d, n, baseRow, srcRow, idxStride].join(";"),
    build: () => {
      const m = new ModuleBuilder();
      m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
      m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
        const [bp, ip, sp, op, start, end] = [0, 1, 2, 3, 4, 5];
        const u = f.addLocal("i32");
        const c0 = f.addLocal("i32");
        const cols = f.addLocal("i32");
        const i = f.addLocal("i32");
        const c = f.addLocal("i32");
        const dst = f.addLocal("i32");
        const s = f.addLocal("i32");
        f.local.get(start).local.set(u);
        loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
          f.local.get(u).i32.const(COLS).i32.mul().local.set(c0);
          // cols = min(COLS, d - c0)
          f.i32.const(d).local.get(c0).i32.sub().local.tee(cols).i32.const(COLS).local.get(cols).i32.const(COLS).i32.lt_u().select().local.set(cols);
          // Copy the base block.
          f.i32.const(0).local.set(i);
          loop(f, () => f.local.get(i).i32.const(rows).i32.ge_u(), () => {
            f.local.get(op).local.get(i).i32.const(d * 4).i32.mul().i32.add().local.get(c0).i32.const(4).i32.mul().i32.add();
            f.local.get(bp).local.get(i).i32.const(baseRow).i32.mul().i32.add().local.get(c0).i32.const(4).i32.mul().i32.add();
            f.local.get(cols).i32.const(4).i32.mul().memory.copy();
            addConst(f, i, 1);
          });
          // Add source rows in order.
          f.i32.const(0).local.set(i);
          loop(f, () => f.local.get(i).i32.const(n).i32.ge_u(), () => {
            f.local.get(op).local.get(ip).local.get(i).i32.const(idxStride).i32.mul().i32.add().i32.load(2).i32.const(d * 4).i32.mul().i32.add();
            f.local.get(c0).i32.const(4).i32.mul().i32.add().local.set(dst);
            f.local.get(sp).local.get(i).i32.const(srcRow).i32.mul().i32.add().local.get(c0).i32.const(4).i32.mul().i32.add().local.set(s);
            f.i32.const(0).local.set(c);
            loop(f, () => f.local.get(c).local.get(cols).i32.ge_u(), () => {
              f.local.get(dst).local.get(dst).f32.load(2).local.get(s).f32.load(2).f32.add().f32.store(2);
              addConst(f, dst, 4);
              addConst(f, s, 4);
              addConst(f, c, 1);
            });
            addConst(f, i, 1);
          });
          addConst(f, u, 1);
        });
      });
      return m.build();
    },
    units,
    minUnitsPerThread: 4,
  };
}

/**
 * The cross-entropy pattern: one element picked per row along the last axis by an index
 * [..., 1] (take_along_axis), over float32 rows that are contiguous, and its scatter-add.
 */
export function isPicked(x: View, idx: View, axis: number): boolean {
  const last = x.shape.length - 1;
  return axis === last && x.dtype === "float32" && idx.shape[last] === 1 && isDense(x) && isDense(idx);
}

/** Row-major without gaps (offsets are already in the base address). */
function isDense(v: View): boolean {
  let expected = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== expected) return false;
    expected *= v.shape[i]!;
  }
  return true;
}

/** out[r] = x[r, idx[r]]. Args: x, idx, out. */
export function planGatherPick(x: View, out: View): KernelPlan {
  const c = x.shape[x.shape.length - 1]!;
  const rows = out.shape.reduce((a, b) => a * b, 1);
  return {
    key: ["gather-pick", c].join(";"),
    build: () =>
      rowsKernel(3, (f, [xp, ip, op], r) => {
        f.local.get(op).local.get(r).i32.const(4).i32.mul().i32.add();
        f.local.get(xp).local.get(r).i32.const(c * 4).i32.mul().i32.add();
        f.local.get(ip).local.get(r).i32.const(4).i32.mul().i32.add().i32.load(2).i32.const(4).i32.mul().i32.add();
        f.f32.load(2).f32.store(2);
      }),
    units: rows,
    minUnitsPerThread: 4096,
  };
}

/** out = base; out[r, idx[r]] += src[r]: each unit owns one row. Args: base, idx, src, out. */
export function planScatterPick(base: View, src: View): KernelPlan | null {
  if (!isDense(src) || src.dtype !== "float32") return null;
  const c = base.shape[base.shape.length - 1]!;
  const rows = src.shape.reduce((a, b) => a * b, 1);
  return {
    key: ["scatter-pick", c].join(";"),
    build: () =>
      rowsKernel(4, (f, [bp, ip, sp, op], r) => {
        const dst = f.addLocal("i32");
        // Copy the base row, then add the picked element.
        f.local.get(op).local.get(r).i32.const(c * 4).i32.mul().i32.add();
        f.local.get(bp).local.get(r).i32.const(c * 4).i32.mul().i32.add();
        f.i32.const(c * 4).memory.copy();
        f.local.get(op).local.get(r).i32.const(c * 4).i32.mul().i32.add();
        f.local.get(ip).local.get(r).i32.const(4).i32.mul().i32.add().i32.load(2).i32.const(4).i32.mul().i32.add().local.tee(dst);
        f.local.get(dst).f32.load(2).local.get(sp).local.get(r).i32.const(4).i32.mul().i32.add().f32.load(2).f32.add().f32.store(2);
      }),
    units: rows,
    minUnitsPerThread: 1024,
  };
}

/** A kernel looping `body` over rows [start, end) with `nArgs` address arguments. */
function rowsKernel(nArgs: number, body: (f: FunctionBuilder, args: number[], row: number) => void): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  const params = Array.from({ length: nArgs + 3 }, () => "i32" as const);
  m.func({ name: "run", params, export: true }, (f) => {
    const args = Array.from({ length: nArgs }, (_, i) => i);
    const [start, end] = [nArgs, nArgs + 1];
    const r = f.addLocal("i32");
    f.local.get(start).local.set(r);
    loop(f, () => f.local.get(r).local.get(end).i32.ge_u(), () => {
      body(f, args, r);
      addConst(f, r, 1);
    });
  });
  return m.build();
}
