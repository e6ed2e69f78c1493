import { ModuleBuilder } from "../asm/index.js";
import type { View } from "../../../backend/view.js";
import type { PrimitiveCall } from "../../../ops/primitives.js";
import { STORAGE, addConst, loop } from "./emit.js";
import { elementwiseOp, type ElementwiseOp, type MathFns } from "./elementwise-ops.js";
import { addSimdMath } from "./simd-math.js";
import { collapse, shapeKey } from "./layout.js";
import type { KernelPlan } from "./plan.js";

/** Elements per work unit along the innermost dim: big enough to amortise, small enough to split. */
const BLOCK = 8192;
/** Keep at least this many elements per thread, or stay single-threaded. */
const MIN_PER_THREAD = 32768;

/** Whether a fused elementwise op (gelu_grad, silu_grad) runs as a kernel here: float32 operands, contiguous along the last axis. */
export function elementwiseFusable(inputs: readonly View[]): boolean {
  return inputs.every((v) => v.dtype === "float32" && (v.shape.length === 0 || v.strides[v.shape.length - 1] === 1 || v.shape[v.shape.length - 1] === 1));
}

/**
 * An elementwise op over strided inputs (already broadcast to the output's shape) into a
 * contiguous output. Dims are collapsed; each work unit is a block of one output row; the
 * inner loop is f32x4 when every input is contiguous or broadcast along it.
 */
export function planElementwise(call: PrimitiveCall, inputs: readonly View[], out: View): KernelPlan | null {
  const inDType = call.op === "where" ? inputs[1]!.dtype : inputs[0]!.dtype;
  const op = elementwiseOp(call, inDType, out.dtype);
  if (!op) return null;
  const nest = collapse(out.shape, [out.strides, ...inputs.map((v) => v.strides)]);
  const n = nest.shape[nest.shape.length - 1]!;
  const rows = nest.shape.reduce((a, b) => a * b, 1) / n;
  const block = Math.min(n, BLOCK);
  const colBlocks = Math.ceil(n / block);
  const units = rows * colBlocks;
  const inner = nest.strides.slice(1).map((s) => s[s.length - 1]!);
  // SIMD over float32 operands; a bool operand (where's condition) is widened to an i32x4 mask.
  const simd = op.vector !== undefined && inputs.every((v) => v.dtype === "float32" || v.dtype === "bool") && inner.every((s) => s === 0 || s === 1);
  const key = ["ew", JSON.stringify(call), inputs.map((v) => v.dtype).join(","), out.dtype, shapeKey(nest.shape), nest.strides.map(shapeKey).join("|"), simd].join(";");
  return {
    key,
    build: () => build(op, inputs.map((v) => v.dtype), out.dtype, nest, block, colBlocks, simd),
    units,
    minUnitsPerThread: Math.max(1, Math.ceil(MIN_PER_THREAD / block)),
  };
}

function build(op: ElementwiseOp, inTypes: readonly View["dtype"][], outType: View["dtype"], nest: ReturnType<typeof collapse>, block: number, colBlocks: number, simd: boolean): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory("env", "memory", { initial: 1, maximum: 65536, shared: true });
  const nIn = inTypes.length;
  const fns: MathFns = op.math ? addSimdMath(m, op.math) : {};
  if (op.own) fns.own = op.own(m);
  const params = [...inTypes.map(() => "i32" as const), "i32" as const, "i32" as const, "i32" as const, "i32" as const];
  m.func({ name: "run", params, export: true }, (f) => {
    const [outArg, start, end] = [nIn, nIn + 1, nIn + 2];
    const u = f.addLocal("i32");
    const rem = f.addLocal("i32");
    const idx = f.addLocal("i32");
    const count = f.addLocal("i32");
    const po = f.addLocal("i32");
    const poEnd = f.addLocal("i32");
    const poVec = f.addLocal("i32");
    const p = inTypes.map(() => f.addLocal("i32"));
    const splats = inTypes.map(() => (simd ? f.addLocal("v128") : -1));
    const rank = nest.shape.length;
    const n = nest.shape[rank - 1]!;
    const outStore = STORAGE[outType];
    const ins = inTypes.map((d) => STORAGE[d]);

    f.local.get(start).local.set(u);
    loop(f, () => f.local.get(u).local.get(end).i32.ge_u(), () => {
      // row = u / colBlocks, col0 = (u % colBlocks) * block
      f.local.get(u).i32.const(colBlocks).i32.div_u().local.set(rem);
      // Output is contiguous: po = out + (row * n + col0) * bytes.
      f.local.get(outArg).local.get(rem).i32.const(n * outStore.bytes).i32.mul().i32.add();
      f.local.get(u).i32.const(colBlocks).i32.rem_u().i32.const(block).i32.mul().local.tee(idx);
      f.i32.const(outStore.bytes).i32.mul().i32.add().local.set(po);
      // count = min(block, n - col0)
      f.i32.const(n).local.get(idx).i32.sub().local.tee(count).i32.const(block).local.get(count).i32.const(block).i32.lt_u().select().local.set(count);
      // Input pointers: base + col0 * innerStride + Σ outer index * stride.
      ins.forEach((s, k) => {
        const st = nest.strides[k + 1]!;
        f.local.get(k).local.get(idx).i32.const(st[rank - 1]! * s.bytes).i32.mul().i32.add().local.set(p[k]!);
      });
      for (let d = rank - 2; d >= 0; d--) {
        // idx = rem % shape[d]; rem = rem / shape[d]
        f.local.get(rem).i32.const(nest.shape[d]!).i32.rem_u().local.set(idx);
        ins.forEach((s, k) => {
          const st = nest.strides[k + 1]![d]! * s.bytes;
          if (st !== 0) f.local.get(p[k]!).local.get(idx).i32.const(st).i32.mul().i32.add().local.set(p[k]!);
        });
        f.local.get(rem).i32.const(nest.shape[d]!).i32.div_u().local.set(rem);
      }
      f.local.get(po).local.get(count).i32.const(outStore.bytes).i32.mul().i32.add().local.set(poEnd);
      if (simd) {
        ins.forEach((_, k) => {
          if (nest.strides[k + 1]![rank - 1] !== 0) return;
          if (inTypes[k] === "bool") f.i32.const(0).local.get(p[k]!).i32.load8_u(0).i32.sub().i32x4.splat().local.set(splats[k]!);
          else f.local.get(p[k]!).v128.load32_splat(2).local.set(splats[k]!);
        });
        f.local.get(po).local.get(count).i32.const(~3).i32.and().i32.const(4).i32.mul().i32.add().local.set(poVec);
        loop(f, () => f.local.get(po).local.get(poVec).i32.ge_u(), () => {
          f.local.get(po);
          op.vector!(f, (k) => {
            if (nest.strides[k + 1]![rank - 1] === 0) f.local.get(splats[k]!);
            else if (inTypes[k] === "bool") {
              // four 0/1 bytes -> four lanes of 0 / all ones
              f.v128.const_i32x4(0, 0, 0, 0).local.get(p[k]!).v128.load32_zero(0).i16x8.extend_low_i8x16_u().i32x4.extend_low_i16x8_u().i32x4.sub();
            } else f.local.get(p[k]!).v128.load(2);
          }, fns);
          f.v128.store(2);
          addConst(f, po, 16);
          ins.forEach((s, k) => addConst(f, p[k]!, 4 * s.bytes * nest.strides[k + 1]![rank - 1]!));
        });
      }
      loop(f, () => f.local.get(po).local.get(poEnd).i32.ge_u(), () => {
        f.local.get(po);
        op.scalar(f, (k) => {
          f.local.get(p[k]!);
          ins[k]!.load(f);
        }, fns);
        outStore.store(f);
        addConst(f, po, outStore.bytes);
        ins.forEach((s, k) => addConst(f, p[k]!, nest.strides[k + 1]![rank - 1]! * s.bytes));
      });
      addConst(f, u, 1);
    });
  });
  return m.build();
}
