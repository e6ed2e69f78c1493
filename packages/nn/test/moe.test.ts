import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { Rng, concat, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { MoE, dispatchPlan, functionalCall, routerStats, topK, type MoEOptions } from "@equigrad/nn";
import { addRow, expectClose, expectParamGradOk, mat, matmulT, randn, silu, softmaxRow, type Mat } from "./helpers.js";

const make = (opts: Partial<MoEOptions> = {}): MoE =>
  new MoE({ rng: new Rng(21, "moe"), dtype: "float64", dModel: 4, dFF: 3, nExperts: 4, topK: 2, std: 0.8, ...opts });

/** Every expert on every token, masked by the top-k gate weights: the dense definition. */
function denseReference(m: MoE, x: Mat, normalize: boolean): { y: Mat; probs: Mat; chosen: number[][] } {
  const e = m.nExperts;
  const logits = m.router.bias ? addRow(matmulT(x, mat(m.router.weight.value)), m.router.bias.value.toArray()) : matmulT(x, mat(m.router.weight.value));
  const probs = logits.map(softmaxRow);
  const gate = m.gate.value.tolist() as Mat[];
  const up = m.up.value.tolist() as Mat[];
  const down = m.down.value.tolist() as Mat[];
  const all = Array.from({ length: e }, (_, i) => {
    const g = matmulT(x, gate[i]!).map((r) => r.map(silu));
    const u = matmulT(x, up[i]!);
    return matmulT(g.map((r, a) => r.map((v, b) => v * u[a]![b]!)), down[i]!);
  });
  const chosen = probs.map((p) => [...p.keys()].sort((a, b) => p[b]! - p[a]! || a - b).slice(0, m.topK));
  const y = x.map((row, n) => {
    const mask = probs[n]!.map((p, i) => (chosen[n]!.includes(i) ? p : 0));
    const s = normalize ? mask.reduce((a, b) => a + b, 0) : 1;
    return row.map((_, c) => mask.reduce((acc, w, i) => acc + (w / s) * all[i]![n]![c]!, 0));
  });
  return { y, probs, chosen };
}

describe("host routing", () => {
  it("topK picks the largest first and breaks ties toward the lower index", () => {
    expect([...topK([0.1, 0.4, 0.2, 0.3], 1, 4, 2)]).toEqual([1, 3]);
    expect([...topK([0.25, 0.25, 0.25, 0.25, 0.5, 0.1, 0.1, 0.3], 2, 4, 3)]).toEqual([0, 1, 2, 0, 3, 1]);
    expect(() => topK([1, 2], 1, 2, 3)).toThrow(/k must be/);
  });

  it("dispatchPlan groups assignments by expert, stably", () => {
    // 3 tokens, k = 2: token 0 -> (2, 0), token 1 -> (0, 1), token 2 -> (2, 1)
    const p = dispatchPlan(Int32Array.from([2, 0, 0, 1, 2, 1]), 2, 3);
    expect(p.counts).toEqual([2, 2, 2]);
    expect(p.offsets).toEqual([0, 2, 4]);
    expect([...p.order]).toEqual([1, 2, 3, 5, 0, 4]);
    expect([...p.tokens]).toEqual([0, 1, 1, 2, 0, 2]);
  });

  it("routerStats: load, CV, dead experts, entropy", () => {
    const s = routerStats([6, 2, 0, 0], 4);
    expect(s.load).toEqual([0.75, 0.25, 0, 0]);
    expect(s.deadFraction).toBe(0.5);
    expect(s.maxLoad).toBe(0.75);
    const std = Math.sqrt(((0.75 - 0.25) ** 2 + 0 + 2 * 0.25 ** 2) / 4);
    expect(s.cv).toBeCloseTo(std / 0.25, 12);
    expect(s.entropy).toBeCloseTo(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), 12);
    expect(routerStats([3, 3, 3, 3], 6).cv).toBe(0);
  });
});

describe("MoE layer", () => {
  it("has the documented shapes and roles", () => {
    const m = make({ routerBias: true });
    expect(m.namedParameters().map((p) => [p.path, p.role, p.value.shape, p.meta.experts])).toEqual([
      ["gate", "moe.expert.gate", [4, 3, 4], 4],
      ["up", "moe.expert.up", [4, 3, 4], 4],
      ["down", "moe.expert.down", [4, 4, 3], 4],
      ["router.weight", "moe.router", [4, 4], undefined],
      ["router.bias", "bias", [4], undefined],
    ]);
  });

  for (const normalizeTopK of [true, false]) {
    it(`sparse dispatch equals the dense masked computation (normalizeTopK ${normalizeTopK})`, () =>
      tidy(() => {
        const m = make({ normalizeTopK, routerBias: true });
        m.router.bias!.value.assign(randn([4], 30));
        const x = randn([2, 5, 4], 31);
        const y = m.forward(x);
        expect(y.shape).toEqual([2, 5, 4]);
        const ref = denseReference(m, mat(x.reshape(10, 4)), normalizeTopK);
        expectClose(y.reshape(10, 4), ref.y, 1e-12);
        // Every expert got work in this batch, and some token skipped each one (the dispatch is sparse).
        const counts = ref.chosen.flat().reduce((c, i) => (c[i]++, c), [0, 0, 0, 0]);
        expect(m.stats()!.load).toEqual(counts.map((c) => c / 20));
      }));
  }

  it("with equal probabilities every token goes to the lowest-indexed experts", () =>
    tidy(() => {
      const m = make({ topK: 2 });
      m.router.weight.value.assign(randn([4, 4]).mul(0));
      m.forward(randn([3, 4], 32));
      expect(m.stats()!.load).toEqual([0.5, 0.5, 0, 0]);
      expect(m.stats()!.deadFraction).toBe(0.5);
    }));

  it("aux losses: E·Σ f_i P_i and mean(logsumexp²), weighted by their coefficients", () =>
    tidy(() => {
      const m = make({ balanceCoef: 0.1, zCoef: 0.01, topK: 1 });
      const x = randn([6, 4], 33);
      m.forward(x);
      const logits = matmulT(mat(x), mat(m.router.weight.value));
      const probs = logits.map(softmaxRow);
      const chosen = probs.map((p) => p.indexOf(Math.max(...p)));
      const f = [0, 1, 2, 3].map((i) => chosen.filter((c) => c === i).length / 6);
      const P = [0, 1, 2, 3].map((i) => probs.reduce((s, p) => s + p[i]!, 0) / 6);
      const balance = 4 * f.reduce((s, fi, i) => s + fi * P[i]!, 0);
      const z = logits.reduce((s, r) => s + Math.log(r.reduce((a, v) => a + Math.exp(v), 0)) ** 2, 0) / 6;
      expectClose(m.lastRouting!.balanceLoss!, [balance], 1e-12);
      expectClose(m.lastRouting!.zLoss!, [z], 1e-12);
      expectClose(m.auxLoss()!, [0.1 * balance + 0.01 * z], 1e-12);
    }));

  it("auxLoss is null with both coefficients 0, and says when its scope has ended", () => {
    const m = make();
    tidy(() => {
      m.forward(randn([2, 4]));
      expect(m.auxLoss()).toBeNull();
    });
    const w = make({ balanceCoef: 1 });
    expect(() => w.auxLoss()).toThrow(/no forward pass/);
    tidy(() => {
      w.forward(randn([2, 4]));
    });
    expect(() => w.auxLoss()).toThrow(/same scope/);
  });

  it("gradients reach the router (through the gate weights) and only the chosen experts", () =>
    tidy(() => {
      // A zero router ties every expert: top-1 picks expert 0 for every token. Unnormalised,
      // its gate weight is p₀ = 1/4, which depends on the router weights.
      const m = make({ topK: 1, normalizeTopK: false });
      m.router.weight.value.assign(randn([4, 4]).mul(0));
      const x = randn([3, 4], 34);
      const [, g] = valueAndGrad((p: Record<string, Tensor>) => functionalCall(m, p, () => m.forward(x).square().sum()))(m.parameters());
      expect((g["router.weight"] as Tensor).toArray().some((v) => v !== 0)).toBe(true);
      expect(m.stats()!.load).toEqual([1, 0, 0, 0]);
      const gate = (g["gate"] as Tensor).tolist() as Mat[];
      expect(gate[0]!.flat().some((v) => v !== 0)).toBe(true);
      for (const i of [1, 2, 3]) expect(gate[i]!.flat().every((v) => v === 0)).toBe(true);
    }));

  it("gradcheck of output and aux losses with respect to every parameter (float64)", () => {
    const m = make({ routerBias: true, balanceCoef: 0.5, zCoef: 0.5, dFF: 2, nExperts: 3 });
    const x = randn([5, 4], 35).keep();
    tidy(() => m.router.bias!.value.assign(randn([3], 36)));
    expectParamGradOk(m, () => concat([m.forward(x).reshape(-1), m.auxLoss()!.reshape(1)]));
    for (const normalizeTopK of [false]) {
      const m2 = make({ normalizeTopK, dFF: 2, nExperts: 3 });
      expectParamGradOk(m2, () => m2.forward(x));
    }
  });

  it("a forward pass leaks nothing", () => {
    const m = make({ balanceCoef: 0.1 });
    const x = randn([4, 4], 37).keep();
    const run = (): void =>
      tidy(() => {
        m.forward(x);
        m.auxLoss();
      });
    run();
    const before = memoryStats().liveBuffers;
    run();
    run();
    expect(memoryStats().liveBuffers).toBe(before);
  });
});
