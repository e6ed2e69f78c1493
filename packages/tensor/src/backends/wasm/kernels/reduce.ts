import { ModuleBuilder, type FunctionBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import type { ReduceOp } from "../../../ops/primitives.js";
import { addConst, loop } from "./emit.js";
import { collapse, shapeKey, type Nest } from "./layout.js";
import type { KernelPlan } from "./plan.js";

const INIT: Record<ReduceOp, number> = { sum: 0, max: -Infinity, min: Infinity };
const MIN_PER_THREAD = 32768;
const WIDE = 64;

/**
 * sum / max / min of float32 over any axes. Kept and reduced dims are collapsed separately.
 * When the innermost reduced dim is contiguous, each output element is reduced with two f32x4
 * accumulators ("row" reduction); when instead the innermost kept dim is contiguous, four
 * adjacent outputs are reduced together in one f32x4 ("column" reduction). Every output's
 * summation order is fixed by the code, never by the thread split.
 */
export function planReduce(op: ReduceOp, axes: readonly number[], x: View, out: View): KernelPlan | null {
  if (x.dtype !== "float32") return null;
  const keptDims = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const redDims = [...axes];
  const kept = collapse(keptDims.map((d) => x.shape[d]!), [keptDims.map((d) => x.strides[d]!), keptDims.map((d) => out.strides[d]!)]);
  const red = collapse(redDims.map((d) => x.shape[d]!), [redDims.map((d) => x.strides[d]!)]);
  const redInner = red.strides[0]![red.shape.length - 1]!;
  const keptInnerX = kept.strides[0]![kept.shape.length - 1]!;
  const keptInnerOut = kept.strides[1]![kept.shape.length - 1]!;
  const redCount = red.shape.reduce((a, b) => a * b, 1);
  const outCount = kept.shape.reduce((a, b) => a * b, 1);
  const mode = redInner === 1 && red.shape[red.shape.length - 1]! >= 8 ? "row" : keptInnerX === 1 && keptInnerOut === 1 && kept.shape[kept.shape.length - 1]! >= 4 ? "column" : "scalar";
  const keptInner = kept.shape[kept.shape.length - 1]!;
  // Column units span 64 floats (4 cache lines, accumulated in the output) when the rows are
  // made of such groups, else one cache line (16 floats, in registers) or 4 floats.
  const group = mode === "column" ? (keptInner % WIDE === 0 ? WIDE : keptInner >= 16 ? 16 : 4) : 1;
  const groupsPerRow = Math.ceil(keptInner / group);
  const units = (outCount / keptInner) * groupsPerRow;
  const key = ["reduce", op, mode, shapeKey(kept.shape), kept.strides.map(shapeKey).join("|"), shapeKey(red.shape), shapeKey(red.strides[0]!)].join(";");
  return {
    key,
    build: () => build(op, mode, kept, red, group, groupsPerRow),
    units,
    minUnitsPerThread: Math.max(1, Math.ceil(MIN_PER_THREAD / (redCount * group))),
  };
}

function build(op: ReduceOp, mode: "row" | "column" | "scalar", kept: Nest, red: Nest, group: number, groupsPerRow: number): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  m.func({ name: "run", params: ["i32", "i32", "i32", "i32", "i32"], export: true }, (f) => {
    const [xArg, outArg, start, end] = [0, 1, 2, 3];
    const u = f.addLocal("i32");
    const rem = f.addLocal("i32");
    const idx = f.addLocal("i32");
    const col = f.addLocal("i32");
    const px = f.addLocal("i32");
    const po = f.addLocal("i32");
    const acc = [f.addLocal("v128"), f.addLocal("v128")];
    const s = f.addLocal("f32");
    const redPtrs = red.shape.map(() => f.addLocal("i32"));
    const rank = kept.shape.length;
    const keptInner = kept.shape[rank - 1]!;
    const init = INIT[op];
    const vop = (): void => void (op === "sum" ? f.f32x4.add() : op === "max" ? f.f32x4.max() : f.f32x4.min());
    const sop = (): void => void (op === "sum" ? f.f32.add() : op === "max" ? f.f32.max() : f.f32.min());

    /** Loops over every reduced position; `body` sees the element's address in local `at`. */
    const overReduced = (base: number, body: (at: number, innerLen: number, innerStride: number) => void): void => {
      const r = red.shape.length;
      f.local.get(base).local.set(redPtrs[0]!);
      const nestLevel = (d: number): void => {
        if (d === r - 1) return body(redPtrs[d]!, red.shape[d]!, red.strides[0]![d]!);
        const i = f.addLocal("i32");
        f.i32.const(0).local.set(i);
        loop(f, () => f.local.get(i).i32.const(red.shape[d]!).i32.ge_u(), () => {
          f.local.get(redPtrs[d]!).local.set(redPtrs[d + 1]!);
          nestLevel(d + 1);
          addConst(f, redPtrs[d]!, red.strides[0]![d]! * 4);
          addConst(f, i, 1);
        });
      };
      nestLevel(0);
    };

    f.local.get(start).local.set(u);
    loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
      // row of kept outer dims, and the first kept-inner column of this unit
      f.local.get(u).i32.const(groupsPerRow).i32.div_u().local.set(rem);
      f.local.get(u).i32.const(groupsPerRow).i32.rem_u().i32.const(group).i32.mul().local.set(col);
      f.local.get(xArg).local.get(col).i32.const(kept.strides[0]![rank - 1]! * 4).i32.mul().i32.add().local.set(px);
      f.local.get(outArg).local.get(col).i32.const(kept.strides[1]![rank - 1]! * 4).i32.mul().i32.add().local.set(po);
      for (let d = rank - 2; d >= 0; d--) {
        f.local.get(rem).i32.const(kept.shape[d]!).i32.rem_u().local.set(idx);
        f.local.get(px).local.get(idx).i32.const(kept.strides[0]![d]! * 4).i32.mul().i32.add().local.set(px);
        f.local.get(po).local.get(idx).i32.const(kept.strides[1]![d]! * 4).i32.mul().i32.add().local.set(po);
        f.local.get(rem).i32.const(kept.shape[d]!).i32.div_u().local.set(rem);
      }
      if (mode === "row") rowReduce(f, overReduced, px, po, acc, s, init, vop, sop);
      else if (mode === "column") {
        // A full group in group/4 vectors; a partial last group column by column.
        f.local.get(col).i32.const(keptInner - group).i32.le_u().if();
        if (group === WIDE) columnReduceInPlace(f, overReduced, px, po, group / 4, init, vop);
        else columnReduce(f, overReduced, px, po, group / 4, init, vop);
        f.else();
        scalarColumns(f, overReduced, px, po, s, col, keptInner, kept.strides, init, sop);
        f.end();
      } else scalarColumns(f, overReduced, px, po, s, col, col, kept.strides, init, sop, 1);
      addConst(f, u, 1);
    });
  });
  return m.build();
}

type Over = (base: number, body: (at: number, innerLen: number, innerStride: number) => void) => void;

function rowReduce(f: FunctionBuilder, over: Over, px: number, po: number, acc: number[], s: number, init: number, vop: () => void, sop: () => void): void {
  const [a0, a1] = acc as [number, number];
  const p = f.addLocal("i32");
  const pEnd = f.addLocal("i32");
  const pVec = f.addLocal("i32");
  f.v128.const_f32x4(init, init, init, init).local.tee(a0).local.set(a1);
  f.f32.const(init).local.set(s);
  over(px, (at, len) => {
    f.local.get(at).local.tee(p).i32.const(len * 4).i32.add().local.set(pEnd);
    f.local.get(p).i32.const((len & ~7) * 4).i32.add().local.set(pVec);
    loop(f, () => f.local.get(p).local.get(pVec).i32.ge_u(), () => {
      f.local.get(a0).local.get(p).v128.load(2); vop(); f.local.set(a0);
      f.local.get(a1).local.get(p).v128.load(2, 16); vop(); f.local.set(a1);
      addConst(f, p, 32);
    });
    loop(f, () => f.local.get(p).local.get(pEnd).i32.ge_u(), () => {
      f.local.get(s).local.get(p).f32.load(2); sop(); f.local.set(s);
      addConst(f, p, 4);
    });
  });
  // Fixed combination order: (a0 op a1), then lanes (0 op 1) op (2 op 3), then the tail.
  f.local.get(po);
  f.local.get(a0).local.get(a1); vop(); f.local.tee(a0).f32x4.extract_lane(0).local.get(a0).f32x4.extract_lane(1); sop();
  f.local.get(a0).f32x4.extract_lane(2).local.get(a0).f32x4.extract_lane(3); sop(); sop();
  f.local.get(s); sop(); f.f32.store(2);
}

/** `vectors` adjacent f32x4 columns reduced over every reduced position, one accumulator each. */
function columnReduce(f: FunctionBuilder, over: Over, px: number, po: number, vectors: number, init: number, vop: () => void): void {
  const acc = Array.from({ length: vectors }, () => f.addLocal("v128"));
  for (const a of acc) f.v128.const_f32x4(init, init, init, init).local.set(a);
  const i = f.addLocal("i32");
  const p = f.addLocal("i32");
  over(px, (at, len, stride) => {
    f.local.get(at).local.set(p).i32.const(0).local.set(i);
    loop(f, () => f.local.get(i).i32.const(len).i32.ge_u(), () => {
      acc.forEach((a, k) => {
        f.local.get(a).local.get(p).v128.load(2, 16 * k);
        vop();
        f.local.set(a);
      });
      addConst(f, p, stride * 4);
      addConst(f, i, 1);
    });
  });
  acc.forEach((a, k) => f.local.get(po).local.get(a).v128.store(2, 16 * k));
}

/**
 * Like columnReduce, accumulating in the output (L1-resident) instead of registers: more columns
 * per pass, so each reduced position reads several contiguous cache lines instead of one line
 * per row of a strided walk. The same order per column, so the same bits.
 */
function columnReduceInPlace(f: FunctionBuilder, over: Over, px: number, po: number, vectors: number, init: number, vop: () => void): void {
  for (let k = 0; k < vectors; k++) f.local.get(po).v128.const_f32x4(init, init, init, init).v128.store(2, 16 * k);
  const i = f.addLocal("i32");
  const p = f.addLocal("i32");
  over(px, (at, len, stride) => {
    f.local.get(at).local.set(p).i32.const(0).local.set(i);
    loop(f, () => f.local.get(i).i32.const(len).i32.ge_u(), () => {
      for (let k = 0; k < vectors; k++) {
        f.local.get(po).local.get(po).v128.load(2, 16 * k).local.get(p).v128.load(2, 16 * k);
        vop();
        f.v128.store(2, 16 * k);
      }
      addConst(f, p, stride * 4);
      addConst(f, i, 1);
    });
  });
}

/** Columns col..limit-1 (or `count` of them) of this unit, each reduced with a scalar loop. */
function scalarColumns(f: FunctionBuilder, over: Over, px: number, po: number, s: number, col: number, limit: number, strides: number[][], init: number, sop: () => void, count?: number): void {
  const rank = strides[0]!.length;
  const c = f.addLocal("i32");
  const n = f.addLocal("i32");
  const i = f.addLocal("i32");
  const p = f.addLocal("i32");
  if (count !== undefined) f.i32.const(count).local.set(n);
  else f.i32.const(limit).local.get(col).i32.sub().local.set(n);
  f.i32.const(0).local.set(c);
  loop(f, () => f.local.get(c).local.get(n).i32.ge_u(), () => {
    f.f32.const(init).local.set(s);
    over(px, (at, len, stride) => {
      f.local.get(at).local.set(p).i32.const(0).local.set(i);
      loop(f, () => f.local.get(i).i32.const(len).i32.ge_u(), () => {
        f.local.get(s).local.get(p).f32.load(2); sop(); f.local.set(s);
        addConst(f, p, stride * 4);
        addConst(f, i, 1);
      });
    });
    f.local.get(po).local.get(s).f32.store(2);
    addConst(f, px, strides[0]![rank - 1]! * 4);
    addConst(f, po, strides[1]![rank - 1]! * 4);
    addConst(f, c, 1);
  });
}
