import { describe, expect, it } from "vitest";
import { tensor } from "@equigrad/tensor";
import { chain, clipByGlobalNorm, clipGradNorm, globalNorm, sgd, step } from "@equigrad/optim";
import { expectClose, f64, param, torchFixture } from "./helpers.js";

describe("global gradient-norm clipping", () => {
  it("the norm is taken across all gradients together: √(3² + 4² + 12²) = 13", () => {
    expect(globalNorm({ a: f64([3, 4]), b: f64([[12]].flat(), [1, 1]) }).item()).toBe(13);
  });

  it("scales every gradient by maxNorm / (norm + 1e-6) and returns the pre-clip norm", () => {
    const { grads, norm } = clipGradNorm({ a: f64([3, 4]), b: f64([12]) }, 1.3);
    expect(norm.item()).toBe(13);
    const c = 1.3 / (13 + 1e-6);
    expectClose(grads.a!, [3 * c, 4 * c], 1e-15);
    expectClose(grads.b!, [12 * c], 1e-15);
  });

  it("leaves gradients under the limit unchanged", () => {
    const { grads, norm } = clipGradNorm({ a: f64([0.3, 0.4]) }, 1);
    expect(norm.item()).toBeCloseTo(0.5, 15);
    expectClose(grads.a!, [0.3, 0.4], 0);
  });

  for (const maxNorm of ["1.0", "100.0"]) {
    it(`matches torch.nn.utils.clip_grad_norm_ (max_norm ${maxNorm})`, () => {
      const ref = torchFixture.clip[maxNorm]!;
      const { grads, norm } = clipGradNorm({ w: f64(ref.grads[0]!), b: f64(ref.grads[1]!) }, Number(maxNorm));
      expectClose([norm.item()], [ref.norm], 1e-14);
      expectClose(grads.w!, ref.clipped[0]!, 1e-14);
      expectClose(grads.b!, ref.clipped[1]!, 1e-14);
    });
  }

  it("keeps float32 gradients float32", () => {
    const { grads, norm } = clipGradNorm({ a: tensor([3, 4]) }, 1);
    expect(grads.a!.dtype).toBe("float32");
    expect(norm.dtype).toBe("float32");
  });

  it("works as the first transform of a chain, and through step's maxGradNorm with the norm reported", () => {
    const p = [param("w", "scalar", [0, 0])];
    const opt = chain(clipByGlobalNorm(1), sgd({ lr: 1 }));
    const [u] = opt.update({ w: f64([6, 8]) }, opt.init(p), p);
    expectClose(u.w!, [-0.6 / (1 + 1e-7), -0.8 / (1 + 1e-7)], 1e-15);

    const plain = sgd({ lr: 1 });
    const r = step(plain, p, { w: f64([6, 8]) }, plain.init(p), { maxGradNorm: 1 });
    expect(r.gradNorm!.item()).toBe(10);
    expectClose(p[0]!.value, [-0.6 / (1 + 1e-7), -0.8 / (1 + 1e-7)], 1e-15);
    expect(step(plain, p, { w: f64([1, 0]) }, r.state, { gradNorm: true }).gradNorm!.item()).toBe(1);
    expect(step(plain, p, { w: f64([1, 0]) }, r.state).gradNorm).toBeUndefined();
  });

  it("rejects a non-positive limit", () => {
    expect(() => clipByGlobalNorm(0)).toThrow(/maxNorm must be > 0/);
  });
});
