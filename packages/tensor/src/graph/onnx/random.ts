import { numel } from "../../core/shape.js";
import type { CallOf } from "../../ops/primitives.js";
import { ONNX_TYPE } from "./proto.js";
import { attr, onnxType, type GraphBuilder } from "./builder.js";

/**
 * The random primitive in ONNX integer ops: Threefry-2x32-20 (random/threefry.ts) on uint32
 * tensors, one lane per element, so a compiled graph draws exactly the bits the eager
 * backends draw. uint32 Add wraps mod 2³², BitShift drops the bits shifted out; the word →
 * number maps are done in float64, where they are exact, then rounded to the output dtype.
 */

const ROT = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;
const TWO32 = 4294967296;

const castTo = (b: GraphBuilder, x: string, type: number): string => b.op("Cast", [x], [attr.int("to", type)]);

function rotl(b: GraphBuilder, x: string, r: number): string {
  const hi = b.op("BitShift", [x, b.u32Scalar(r)], [attr.string("direction", "LEFT")]);
  const lo = b.op("BitShift", [x, b.u32Scalar(32 - r)], [attr.string("direction", "RIGHT")]);
  return b.op("BitwiseOr", [hi, lo]);
}

/** The 32-bit halves of the counters c = counter + i, i < n, as uint32 names. */
function counters(b: GraphBuilder, counter: number | string, n: number): [string, string] {
  if (typeof counter === "string") {
    // A runtime int64 counter (0 ≤ c < 2⁵³): c mod 2³² by Cast's truncation, ⌊c / 2³²⌋ by Div.
    const c = b.op("Add", [b.op("Range", [b.i64Scalar(0), b.i64Scalar(n), b.i64Scalar(1)]), counter]);
    return [castTo(b, c, ONNX_TYPE.uint32), castTo(b, b.op("Div", [c, b.i64Scalar(TWO32)]), ONNX_TYPE.uint32)];
  }
  const lowStart = counter % TWO32, high = Math.floor(counter / TWO32);
  // The high word is one constant unless the draw crosses a multiple of 2³².
  const low64 = b.op("Range", [b.i64Scalar(lowStart), b.i64Scalar(lowStart + n), b.i64Scalar(1)]);
  const c0 = castTo(b, low64, ONNX_TYPE.uint32); // Cast truncates mod 2³²
  const c1 = lowStart + n <= TWO32
    ? b.u32Scalar(high)
    : castTo(b, b.op("Add", [b.op("Div", [low64, b.i64Scalar(TWO32)]), b.i64Scalar(high)]), ONNX_TYPE.uint32);
  return [c0, c1];
}

/** The two uint32 words of elements counter .. counter+n-1 as names of [n] (or broadcastable) tensors. */
function words(b: GraphBuilder, key: readonly [number, number], counter: number | string, n: number): [string, string] {
  const k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  const ks = [k0, k1, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  const [c0, c1] = counters(b, counter, n);
  let x0 = b.op("Add", [c0, b.u32Scalar(ks[0]!)]);
  let x1 = b.op("Add", [c1, b.u32Scalar(ks[1]!)]);
  for (let i = 0; i < 5; i++) {
    for (const r of ROT[i % 2]!) {
      x0 = b.op("Add", [x0, x1]);
      x1 = b.op("BitwiseXor", [rotl(b, x1, r), x0]);
    }
    x0 = b.op("Add", [x0, b.u32Scalar(ks[(i + 1) % 3]!)]);
    x1 = b.op("Add", [x1, b.u32Scalar((ks[(i + 2) % 3]! + i + 1) >>> 0)]);
  }
  return [x0, x1];
}

const f64 = (b: GraphBuilder, w: string): string => castTo(b, w, ONNX_TYPE.double);

/**
 * The random primitive. `counter`, the name of an int64 scalar in the graph, replaces the
 * call's trace-time counter: a compiled step whose draws move every step (dropout) can feed it.
 */
export function lowerRandom(b: GraphBuilder, call: CallOf<"random">, out?: string, counter?: string): string {
  const n = numel(call.shape);
  const [w0, w1] = words(b, call.key, counter ?? call.counter, n);
  let flat: string;
  let flatType: "float32" | "float64" | "bool";
  if (call.dist === "uniform" && call.dtype !== "float64") {
    // 24 bits: exact in float32, and never rounds up to 1.
    const bits = castTo(b, b.op("BitShift", [w0, b.u32Scalar(8)], [attr.string("direction", "RIGHT")]), ONNX_TYPE.float);
    flat = b.op("Mul", [bits, b.scalar("float32", 2 ** -24)]);
    flatType = "float32";
  } else if (call.dist === "uniform") {
    const hi = f64(b, b.op("BitShift", [w0, b.u32Scalar(5)], [attr.string("direction", "RIGHT")]));
    const lo = f64(b, b.op("BitShift", [w1, b.u32Scalar(6)], [attr.string("direction", "RIGHT")]));
    flat = b.op("Mul", [b.op("Add", [b.op("Mul", [hi, b.scalar("float64", 67108864)]), lo]), b.scalar("float64", 2 ** -53)]);
    flatType = "float64";
  } else if (call.dist === "normal") {
    // Box–Muller: u1 = (w0 + 1)/2³² ∈ (0, 1], u2 = w1/2³².
    const u1 = b.op("Mul", [b.op("Add", [f64(b, w0), b.scalar("float64", 1)]), b.scalar("float64", 2 ** -32)]);
    const u2 = b.op("Mul", [f64(b, w1), b.scalar("float64", 2 ** -32)]);
    const radius = b.op("Sqrt", [b.op("Mul", [b.op("Log", [u1]), b.scalar("float64", -2)])]);
    flat = b.op("Mul", [radius, b.op("Cos", [b.op("Mul", [u2, b.scalar("float64", 2 * Math.PI)])])]);
    flatType = "float64";
  } else {
    flat = b.op("Less", [b.op("Mul", [f64(b, w0), b.scalar("float64", 2 ** -32)]), b.scalar("float64", call.p)]);
    flatType = "bool";
  }
  if (flatType !== call.dtype) flat = b.op("Cast", [flat], [attr.int("to", onnxType(call.dtype))]);
  return b.op("Reshape", [flat, b.i64(call.shape)], call.shape.includes(0) ? [attr.int("allowzero", 1)] : [], out);
}
