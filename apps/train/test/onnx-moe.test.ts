import { valueAndGrad } from "@equigrad/autograd";
import { MoE, functionalCall, type MoEOptions } from "@equigrad/nn";
import { Rng, evaluateGraph, tidy, trace, type Tensor } from "@equigrad/tensor";
import { describe, expect, it } from "vitest";

/** Two MoE layers with identical weights, one per dispatch mode. */
const pair = (opts: Partial<MoEOptions> = {}) => {
  const make = (dispatch: "host" | "dense") =>
    new MoE({ rng: new Rng(5, "moe"), dtype: "float64", dModel: 6, dFF: 5, nExperts: 4, topK: 2, balanceCoef: 0.01, zCoef: 0.001, std: 0.7, dispatch, ...opts });
  return [make("host"), make("dense")] as const;
};

const closeArrays = (a: readonly number[], b: readonly number[], tol: number) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!), `element ${i}`).toBeLessThan(tol));
};

/** Output plus auxiliary losses, and their gradients w.r.t. every parameter and the input. */
function run(m: MoE, x: Tensor) {
  return tidy(() => {
    const params = Object.fromEntries(m.namedParameters().map((p) => [p.path, p.value]));
    const f = (p: Record<string, Tensor>, xs: Tensor) => functionalCall(m, p, () => {
      const y = m.forward(xs);
      return y.square().sum().add(m.auxLoss()!);
    });
    const [loss, [gp, gx]] = valueAndGrad(f, { argnums: [0, 1] })(params, x) as [Tensor, [Record<string, Tensor>, Tensor]];
    const y = m.forward(x);
    return { loss: loss.item(), y: y.toArray(), gx: gx.toArray(), gp: Object.fromEntries(Object.entries(gp).map(([k, v]) => [k, v.toArray()])), stats: m.stats() };
  });
}

describe("MoE static-shape (dense) dispatch equals host dispatch", () => {
  for (const normalizeTopK of [true, false]) {
    it(`output, auxiliary losses, router stats and every gradient (normalizeTopK ${normalizeTopK})`, () => {
      const [host, dense] = pair({ normalizeTopK });
      const x = new Rng(9).normal([3, 7, 6], 0, 1, "float64");
      const a = run(host, x);
      const b = run(dense, x);
      closeArrays(b.y, a.y, 1e-12);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-12);
      closeArrays(b.gx, a.gx, 1e-12);
      for (const k of Object.keys(a.gp)) closeArrays(b.gp[k]!, a.gp[k]!, 1e-12);
      expect(b.stats).toEqual(a.stats);
    });
  }

  it("is chosen automatically while tracing: no host read, and the graph computes the host-dispatch output", () => {
    const [host] = pair();
    const { graph } = trace((x) => host.forward(x), [{ shape: [2, 5, 6], dtype: "float64", name: "x" }]);
    expect(graph.nodes.some((n) => n.call.op === "argmax")).toBe(true);
    const x = new Rng(4).normal([2, 5, 6], 0, 1, "float64");
    closeArrays(evaluateGraph(graph, { x }).out!.toArray(), tidy(() => host.forward(x).toArray()), 1e-12);
    expect(host.lastRouting?.stats).not.toBeNull();
  });
});
