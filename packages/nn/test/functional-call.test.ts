import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { Rng, crossEntropy, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { Embedding, Linear, Module, functionalCall } from "@equigrad/nn";
import { expectClose, ints, mat, matmulT, randn } from "./helpers.js";

class TwoLayer extends Module {
  readonly embed: Embedding;
  readonly hidden: Linear;
  readonly out: Linear;
  constructor() {
    super();
    const rng = new Rng(3, "two-layer");
    this.embed = this.addModule("embed", new Embedding(6, 4, { rng: rng.fork("e"), dtype: "float64", std: 1 }));
    this.hidden = this.addModule("hidden", new Linear(4, 5, { rng: rng.fork("h"), dtype: "float64", role: "mlp.up", bias: true, std: 0.5 }));
    this.out = this.addModule("out", new Linear(5, 6, { rng: rng.fork("o"), dtype: "float64", role: "lm_head", std: 0.5 }));
  }
  loss(tokens: Tensor, targets: Tensor): Tensor {
    return crossEntropy(this.out.forward(this.hidden.forward(this.embed.forward(tokens)).tanh()), targets);
  }
}

describe("functionalCall", () => {
  it("gradients through the parameter record equal those of the same function written on its weights", () => {
    const m = new TwoLayer();
    const tokens = ints([0, 3, 5, 3, 1], [5]);
    const targets = ints([2, 1, 0, 4, 3], [5]);
    tidy(() => {
      const [loss, g] = valueAndGrad((p: Record<string, Tensor>) => functionalCall(m, p, () => m.loss(tokens, targets)))(m.parameters());
      // The same loss written directly on the weights, differentiated as a tuple.
      const direct = (e: Tensor, w1: Tensor, b1: Tensor, w2: Tensor): Tensor =>
        crossEntropy(e.gather(tokens.reshape(5, 1).expand(5, 4), 0).matmul(w1.transpose()).add(b1).tanh().matmul(w2.transpose()), targets);
      const p = m.parameters();
      const [loss2, g2] = valueAndGrad(direct, { argnums: [0, 1, 2, 3] })(p["embed.weight"]!, p["hidden.weight"]!, p["hidden.bias"]!, p["out.weight"]!) as [Tensor, Tensor[]];
      expect(Object.keys(g)).toEqual(["embed.weight", "hidden.weight", "hidden.bias", "out.weight"]);
      expectClose(loss, loss2, 1e-12);
      ["embed.weight", "hidden.weight", "hidden.bias", "out.weight"].forEach((k, i) => {
        expectClose(g[k], g2[i]!, 1e-12);
        expect((g[k] as Tensor).toArray().some((v) => v !== 0)).toBe(true);
      });
    });
  });

  it("uses the given tensors, then restores the module's own", () => {
    const m = new TwoLayer();
    const own = m.hidden.weight.value;
    tidy(() => {
      const w = randn([5, 4], 7);
      const x = randn([2, 4], 8);
      const y = functionalCall(m, { "hidden.weight": w }, () => m.hidden.forward(x));
      expectClose(y, matmulT(mat(x), mat(w)).map((r) => r.map((v, i) => v + m.hidden.bias!.value.toArray()[i]!)), 1e-12);
    });
    expect(m.hidden.weight.value).toBe(own);
  });

  it("restores the parameters when fn throws", () => {
    const m = new TwoLayer();
    const own = m.out.weight.value;
    tidy(() => {
      expect(() =>
        functionalCall(m, { "out.weight": randn([6, 5]) }, () => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
    });
    expect(m.out.weight.value).toBe(own);
  });

  it("rejects unknown paths and wrong shapes, naming them", () => {
    const m = new TwoLayer();
    tidy(() => {
      expect(() => functionalCall(m, { "hidden.wieght": randn([5, 4]) }, () => 0)).toThrow(/no parameter at 'hidden.wieght'/);
      expect(() => functionalCall(m, { "out.weight": randn([5, 6]) }, () => 0)).toThrow(/'out.weight'.*\[5,6\].*\[6,5\]/);
      expect(m.out.weight.value.shape).toEqual([6, 5]);
    });
  });

  it("a training step leaks nothing", () => {
    const m = new TwoLayer();
    const tokens = ints([0, 3, 5], [3]);
    const targets = ints([2, 1, 0], [3]);
    const step = (): void =>
      tidy(() => {
        const [, g] = valueAndGrad((p: Record<string, Tensor>) => functionalCall(m, p, () => m.loss(tokens, targets)))(m.parameters());
        for (const np of m.namedParameters()) np.value.assign(np.value.sub(g[np.path].mul(0.1)));
      });
    step();
    const before = memoryStats().liveBuffers;
    for (let i = 0; i < 3; i++) step();
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
