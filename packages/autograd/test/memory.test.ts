import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { Rng, memoryStats, tidy, type Tensor } from "@equigrad/tensor";

interface Params {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

const mlp = (p: Params, x: Tensor): Tensor => x.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).add(p.b2);
const mse = (p: Params, x: Tensor, y: Tensor): Tensor => mlp(p, x).sub(y).square().mean();

describe("memory", () => {
  it("a 10,000-step MLP training loop (valueAndGrad + SGD via assign inside tidy) stays flat in memory and learns", () => {
    const rng = new Rng(2024, "memory");
    // Created outside any scope: long-lived, like parameters and a fixed batch.
    const x = rng.normal([16, 4]);
    const y = tidy(() => x.sum(1, true).mul(0.5).sin().keep());
    const params: Params = {
      w1: rng.normal([4, 8], 0, 0.5),
      b1: rng.normal([8], 0, 0.1),
      w2: rng.normal([8, 1], 0, 0.5),
      b2: rng.normal([1], 0, 0.1),
    };
    const step = valueAndGrad(mse);
    const lr = 0.1;
    const losses: number[] = [];
    let at100 = { liveBuffers: -1, liveBytes: -1 };
    for (let i = 1; i <= 10_000; i++) {
      const loss = tidy(() => {
        const [value, g] = step(params, x, y) as [Tensor, Params];
        for (const k of Object.keys(params) as (keyof Params)[]) params[k].assign(params[k].sub(g[k].mul(lr)));
        return value.item();
      });
      losses.push(loss);
      if (i === 100) at100 = memoryStats();
    }
    const at10000 = memoryStats();
    expect(at10000.liveBuffers).toBe(at100.liveBuffers);
    expect(at10000.liveBytes).toBe(at100.liveBytes);
    expect(losses.every(Number.isFinite)).toBe(true);
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(last).toBeLessThan(first * 0.2);
    expect(losses[9_999]!).toBeLessThan(losses[99]!);
  }, 60_000);

  it("each step allocates and frees the same buffers: the live count right after a step equals the count before it", () => {
    const rng = new Rng(7, "memory2");
    const w = rng.normal([3, 2]);
    const x = rng.normal([5, 3]);
    const vg = valueAndGrad((p: Tensor, a: Tensor) => a.matmul(p).relu().sum());
    const before = memoryStats().liveBuffers;
    for (let i = 0; i < 50; i++) tidy(() => void w.assign(w.sub((vg(w, x)[1] as Tensor).mul(0.01))));
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
