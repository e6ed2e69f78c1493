import type { CallOf, FusedOp } from "../../ops/primitives.js";
import { attr, type GraphBuilder, type Val } from "./builder.js";
import { meanLast } from "./reduce.js";
import { erfOf } from "./elementwise.js";

/**
 * Row-wise fused composites and the activation/norm VJPs. Softmax, LogSoftmax and (float32)
 * LayerNormalization are ONNX kernels; RMSNormalization only exists from opset 23, so float32
 * rms_norm uses ORT's SimplifiedLayerNormalization kernel; the VJPs lower to their
 * decompositions (composite/fused.ts), written once here over ONNX names.
 */

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Small arithmetic over names of one float dtype. */
function ops(b: GraphBuilder, dtype: Val["dtype"]) {
  const c = (v: number) => b.scalar(dtype, v);
  return {
    add: (x: string, y: string) => b.op("Add", [x, y]),
    sub: (x: string, y: string) => b.op("Sub", [x, y]),
    mul: (x: string, y: string) => b.op("Mul", [x, y]),
    addc: (x: string, v: number) => b.op("Add", [x, c(v)]),
    mulc: (x: string, v: number) => b.op("Mul", [x, c(v)]),
    rsqrt: (x: string) => b.op("Reciprocal", [b.op("Sqrt", [x])]),
    mean: (x: string) => meanLast(b, x),
  };
}

export function lowerRowFused(b: GraphBuilder, call: CallOf<FusedOp>, x: Val, out?: string): string {
  const o = ops(b, x.dtype);
  switch (call.op) {
    case "softmax":
      return b.op("Softmax", [x.name], [attr.int("axis", call.axis)], out);
    case "log_softmax":
      return b.op("LogSoftmax", [x.name], [attr.int("axis", call.axis)], out);
    case "layer_norm": {
      if (x.dtype === "float64") {
        // LayerNormalization's epsilon is a float attribute: float64 keeps its exact eps in the decomposition.
        const centered = o.sub(x.name, o.mean(x.name));
        return b.op("Mul", [centered, o.rsqrt(o.addc(o.mean(o.mul(centered, centered)), call.eps))], [], out);
      }
      const c = x.shape[x.shape.length - 1]!;
      const ones = b.initializer(x.dtype, [c], new Float32Array(c).fill(1), "ln_scale");
      return b.op("LayerNormalization", [x.name, ones], [attr.int("axis", -1), attr.float("epsilon", call.eps), attr.int("stash_type", 1)], out);
    }
    case "rms_norm": {
      if (x.dtype === "float32") {
        // ORT's SimplifiedLayerNormalization (an ORT kernel registered in the default domain,
        // not standard ONNX): one pass instead of six. Float64 keeps the exact-eps decomposition.
        const c = x.shape[x.shape.length - 1]!;
        const ones = b.initializer("float32", [c], new Float32Array(c).fill(1), "rms_scale");
        return b.op("SimplifiedLayerNormalization", [x.name, ones], [attr.int("axis", -1), attr.float("epsilon", call.eps), attr.int("stash_type", 1)], out);
      }
      const r = o.rsqrt(o.addc(o.mean(o.mul(x.name, x.name)), call.eps));
      return b.op("Mul", [x.name, r], [], out);
    }
  }
}

export function lowerActivationGrad(b: GraphBuilder, call: CallOf<"gelu_grad" | "silu_grad">, x: Val, g: Val, out?: string): string {
  const o = ops(b, x.dtype);
  let d: string;
  // Rearranged to few passes over x-sized tensors (ORT runs each elementwise op as one pass).
  if (call.op === "silu_grad") {
    // σ(x)·(1 + x(1 − σ(x))) = σ·(1 + x − x·σ)
    const s = b.op("Sigmoid", [x.name]);
    d = o.mul(s, o.addc(o.sub(x.name, o.mul(x.name, s)), 1));
  } else if (call.approximate === "tanh") {
    // 0.5(1 + t) + 0.5x(1 − t²)·c(1 + 3k x²) = 0.5·(1 + t + w·(1 − t²)), t = tanh(x(c + ck x²)), w = x(c + 3ck x²)
    const k = 0.044715;
    const x2 = o.mul(x.name, x.name);
    const t = b.op("Tanh", [o.mul(x.name, o.addc(o.mulc(x2, SQRT_2_OVER_PI * k), SQRT_2_OVER_PI))]);
    const w = o.mul(x.name, o.addc(o.mulc(x2, 3 * SQRT_2_OVER_PI * k), SQRT_2_OVER_PI));
    const oneMinusT2 = b.op("Sub", [b.scalar(x.dtype, 1), o.mul(t, t)]);
    d = o.add(t, o.addc(o.mul(w, oneMinusT2), 1));
    return b.op("Mul", [o.mulc(g.name, 0.5), d], [], out);
  } else {
    // Φ(x) + x φ(x)
    const phi = o.mulc(o.addc(erfOf(b, o.mulc(x.name, Math.SQRT1_2), x.dtype), 1), 0.5);
    d = o.add(phi, o.mulc(o.mul(x.name, b.op("Exp", [o.mulc(o.mul(x.name, x.name), -0.5)])), INV_SQRT_2PI));
  }
  return b.op("Mul", [g.name, d], [], out);
}

export function lowerNormGrad(b: GraphBuilder, call: CallOf<"layer_norm_grad" | "rms_norm_grad">, x: Val, g: Val, out?: string): string {
  const o = ops(b, x.dtype);
  if (call.op === "layer_norm_grad") {
    // r·(g − mean(g) − y·mean(g·y)), y = (x − mean)·r
    const centered = o.sub(x.name, o.mean(x.name));
    const r = o.rsqrt(o.addc(o.mean(o.mul(centered, centered)), call.eps));
    const y = o.mul(centered, r);
    const inner = o.sub(o.sub(g.name, o.mean(g.name)), o.mul(y, o.mean(o.mul(g.name, y))));
    return b.op("Mul", [inner, r], [], out);
  }
  // r·(g − y·mean(g·y)), y = x·r
  const r = o.rsqrt(o.addc(o.mean(o.mul(x.name, x.name)), call.eps));
  const y = o.mul(x.name, r);
  return b.op("Mul", [o.sub(g.name, o.mul(y, o.mean(o.mul(g.name, y)))), r], [], out);
}

/**
 * adamw_update as its decomposition (composite/optimizer.ts), op for op in the same order, so
 * float32 rounding matches the eager backends: [m', v', u] flattened and concatenated.
 */
export function lowerAdamW(b: GraphBuilder, call: CallOf<"adamw_update">, ins: readonly Val[], out?: string): string {
  const [p, g, m, v] = ins as [Val, Val, Val, Val];
  const o = ops(b, p.dtype);
  const w = 1 - call.beta1;
  // lerp(m, g, w) as torch computes it.
  const m1 = Math.abs(w) < 0.5 ? o.add(m.name, o.mulc(o.sub(g.name, m.name), w)) : o.sub(g.name, o.mulc(o.sub(g.name, m.name), 1 - w));
  const v1 = o.add(o.mulc(v.name, call.beta2), o.mul(o.mulc(g.name, 1 - call.beta2), g.name));
  const denom = o.addc(b.op("Div", [b.op("Sqrt", [v1]), b.scalar(p.dtype, call.bc2Sqrt)]), call.eps);
  let u = o.mulc(b.op("Div", [m1, denom]), -call.stepSize);
  if (call.decay !== 0) u = o.add(o.mulc(p.name, -call.decay), u);
  const flat = (x: string) => b.op("Reshape", [x, b.i64([-1])]);
  return b.op("Concat", [flat(m1), flat(v1), flat(u)], [attr.int("axis", 0)], out);
}
