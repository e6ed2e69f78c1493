import type { Tensor } from "@equigrad/tensor";

/** The schedule of the toy step: a host function of the 1-based step count. */
const toyLr = (t: number): number => 0.1 / Math.sqrt(t);

/** A toy optimizer step with a host-side schedule: w ← w − lr(t)·m, m ← 0.9m + 0.1(w − target). */
export function toyStep(w: Tensor, m: Tensor) {
  return (t: number, [target]: readonly Tensor[]) => {
    const g = w.sub(target!);
    const mNew = m.mul(0.9).add(g.mul(0.1));
    const loss = g.square().mean();
    w.assign(w.sub(mNew.mul(toyLr(t))));
    m.assign(mNew);
    return { host: t + 1, outputs: { loss } };
  };
}
