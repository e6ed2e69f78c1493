import { isContiguous } from "../core/strided.js";
import { applyFused } from "../dispatch.js";
import { concat } from "../ops/movement.js";
import type { CallOf } from "../ops/primitives.js";
import type { Tensor } from "../tensor.js";

export type AdamWUpdateCall = CallOf<"adamw_update">;

/** a + w·(b − a), computed as torch's lerp does (b − (b − a)(1 − w) for |w| ≥ 0.5). */
export const lerp = (a: Tensor, b: Tensor, w: number): Tensor => (Math.abs(w) < 0.5 ? a.add(b.sub(a).mul(w)) : b.sub(b.sub(a).mul(1 - w)));

/** The meaning of `adamw_update` in primitives (primitives.ts), op for op as the kernels round. */
export function adamwUpdateDecomposition(p: Tensor, g: Tensor, m: Tensor, v: Tensor, c: AdamWUpdateCall): Tensor {
  const m1 = lerp(m, g, 1 - c.beta1);
  const v1 = v.mul(c.beta2).add(g.mul(1 - c.beta2).mul(g));
  let u = m1.div(v1.sqrt().div(c.bc2Sqrt).add(c.eps)).mul(-c.stepSize);
  if (c.decay !== 0) u = p.mul(-c.decay).add(u);
  return concat([m1.reshape([-1]), v1.reshape([-1]), u.reshape([-1])]);
}

/**
 * One fused AdamW step: the new moments and the update of parameter p, from its gradient and
 * moments (the scalars come from the host: bias corrections, scheduled lr times weight decay).
 */
export function adamwUpdate(p: Tensor, g: Tensor, m: Tensor, v: Tensor, scalars: Omit<AdamWUpdateCall, "op">): { m: Tensor; v: Tensor; update: Tensor } {
  const call: AdamWUpdateCall = { op: "adamw_update", ...scalars };
  // Kernels walk flat arrays; a gradient is often a transposed view, cheaper copied than decomposed.
  // (Offsets are fine: the moments live in slices of the previous step's packed output.)
  const ins = [p, g, m, v].map((t) => (isContiguous(t) ? t : t.contiguous())) as [Tensor, Tensor, Tensor, Tensor];
  const packed = applyFused(call, ins, () => adamwUpdateDecomposition(...ins, call));
  const n = p.size;
  const part = (i: number) => packed.slice([i * n, (i + 1) * n]).reshape([...p.shape]);
  return { m: part(0), v: part(1), update: part(2) };
}
