import { describe, expect, it } from "vitest";
import { Rng, compile, fromTypedArray, tidy, zeros } from "@equigrad/tensor";
import { toyStep } from "./toy-step.js";

const setup = () => ({ w: new Rng(2).normal([3, 4]).keep(), m: zeros([3, 4]).keep() });
const targets = (n: number) => Array.from({ length: n }, (_, i) => new Rng(10 + i).normal([3, 4]).data() as Float32Array);
const batch = [{ shape: [3, 4], dtype: "float32" as const, name: "target" }];

describe("compile (ONNX Runtime, CPU provider)", () => {
  it("N compiled steps equal N eager steps, with the schedule's lr lifted to an input", async () => {
    const { w, m } = setup();
    const ts = targets(4);
    const c = await compile(toyStep(w, m), { tensors: [w, m], batch, host: 1, threads: 1 });
    expect(c.lifted).toBe(1);
    const losses: number[] = [];
    for (const t of ts) losses.push((await c.run([[t]])).loss![0]![0]!);
    await c.release();
    expect(c.host).toBe(5);
    const e = setup();
    const eager: number[] = [];
    tidy(() => {
      let t = 1;
      for (const target of ts) {
        const r = toyStep(e.w, e.m)(t, [fromTypedArray(target, [3, 4], "float32")]);
        eager.push(r.outputs.loss.item());
        t = r.host;
      }
    });
    losses.forEach((l, i) => expect(l).toBeCloseTo(eager[i]!, 5));
    w.toArray().forEach((v, i) => expect(v).toBeCloseTo(e.w.toArray()[i]!, 5));
    m.toArray().forEach((v, i) => expect(v).toBeCloseTo(e.m.toArray()[i]!, 5));
  });

  it("a K-step Loop equals K single steps", async () => {
    const ts = targets(6);
    const a = setup();
    const one = await compile(toyStep(a.w, a.m), { tensors: [a.w, a.m], batch, host: 1, threads: 1 });
    const single: number[] = [];
    for (const t of ts) single.push((await one.run([[t]])).loss![0]![0]!);
    await one.release();
    const b = setup();
    const three = await compile(toyStep(b.w, b.m), { tensors: [b.w, b.m], batch, host: 1, threads: 1, stepsPerCall: 3 });
    // The Loop carries the pieces of the flat buffer (split once before it, joined once after).
    expect(Buffer.from(three.model).includes("body_flat_float32_1")).toBe(true);
    const looped: number[] = [];
    for (let i = 0; i < 6; i += 3) looped.push(...(await three.run(ts.slice(i, i + 3).map((t) => [t]))).loss!.map((l) => l[0]!));
    await three.release();
    expect(three.host).toBe(7);
    looped.forEach((l, i) => expect(l).toBeCloseTo(single[i]!, 6));
    b.w.toArray().forEach((v, i) => expect(v).toBeCloseTo(a.w.toArray()[i]!, 6));
  });

  it("runs ORT in a worker thread: the event loop keeps turning during a call", async () => {
    // A step heavy enough to take a while: four 768×768 matmuls.
    const w = new Rng(5).normal([768, 768], 0, 0.03).keep();
    const heavy = (t: number) => {
      let x = w;
      for (let i = 0; i < 4; i++) x = x.matmul(w);
      w.assign(w.add(x.mul(1e-6)));
      return { host: t + 1, outputs: { s: x.sum() } };
    };
    const c = await compile(heavy, { tensors: [w], batch: [], host: 0, threads: 1, stepsPerCall: 8 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await c.run(Array.from({ length: 8 }, () => []));
    const ms = performance.now() - t0;
    clearInterval(timer);
    await c.release();
    // A blocked loop would tick at most once; a free one about once per millisecond of the call.
    expect(ms).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(Math.min(10, ms / 10));
  });
});
