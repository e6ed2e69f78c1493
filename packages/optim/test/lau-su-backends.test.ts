import { expect, it } from "vitest";
import { tensor, trace, withBackend, type Tensor } from "@equigrad/tensor";
import { gramNewtonSchulz, newtonSchulz } from "../src/linalg/index.js";
import { rules } from "../src/rules/index.js";
import * as R from "./reference-linalg.js";

/** One step of every core rule on the given backend, float32 (the optim suite runs on reference only, so this covers wasm). */
function stepOn(backend: string, name: string, hyper: Record<string, unknown>, shape: number[], meta?: unknown): number[] {
  return withBackend(backend, () => {
    const n = shape.reduce((a, b) => a * b);
    const mk = (seed: number): Tensor => tensor(Float32Array.from(R.randMat(1, n, seed)[0]!), { shape, dtype: "float32" });
    const rule = rules.get(name)!.create({ lr: 0.1, weightDecay: 0.01, ...hyper }, { label: name, params: [] });
    const params = [{ path: "w", role: "x", value: mk(1), meta }];
    let state = rule.init(params);
    let out: number[] = [];
    for (const s of [2, 3]) {
      const [u, st] = rule.update({ w: mk(s) }, state, params);
      state = st;
      out = u.w!.toArray();
    }
    return out;
  }) as number[];
}

it("wasm matches reference in float32 for every core rule", () => {
  const cases: [string, Record<string, unknown>, number[], unknown?][] = [
    ["rownorm", { center: true }, [12, 20]],
    ["rownorm", { orientation: "gpt_oss_gate_up_pair" }, [2, 6, 8]],
    ["right_polar", {}, [20, 12]],
    ["right_polar", { impl: "invsqrt" }, [20, 12]],
    ["left_polar", {}, [6, 20]],
    ["hybrid", {}, [12, 20]],
    ["hybrid", { left: true, center: true, impl: "invsqrt" }, [6, 20]],
    ["muon", {}, [12, 20], { heads: { heads: 3, headDim: 4, kind: "q" } }],
    ["muon", { orientation: "gpt_oss_gate_up_pair" }, [2, 6, 8]],
    ["polargrad", {}, [12, 20]],
    ["polargrad", { polarFirst: true, impl: "invsqrt" }, [12, 20]],
  ];
  for (const [name, h, shape, meta] of cases) {
    const a = stepOn("reference", name, h, shape, meta);
    const b = stepOn("wasm", name, h, shape, meta);
    const scale = Math.max(...a.map(Math.abs));
    const err = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    expect(b.every(Number.isFinite)).toBe(true);
    expect(err / scale, `${name} ${JSON.stringify(h)}`).toBeLessThan(1e-4); // observed 1e-7 to 3e-5
  }
});

it("T12 on wasm: NS(Gᵀ) == NS(G)ᵀ bit for bit (float32, NS and Gram NS)", () => {
  withBackend("wasm", () => {
    const g = tensor(Float32Array.from(R.randMat(1, 24 * 40, 9)[0]!), { shape: [24, 40], dtype: "float32" });
    for (const f of [newtonSchulz, gramNewtonSchulz]) {
      for (const x of [g, g.transpose().contiguous()]) expect(f(x.transpose()).toArray()).toEqual(f(x).transpose().contiguous().toArray());
    }
  });
});

it("every core rule's update traces into a graph (tensor ops only, no host reads)", () => {
  const cases: [string, Record<string, unknown>, number[], unknown?][] = [
    ["rownorm", { center: true }, [12, 20]], ["right_polar", {}, [20, 12]], ["right_polar", { impl: "invsqrt" }, [20, 12]],
    ["left_polar", {}, [6, 20]], ["hybrid", {}, [2, 6, 8]], ["muon", { orientation: "gpt_oss_gate_up_pair" }, [2, 6, 8]],
    ["muon", {}, [12, 20], { heads: { heads: 3, headDim: 4, kind: "q" } }], ["polargrad", { polarFirst: true }, [12, 20]],
  ];
  const spec = (shape: number[]) => ({ shape, dtype: "float32" as const });
  for (const [name, h, shape, meta] of cases) {
    const rule = rules.get(name)!.create(h, { label: name, params: [] });
    const tr = trace((p, g, m) => {
      const params = [{ path: "w", role: "x", value: p!, meta }];
      const st = rule.init(params) as unknown as Record<string, Record<string, Tensor>>;
      const slots = { ...st.w! };
      slots[Object.keys(slots).find((k) => k !== "nu")!] = m!; // the momentum slot is a graph input
      const [u, s] = rule.update({ w: g! }, { ...st, w: slots } as never, params);
      return { u: u.w!, ...(s as unknown as Record<string, Record<string, Tensor>>).w! };
    }, [spec(shape), spec(shape), spec(shape)]);
    expect(tr.graph.nodes.length, name).toBeGreaterThan(10);
  }
  // Negative control: a host read inside the traced function fails.
  expect(() => trace((x) => x!.mul(x!.sum().item()), [spec([2, 2])])).toThrow();
});
