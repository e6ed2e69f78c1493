/**
 * Helpers for the ONNX lowering tests: a one-node IR graph from a call and input metas (shapes
 * by `infer`), a run of it through ORT's CPU provider, the same call on the reference backend,
 * seeded test data and tolerance comparisons.
 */
import { expect } from "vitest";
import { apply, fromTypedArray, fused, infer, kindOf, withBackend, type CallOf, type DType, type FusedName, type Meta, type PrimitiveCall, type TypedArray } from "@equigrad/tensor";
import type { Graph } from "../../src/graph/ir.js";
import { lowerToOnnx } from "../../src/graph/onnx/lower.js";
import { OnnxSession } from "../../src/graph/onnx/session.js";
import { prng } from "../helpers.js";

export const meta = (shape: readonly number[], dtype: DType = "float32"): Meta => ({ shape: [...shape], dtype });

/** Inputs x0, x1, … → one node → output y. */
export function graphOf(call: PrimitiveCall, metas: readonly Meta[]): Graph {
  const out = infer(call, metas);
  const n = metas.length;
  return {
    values: [...metas.map((m, id) => ({ id, shape: m.shape, dtype: m.dtype })), { id: n, shape: out.shape, dtype: out.dtype }],
    inputs: metas.map((_, i) => ({ name: `x${i}`, value: i })),
    constants: [],
    nodes: [{ call, inputs: metas.map((_, i) => i), output: n }],
    outputs: [{ name: "y", value: n }],
  };
}

const sessions: OnnxSession[] = [];

/** Lowers `graph` and runs it on ORT's CPU provider (2 intra-op threads). */
export async function runOnnx(graph: Graph, feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> {
  const s = await OnnxSession.create(lowerToOnnx(graph), { provider: "cpu", threads: 2 });
  sessions.push(s);
  return s.run(feeds);
}

/** The call on the reference backend, for inputs given as typed arrays of their metas. */
export function reference(call: PrimitiveCall, metas: readonly Meta[], data: readonly TypedArray[]): TypedArray {
  return withBackend("reference", () => {
    const ins = metas.map((m, i) => fromTypedArray(data[i]!, m.shape, m.dtype));
    // Reading a stop_gradient result applied directly fails in the library (its view layout is
    // the input tensor itself); forward, it is a copy.
    if (call.op === "stop_gradient") return apply({ op: "copy" }, ins).data();
    // A fused op runs the reference kernel where it has one, else its decomposition (adamw_update).
    if (kindOf(call.op) === "fused") return fused(call as CallOf<FusedName>, ins[0]!, ...ins.slice(1)).data();
    return apply(call, ins).data();
  });
}

/** A seeded generator of test data (the shared mulberry32). */
export const rng = prng;

/** Random data of a meta: floats in [lo, hi), ints in [lo, hi), bools fair. */
export function randomData(m: Meta, r: () => number, lo = -2, hi = 2): TypedArray {
  const n = m.shape.reduce((a, b) => a * b, 1);
  switch (m.dtype) {
    case "float32": return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
    case "float64": return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
    case "int32": return Int32Array.from({ length: n }, () => Math.floor(lo + (hi - lo) * r()));
    case "bool": return Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  }
}

/** Elementwise |got − want| ≤ atol + rtol·|want|; NaNs and infinities must match exactly. */
export function expectClose(got: TypedArray, want: TypedArray, rtol: number, atol: number, what = ""): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) throw new Error(`${what}: element ${i} is ${g}, want ${w}`);
      continue;
    }
    const err = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) (worst = i), (worstErr = err);
  }
  if (worst >= 0) throw new Error(`${what}: element ${worst} is ${got[worst]}, want ${want[worst]} (rtol ${rtol}, atol ${atol})`);
}

export function expectExact(got: TypedArray, want: TypedArray, what = ""): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) throw new Error(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/** Tolerances per dtype: float32 results vs a float64-computed, float32-rounded reference. */
export const tol = (d: DType, scale = 1): [number, number] => (d === "float64" ? [1e-12 * scale, 1e-12 * scale] : d === "float32" ? [2e-6 * scale, 2e-6 * scale] : [0, 0]);

/**
 * Lowers `call` over inputs of `metas` (data from `data` or seeded random), runs it in ORT and
 * compares with the reference backend: exactly for int/bool outputs, within `tol` for floats.
 */
export async function checkOp(call: PrimitiveCall, metas: readonly Meta[], opts: { data?: readonly TypedArray[]; seed?: number; lo?: number; hi?: number; scale?: number } = {}): Promise<void> {
  const r = rng(opts.seed ?? 1);
  const data = opts.data ?? metas.map((m) => randomData(m, r, opts.lo, opts.hi));
  const graph = graphOf(call, metas);
  const feeds = Object.fromEntries(data.map((d, i) => [`x${i}`, d]));
  const got = (await runOnnx(graph, feeds)).y!;
  const want = reference(call, metas, data);
  const out = graph.values[graph.values.length - 1]!;
  const what = `${call.op}(${metas.map((m) => `[${m.shape}] ${m.dtype}`).join(", ")})`;
  expect(got.constructor, `${what}: output array type`).toBe(want.constructor);
  if (out.dtype === "float32" || out.dtype === "float64") {
    const [rtol, atol] = tol(out.dtype, opts.scale);
    expectClose(got, want, rtol, atol, what);
  } else expectExact(got, want, what);
}
