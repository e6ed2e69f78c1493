import { OpError, fmtShape } from "../core/errors.js";
import type { Tensor } from "../tensor.js";
import { fused } from "./fused.js";

function lastAxes(op: string, x: Tensor, weight?: Tensor): number[] {
  const n = weight ? Math.max(weight.ndim, 1) : 1;
  if (weight && (weight.ndim > x.ndim || weight.shape.some((d, i) => d !== x.shape[x.ndim - weight.ndim + i]))) {
    throw new OpError(op, `weight ${fmtShape(weight.shape)} must match the trailing dims of the input ${fmtShape(x.shape)}`);
  }
  return Array.from({ length: n }, (_, i) => x.ndim - n + i);
}

/** (x - mean) / sqrt(var + eps) · weight + bias over the trailing dims that weight covers (default: the last). */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const axes = lastAxes("layerNorm", x, weight);
  let y: Tensor;
  if (axes.length === 1 && x.size > 0) y = fused({ op: "layer_norm", eps }, x);
  else {
    const centered = x.sub(x.mean(axes, true));
    y = centered.mul(centered.square().mean(axes, true).add(eps).rsqrt());
  }
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** x / sqrt(mean(x²) + eps) · weight over the trailing dims that weight covers (default: the last). */
export function rmsNorm(x: Tensor, weight?: Tensor, eps = 1e-6): Tensor {
  const axes = lastAxes("rmsNorm", x, weight);
  const y = axes.length === 1 && x.size > 0 ? fused({ op: "rms_norm", eps }, x) : x.mul(x.square().mean(axes, true).add(eps).rsqrt());
  return weight ? y.mul(weight) : y;
}
