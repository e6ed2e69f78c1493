import { ModuleBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import { dtypeInfo } from "../../../core/dtype.js";
import type { CallOf } from "../../../ops/primitives.js";
import { addConst, loop } from "./emit.js";
import type { KernelPlan } from "./plan.js";

/**
 * concat and pad as row copies into the contiguous output: an input is a grid of rows whose
 * elements are contiguous (any uniform row stride: slices of a bigger tensor qualify), each row
 * lands in one contiguous run of the output (memory.copy), with pad's zeros on either side
 * (memory.fill), so every output byte is written once. Other layouts, and pads on more than one
 * dim, use the reference kernels.
 */

/** One input's placement: its rows, copied to `dstOffset + r·dstStride` (all in bytes). */
export interface RowCopy {
  readonly input: number;
  readonly dstOffset: number;
  readonly plan: KernelPlan;
}

/** Rows of at least this many bytes per work unit, and per thread before work is split. */
const UNIT_BYTES = 16384;
const THREAD_BYTES = 131072;

/** The copies that assemble `out`, or null when some input's layout is not rows of contiguous runs. */
export function planAssemble(call: CallOf<"concat" | "pad">, inputs: readonly View[], out: View): RowCopy[] | null {
  const bytes = dtypeInfo(out.dtype).bytes;
  if (call.op === "pad") {
    const padded = call.pads.flatMap(([a, b], d) => (a || b ? [d] : []));
    if (padded.length !== 1) return null;
    const k = padded[0]!;
    const x = inputs[0]!;
    const grid = rowsOf(x, k);
    if (!grid) return null;
    const inner = product(x.shape, k + 1);
    const [lo, hi] = call.pads[k]!;
    const plan = rowCopy(grid.rows, grid.run * bytes, grid.stride * bytes, out.shape[k]! * inner * bytes, lo * inner * bytes, hi * inner * bytes);
    return [{ input: 0, dstOffset: 0, plan }];
  }
  const a = call.axis;
  const dstRow = product(out.shape, a);
  const copies: RowCopy[] = [];
  let offset = 0;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    const grid = rowsOf(x, a);
    if (!grid) return null;
    if (grid.rows * grid.run > 0) copies.push({ input: i, dstOffset: offset * bytes, plan: rowCopy(grid.rows, grid.run * bytes, grid.stride * bytes, dstRow * bytes, 0, 0) });
    offset += grid.run;
  }
  return copies;
}

const product = (shape: readonly number[], from: number): number => shape.slice(from).reduce((p, d) => p * d, 1);

/**
 * The view as rows × run: dims k.. contiguous (a run of their product), dims ..k one uniform row
 * stride; null when they are not. Size-1 dims carry no stride.
 */
function rowsOf(v: View, k: number): { rows: number; run: number; stride: number } | null {
  let expect = 1;
  for (let d = v.shape.length - 1; d >= k; d--) {
    if (v.shape[d] === 1) continue;
    if (v.strides[d] !== expect) return null;
    expect *= v.shape[d]!;
  }
  const run = product(v.shape, k);
  // The row stride may be negative (a reversed slice): the kernel's i32 address arithmetic wraps.
  let stride: number | null = null;
  let next = 0;
  for (let d = k - 1; d >= 0; d--) {
    if (v.shape[d] === 1) continue;
    if (stride === null) stride = v.strides[d]!;
    else if (v.strides[d] !== next) return null;
    next = v.strides[d]! * v.shape[d]!;
  }
  return { rows: product(v.shape.slice(0, k), 0), run, stride: stride ?? 0 };
}

/** Copies `rows` rows of `run` bytes (source stride `srcStride`) to rows `lo | run | hi` of stride `dstStride`. Args: src, dst. */
function rowCopy(rows: number, run: number, srcStride: number, dstStride: number, lo: number, hi: number): KernelPlan {
  const perUnit = Math.max(1, Math.ceil(UNIT_BYTES / dstStride));
  return {
    key: ["row-copy", rows, run, srcStride, dstStride, lo, hi, perUnit].join(";"),
    build: () => {
      const m = new ModuleBuilder();
      m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
      m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
        const [src, dst, start, end] = [0, 1, 2, 3];
        const r = f.addLocal("i32");
        const last = f.addLocal("i32");
        const d = f.addLocal("i32");
        // Rows [start·perUnit, min(end·perUnit, rows)).
        f.local.get(start).i32.const(perUnit).i32.mul().local.set(r);
        f.local.get(end).i32.const(perUnit).i32.mul().local.tee(last).i32.const(rows).local.get(last).i32.const(rows).i32.lt_u().select().local.set(last);
        loop(f, () => f.local.get(r).local.get(last).i32.ge_u(), () => {
          f.local.get(dst).local.get(r).i32.const(dstStride).i32.mul().i32.add().local.set(d);
          if (lo) f.local.get(d).i32.const(0).i32.const(lo).memory.fill();
          f.local.get(d).i32.const(lo).i32.add();
          f.local.get(src).local.get(r).i32.const(srcStride).i32.mul().i32.add();
          f.i32.const(run).memory.copy();
          if (hi) f.local.get(d).i32.const(lo + run).i32.add().i32.const(0).i32.const(hi).memory.fill();
          addConst(f, r, 1);
        });
      });
      return m.build();
    },
    units: Math.ceil(rows / perUnit),
    minUnitsPerThread: Math.max(1, Math.ceil(THREAD_BYTES / (perUnit * dstStride))),
  };
}
