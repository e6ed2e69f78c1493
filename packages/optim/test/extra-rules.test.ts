/** The seven extra rules through partition + the in-place step, in float32, with state records. */
import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "@equigrad/tensor";
import { partition, rules, stateFromRecord, stateToRecord, step, type Hyper, type Param, type TableEntry } from "@equigrad/optim";
import { noise } from "./extra-run.js";

const f32 = (data: number[], shape: number[]): Tensor => tensor(Float32Array.from(data), { shape, dtype: "float32" });
const params = (): Param[] => [
  { path: "blocks.0.mlp.up.weight", role: "mlp.up", value: f32(noise(24, 1), [6, 4]) },
  { path: "blocks.0.attn.q.weight", role: "attn.q", value: f32(noise(20, 2), [4, 5]) },
  { path: "blocks.0.moe.experts.up", role: "moe.expert.up", value: f32(noise(24, 3), [2, 3, 4]) },
  { path: "blocks.0.norm.weight", role: "norm", value: f32(noise(4, 4), [4]) },
];
const matrices = ["mlp.up", "attn.q", "moe.expert.up"];

/** [rule, hyper, whether the vector parameter goes to it too (else to AdamW)]. */
const cases: [string, Hyper, boolean][] = [
  ["lion", { lr: 0.01, weightDecay: 0.1 }, true],
  ["adabelief", { lr: 0.01, weightDecay: 0.1 }, true],
  ["scion", { lr: 0.01, norm: "spectral", beta: 0.9 }, false],
  ["scion", { lr: 0.01, beta: 0.9 }, true],
  ["root", { lr: 0.01 }, false],
  ["spectra", { base: { rule: "adamw", hyper: { lr: 0.01, weightDecay: 0.1 } }, c: 0.5 }, false],
  ["spectra", { base: { rule: "lion", hyper: { lr: 0.01 } }, c: 0.5, applyTo: "all", cPre: 1, mode: "normalize" }, true],
  ["swan", { lr: 0.01 }, false],
  ["lanton", { acknowledgeReconstruction: true, lr: 0.01 }, false],
  ["lanton", { acknowledgeReconstruction: true, lr: 0.01, lmo: "sign" }, true],
];

describe("extra rules in a partition with the in-place step (float32)", () => {
  it("all seven are registered", () => {
    for (const name of ["lion", "adabelief", "scion", "root", "spectra", "swan", "lanton"]) expect(rules.get(name)).toBeDefined();
  });

  for (const [rule, hyper, vectors] of cases) {
    it(`${rule} ${JSON.stringify(hyper)}: 3 steps keep dtype and shapes, move the weights, and the state survives a record round trip`, () => {
      const ps = params();
      const table: TableEntry[] = vectors
        ? [{ match: { roles: [...matrices, "norm"] }, rule, hyper }]
        : [
            { match: { roles: matrices }, rule, hyper },
            { match: { roles: ["norm"] }, rule: "adamw", hyper: { lr: 0.01 } },
          ];
      const opt = partition(table, ps);
      const before = ps.map((p) => p.value.toArray());
      let state = opt.init(ps);
      for (let t = 0; t < 3; t++) {
        const grads = Object.fromEntries(ps.map((p, i) => [p.path, f32(noise(p.value.size, 10 * t + i), [...p.value.shape])]));
        state = step(opt, ps, grads, state).state;
      }
      ps.forEach((p, i) => {
        expect(p.value.dtype).toBe("float32");
        const now = p.value.toArray();
        expect(now.every(Number.isFinite)).toBe(true);
        expect(now.some((x, j) => x !== before[i]![j])).toBe(true);
      });
      const rec = stateToRecord(state);
      const back = stateToRecord(stateFromRecord(opt, ps, rec));
      expect(Object.keys(back).sort()).toEqual(Object.keys(rec).sort());
      for (const [k, v] of Object.entries(rec)) {
        const w = back[k]!;
        if (typeof v === "number") expect(w).toBe(v);
        else expect((w as Tensor).toArray()).toEqual(v.toArray());
      }
      expect(Object.keys(opt.learningRates!(state))).toEqual(vectors ? [rule] : [rule, "adamw"]);
    });
  }
});
