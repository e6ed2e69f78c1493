import { describe, expect, it } from "vitest";
import { Rng, compile, fromTypedArray, tidy, where, zeros, type Tensor } from "@equigrad/tensor";
import { evaluateGraph } from "../../src/graph/evaluate.js";
import { differingSites, flatGroups, liftLayout, liftedGraph, liftedValues, recordStep } from "../../src/graph/step-graph.js";

/**
 * Compiled steps that draw random numbers every step (dropout): each draw's counter moves, so
 * it is lifted to a runtime int64 input, and the streams' counters are threaded like host state.
 */

const P = 0.75;
/** w ← w − lr(t)·dropout(w − target) + 0.01·noise: two streams, a bernoulli mask and a uniform draw. */
function dropStep(w: Tensor, mask: Rng, noise: Rng) {
  return (t: number, [target]: readonly Tensor[]) => {
    const keep = mask.bernoulli([3, 4], P);
    const g = where(keep, w.sub(target!).mul(1 / P), 0);
    const loss = g.square().mean();
    w.assign(w.sub(g.mul(0.1 / Math.sqrt(t))).add(noise.uniform([4], -1, 1).mul(0.01)));
    return { host: t + 1, outputs: { loss } };
  };
}

const setup = () => ({ w: new Rng(2).normal([3, 4]).keep(), mask: new Rng(3, "dropout"), noise: new Rng(4, "noise") });
const targets = (n: number) => Array.from({ length: n }, (_, i) => new Rng(10 + i).normal([3, 4]).data() as Float32Array);
const batch = [{ shape: [3, 4], dtype: "float32" as const, name: "target" }];

/** N eager steps from t = 1 on fresh state: losses, weights and stream counters. */
function eager(ts: readonly Float32Array[], from = setup(), t0 = 1) {
  const losses: number[] = [];
  tidy(() => {
    let t = t0;
    for (const target of ts) {
      const r = dropStep(from.w, from.mask, from.noise)(t, [fromTypedArray(target, [3, 4], "float32")]);
      losses.push(r.outputs.loss.item());
      t = r.host;
    }
  });
  return { losses, w: from.w.toArray() as number[], mask: from.mask.counter, noise: from.noise.counter };
}

describe("compile with random draws (dropout)", () => {
  it("lifts the moving counters to an int64 input; the graph evaluates to the eager draws", () => {
    const s = setup();
    const groups = flatGroups([s.w]);
    const a = recordStep(dropStep(s.w, s.mask, s.noise), 1, groups, batch);
    const b = recordStep(dropStep(s.w, s.mask, s.noise), a.host, groups, batch, {}, a.counters);
    // Tracing leaves the streams where they were; the recordings carry where they end.
    expect([s.mask.counter, s.noise.counter]).toEqual([0, 0]);
    expect([a.counters.get(s.mask), a.counters.get(s.noise)]).toEqual([12, 4]);
    expect([b.counters.get(s.mask), b.counters.get(s.noise)]).toEqual([24, 8]);
    const sites = differingSites(a.rec, b.rec);
    expect(sites.filter((x) => x.kind === "counter")).toHaveLength(2);
    const layout = liftLayout(a.rec, sites);
    expect(layout.sizes.get("int64")).toBe(2);
    const graph = liftedGraph(a.rec, sites, layout);
    expect(graph.counters).toEqual({ input: "lifted_int64", size: 2 });
    // Step 2 through the graph of step 1, fed step 2's lifted values, equals step 2 run eagerly.
    const ts = targets(2);
    const ref = setup();
    eager(ts.slice(0, 1), ref);
    const flat = Float32Array.from(ref.w.toArray() as number[]);
    const values = liftedValues(b.rec, sites, layout);
    expect(Array.from(values.lifted_int64 as BigInt64Array)).toEqual([12n, 4n]);
    const out = tidy(() => evaluateGraph(graph, { flat_float32: flat, target: ts[1]!, ...values }).flat_float32_out!.toArray());
    const want = eager(ts.slice(1), ref, 2);
    (out as number[]).forEach((v, i) => expect(v).toBeCloseTo(want.w[i]!, 6));
  });

  for (const k of [1, 2]) {
    it(`N compiled steps equal N eager steps: same masks, weights and stream counters (stepsPerCall ${k})`, async () => {
      const n = 6;
      const ts = targets(n);
      const s = setup();
      const c = await compile(dropStep(s.w, s.mask, s.noise), { tensors: [s.w], batch, host: 1, threads: 1, stepsPerCall: k });
      // The lr and the two streams' counters.
      expect(c.lifted).toBe(3);
      // Compiling traced two steps (and nothing ran yet): the streams have not moved.
      expect([s.mask.counter, s.noise.counter]).toEqual([0, 0]);
      const losses: number[] = [];
      for (let i = 0; i < n; i += k) {
        losses.push(...(await c.run(ts.slice(i, i + k).map((t) => [t]))).loss!.map((l) => l[0]!));
        // After each call (whose next steps were traced ahead meanwhile), where i + k eager steps leave them.
        expect([s.mask.counter, s.noise.counter]).toEqual([12 * (i + k), 4 * (i + k)]);
      }
      await c.release();
      const e = eager(ts);
      expect([s.mask.counter, s.noise.counter]).toEqual([e.mask, e.noise]);
      losses.forEach((l, i) => expect(l).toBeCloseTo(e.losses[i]!, 5));
      (s.w.toArray() as number[]).forEach((v, i) => expect(v).toBeCloseTo(e.w[i]!, 5));
    });
  }

  it("a stream counter set between calls (a checkpoint load) is where the next call draws from", async () => {
    const ts = targets(4);
    const s = setup();
    const c = await compile(dropStep(s.w, s.mask, s.noise), { tensors: [s.w], batch, host: 1, threads: 1 });
    await c.run([[ts[0]!]]);
    await c.run([[ts[1]!]]); // traced step 3 ahead from counters 24/8
    s.mask.counter = 100;
    s.noise.counter = 50;
    const w = s.w.toArray() as number[];
    await c.run([[ts[2]!]]);
    await c.release();
    const ref = { w: fromTypedArray(Float32Array.from(w), [3, 4], "float32").keep(), mask: new Rng(3, "dropout"), noise: new Rng(4, "noise") };
    ref.mask.counter = 100;
    ref.noise.counter = 50;
    const e = eager(ts.slice(2, 3), ref, 3);
    expect([s.mask.counter, s.noise.counter]).toEqual([112, 54]);
    (s.w.toArray() as number[]).forEach((v, i) => expect(v).toBeCloseTo(e.w[i]!, 5));
  });

  it("a counter that first moves after the first two steps is lifted then (the model is rebuilt once)", async () => {
    const w = zeros([8]).keep();
    // A stream made in the step, whose position is a host function that stays 0 for steps 1 and 2.
    const f = (t: number) => {
      const r = new Rng(9);
      r.counter = t <= 2 ? 0 : 1000 * t;
      w.assign(w.add(r.uniform([8])));
      return { host: t + 1, outputs: { s: w.sum() } };
    };
    const c = await compile(f, { tensors: [w], batch: [], host: 1, threads: 1 });
    expect(c.lifted).toBe(0);
    for (let i = 0; i < 4; i++) await c.run([[]]);
    await c.release();
    expect(c.lifted).toBe(1);
    const v = zeros([8]).keep();
    tidy(() => {
      for (const t of [1, 2, 3, 4]) {
        const r = new Rng(9);
        r.counter = t <= 2 ? 0 : 1000 * t;
        v.assign(v.add(r.uniform([8])));
      }
    });
    (w.toArray() as number[]).forEach((x, i) => expect(x).toBeCloseTo((v.toArray() as number[])[i]!, 5));
  });

  it("a random op whose key changes between steps is refused, with a clear message", async () => {
    const w = zeros([4]).keep();
    // A new seed every step: another stream, not the next numbers of one.
    const f = (t: number) => {
      w.assign(w.add(new Rng(t).uniform([4])));
      return { host: t + 1, outputs: { s: w.sum() } };
    };
    await expect(compile(f, { tensors: [w], batch: [], host: 1, threads: 1 })).rejects.toThrow(/random op \d+ .* may only move their counter .*key \(seed or stream\)/);
  });
});
