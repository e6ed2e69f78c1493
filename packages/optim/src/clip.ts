import { div, promote, zeros, type Tensor } from "@equigrad/tensor";
import type { Grads, Transform, Updates } from "./transform.js";

/** √(Σ g²) over every gradient together, in the widest dtype among them (a 0-d tensor). */
export function globalNorm(grads: Grads): Tensor {
  const gs = Object.values(grads);
  if (gs.length === 0) return zeros([]);
  const dtype = gs.map((g) => g.dtype).reduce(promote);
  return gs.map((g) => g.square().sum().cast(dtype)).reduce((a, b) => a.add(b)).sqrt();
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2, across all parameters): scales every gradient by
 * min(1, maxNorm / (norm + 1e-6)) and returns the pre-clip norm for metrics. The factor is
 * a tensor op, not a host branch, so nothing waits on the device and the step can be traced.
 */
export function clipGradNorm(grads: Grads, maxNorm: number, eps = 1e-6): { grads: Updates; norm: Tensor } {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const coef = div(maxNorm, norm.add(eps)).minimum(1);
  const out: Updates = {};
  for (const [k, g] of Object.entries(grads)) out[k] = g.mul(coef.cast(g.dtype));
  return { grads: out, norm };
}

/** Global-norm clipping as a stateless transform, to put first in a chain. */
export function clipByGlobalNorm(maxNorm: number): Transform<Record<string, never>> {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  return {
    name: "clip",
    init: () => ({}),
    update: (grads, state) => [clipGradNorm(grads, maxNorm).grads, state],
  };
}
