import { describe, expect, it } from "vitest";
import { Rng, Tensor, TraceError, softmax, tensor, tidy, trace, zeros, type Graph } from "@equigrad/tensor";
import { toyStep } from "./toy-step.js";
import { evaluateGraph } from "../../src/graph/evaluate.js";
import { differingSites, flatGroups, liftLayout, liftedGraph, liftedValues, recordStep, unliftedChange } from "../../src/graph/step-graph.js";

const ops = (g: Graph) => g.nodes.map((n) => n.call.op);
const close = (a: Tensor, b: Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.toArray();
  const y = b.toArray();
  x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 6));
};

describe("trace", () => {
  it("records shapes and dtypes, and closed-over tensors and numbers as constants", () => {
    const w = tensor([[1, 2, 3], [4, 5, 6]]);
    const { graph } = trace((x) => x.matmul(w).mul(0.5).add(1), [{ shape: [4, 2], dtype: "float32", name: "x" }]);
    expect(graph.inputs.map((p) => p.name)).toEqual(["x"]);
    expect(graph.values[graph.outputs[0]!.value]!.shape).toEqual([4, 3]);
    // w, 0.5 and 1: constants holding their data; the graph's ops are those on the traced value.
    expect(graph.constants.map((c) => Array.from(c.data))).toEqual([[1, 2, 3, 4, 5, 6], [0.5], [1]]);
    expect(ops(graph)).toEqual(["matmul", "mul", "add"]);
    const x = tensor([[1, 0], [0, 1], [1, 1], [2, -1]]);
    close(evaluateGraph(graph, { x }).out!, x.matmul(w).mul(0.5).add(1));
  });

  it("records view ops as logical nodes, and the graph computes what the function does", () => {
    const fn = (x: Tensor) => {
      const y = x.permute(1, 0).reshape(3, 4).slice([0, 2], [1, 4]);
      return { y: softmax(y.expand(2, 2, 3), -1), s: x.sum(0) };
    };
    const { graph } = trace(fn, [{ shape: [4, 3], dtype: "float32" }]);
    for (const op of ["permute", "reshape", "slice", "expand", "softmax", "sum"]) expect(ops(graph)).toContain(op);
    const x = new Rng(1).normal([4, 3]);
    const got = evaluateGraph(graph, { input0: x });
    const want = fn(x);
    close(got.y!, want.y);
    close(got.s!, want.s);
  });

  it("keeps only the nodes the outputs need", () => {
    const { graph } = trace((x) => {
      x.exp(); // unused
      return x.neg();
    }, [{ shape: [2], dtype: "float32" }]);
    expect(ops(graph)).toEqual(["neg"]);
  });

  it("throws a clear error when the function reads a traced value on the host", () => {
    const branchy = (x: Tensor) => (x.sum().item() > 0 ? x : x.neg());
    expect(() => trace(branchy, [{ shape: [3], dtype: "float32" }])).toThrow(TraceError);
    expect(() => trace(branchy, [{ shape: [3], dtype: "float32" }])).toThrow(/cannot read a traced tensor \(\[\] float32, made by sum\).*[Dd]ata-dependent control flow/);
    expect(() => trace((x) => tensor(x.toArray()), [{ shape: [3], dtype: "float32" }])).toThrow(/made by a graph input/);
  });

  it("rejects tensors of another trace and non-tensor outputs", () => {
    let leaked: Tensor | null = null;
    trace((x) => (leaked = x.exp().keep()), [{ shape: [2], dtype: "float32" }]);
    expect(() => trace((x) => x.add(leaked!), [{ shape: [2], dtype: "float32" }])).toThrow(/was not made in this trace/);
    expect(() => trace(() => ({ a: 1 }) as never, [])).toThrow(/returned a number at 'a'/);
  });

  it("computes ops on known values at trace time: what a module caches during a trace stays usable", () => {
    let cached: Tensor | null = null;
    const { graph } = trace((x) => {
      cached ??= tensor([1, 2]).mul(3).keep(); // e.g. a table built on first use
      return x.add(cached);
    }, [{ shape: [2], dtype: "float32" }]);
    expect(ops(graph)).toEqual(["add"]);
    expect(Array.from(graph.constants[0]!.data)).toEqual([3, 6]);
    expect(cached!.add(1).toArray()).toEqual([4, 7]);
  });
});

describe("step recording and scalar lifting", () => {
  // A toy "optimizer step": w ← w - lr(t)·(w - target)·c, with lr a host function of the step count t.
  const step = (t: number, inputs: readonly Tensor[], w: Tensor, m: Tensor) => toyStep(w, m)(t, inputs);

  it("finds the constants that move with the step count, lifts them to inputs, and reproduces later steps", () => {
    const w = new Rng(2).normal([3, 2]).keep();
    const m = zeros([3, 2]).keep();
    const groups = flatGroups([w, m]);
    const batch = [{ shape: [3, 2], dtype: "float32" as const, name: "target" }];
    const f = (t: number, b: readonly Tensor[]) => step(t, b, w, m);
    const a = recordStep(f, 1, groups, batch);
    const b = recordStep(f, 2, groups, batch);
    expect(a.host).toBe(2);
    // The eager tensors keep their values through a recording.
    expect(m.toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    const sites = differingSites(a.rec, b.rec);
    expect(sites).toHaveLength(1);
    const layout = liftLayout(a.rec, sites);
    const graph = liftedGraph(a.rec, sites, layout);
    expect(graph.inputs.map((p) => p.name)).toEqual(["flat_float32", "target", "lifted_float32"]);
    expect(graph.outputs.map((p) => p.name)).toEqual(["flat_float32_out", "loss"]);

    // Three steps through the graph (lifted values from a fresh recording each step) equal three eager steps.
    const target = new Rng(3).normal([3, 2]);
    let flat: Float32Array = Float32Array.from([...w.toArray(), ...m.toArray()]);
    const w0 = w.toArray();
    for (let t = 1; t <= 3; t++) {
      const now = recordStep(f, t, groups, batch);
      expect(unliftedChange(a.rec, now.rec, sites)).toBeNull();
      const out = evaluateGraph(graph, { flat_float32: flat, target, ...liftedValues(now.rec, sites, layout) });
      flat = out.flat_float32_out!.data() as Float32Array;
    }
    expect(w.toArray()).toEqual(w0);
    for (let t = 1; t <= 3; t++) tidy(() => step(t, [target], w, m));
    const eager = [...w.toArray(), ...m.toArray()];
    Array.from(flat).forEach((v, i) => expect(v).toBeCloseTo(eager[i]!, 6));
  });

  it("fails clearly when the structure depends on the host state", () => {
    const w = zeros([2]).keep();
    const groups = flatGroups([w]);
    const f = (t: number) => {
      w.assign(t > 1 ? w.add(1).exp() : w.add(1));
      return { host: t + 1, outputs: {} };
    };
    expect(() => differingSites(recordStep(f, 1, groups, []).rec, recordStep(f, 2, groups, []).rec)).toThrow(/graph changed between two step counts/);
  });

  it("names a state tensor the step updates but that is not among the long-lived tensors, and leaves it intact", () => {
    const w = zeros([2]).keep();
    const m = zeros([3]).keep();
    const f = (state: { m: Tensor }) => {
      w.assign(w.add(1));
      state.m.assign(state.m.add(w.sum()));
      return { host: state, outputs: {} };
    };
    expect(() => recordStep(f, { m }, flatGroups([w]), [])).toThrow(/updated a tensor of its host state \(\[3\] float32\) that is not among the long-lived tensors/);
    expect(w.toArray()).toEqual([0, 0]);
    expect(m.add(1).toArray()).toEqual([1, 1, 1]);
  });

  it("reports a constant that starts moving after compilation", () => {
    const w = zeros([2]).keep();
    const groups = flatGroups([w]);
    // Constant for t < 3, then moving: two recordings at t = 1, 2 cannot see it.
    const f = (t: number) => {
      w.assign(w.add(Math.max(t, 2)));
      return { host: t + 1, outputs: {} };
    };
    const a = recordStep(f, 1, groups, []);
    expect(differingSites(a.rec, recordStep(f, 2, groups, []).rec)).toEqual([]);
    expect(unliftedChange(a.rec, recordStep(f, 3, groups, []).rec, [])).toEqual({ kind: "constant", index: expect.any(Number) });
  });
});
