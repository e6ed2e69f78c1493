import { OpError, fmtShape } from "../../core/errors.js";
import type { CallOf } from "../../ops/primitives.js";
import { attr, type GraphBuilder, type Val } from "./builder.js";

/** Movement, indexing and linear-algebra primitives. */

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export function lowerReshape(b: GraphBuilder, x: Val, shape: readonly number[], out?: string): string {
  if (same(x.shape, shape)) return b.op("Identity", [x.name], [], out);
  // allowzero=1: a 0 in the target is a real empty dim, not "copy the input's dim".
  return b.op("Reshape", [x.name, b.i64(shape)], shape.includes(0) ? [attr.int("allowzero", 1)] : [], out);
}

export function lowerPermute(b: GraphBuilder, x: Val, perm: readonly number[], out?: string): string {
  if (perm.every((p, i) => p === i)) return b.op("Identity", [x.name], [], out);
  return b.op("Transpose", [x.name], [attr.ints("perm", perm)], out);
}

export function lowerExpand(b: GraphBuilder, x: Val, shape: readonly number[], out?: string): string {
  if (same(x.shape, shape)) return b.op("Identity", [x.name], [], out);
  return b.op("Expand", [x.name, b.i64(shape)], [], out);
}

/**
 * Element j along dim d is x[starts[d] + j·steps[d]] for j < shape[d]. ONNX Slice takes an
 * exclusive end; with a negative step an end of -(dim+1) means "past index 0" (a plain -1
 * would wrap to the last element).
 */
export function lowerSlice(b: GraphBuilder, x: Val, call: CallOf<"slice">, out?: string): string {
  const axes: number[] = [], starts: number[] = [], ends: number[] = [], steps: number[] = [];
  x.shape.forEach((dim, d) => {
    const s = call.starts[d]!, t = call.steps[d]!, n = call.shape[d]!;
    if (t === 0) throw new OpError("slice", `step 0 on dim ${d} of ${fmtShape(x.shape)}`);
    if (s === 0 && t === 1 && n === dim) return;
    let end = n === 0 ? s : s + (n - 1) * t + Math.sign(t);
    if (end < 0) end = -(dim + 1);
    axes.push(d), starts.push(s), ends.push(end), steps.push(t);
  });
  if (axes.length === 0) return b.op("Identity", [x.name], [], out);
  return b.op("Slice", [x.name, b.i64(starts), b.i64(ends), b.i64(axes), b.i64(steps)], [], out);
}

export function lowerConcat(b: GraphBuilder, ins: readonly Val[], axis: number, out?: string): string {
  if (ins.length === 1) return b.op("Identity", [ins[0]!.name], [], out);
  return b.op("Concat", ins.map((v) => v.name), [attr.int("axis", axis)], out);
}

/** torch.gather = GatherElements (indices may be smaller than the data off the axis). */
export function lowerGather(b: GraphBuilder, x: Val, idx: Val, axis: number, out?: string): string {
  return b.op("GatherElements", [x.name, idx.name], [attr.int("axis", axis)], out);
}

/** torch.scatter_add = ScatterElements with reduction "add" (duplicate indices accumulate). */
export function lowerScatterAdd(b: GraphBuilder, base: Val, idx: Val, src: Val, axis: number, out?: string): string {
  return b.op("ScatterElements", [base.name, idx.name, src.name], [attr.int("axis", axis), attr.string("reduction", "add")], out);
}

export function lowerPad(b: GraphBuilder, x: Val, pads: readonly (readonly [number, number])[], out?: string): string {
  if (pads.every(([a, c]) => a === 0 && c === 0)) return b.op("Identity", [x.name], [], out);
  const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
  return b.op("Pad", [x.name, b.i64(flat), b.scalar(x.dtype, 0)], [attr.string("mode", "constant")], out);
}

export function lowerMatmul(b: GraphBuilder, x: Val, y: Val, out?: string): string {
  return b.op("MatMul", [x.name, y.name], [], out);
}
