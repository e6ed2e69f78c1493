import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "@equigrad/tensor";
import { chain, clipByGlobalNorm, partition, stateFromRecord, stateToRecord, step, type Param, type TableEntry } from "@equigrad/optim";
import { f64 } from "./helpers.js";

const table: TableEntry[] = [
  { match: { roles: ["attn.*"] }, rule: "adamw", hyper: { lr: 0.01, amsgrad: true } },
  { match: { roles: ["norm", "bias"] }, rule: "sgd", hyper: { lr: 0.1, momentum: 0.9 } },
];

const model = (): Param[] => [
  { path: "blocks.0.attn.q.weight", role: "attn.q", value: f64([0.5, -1, 2, 0.25], [2, 2]) },
  { path: "blocks.0.norm.weight", role: "norm", value: f64([1, 1]) },
  { path: "blocks.0.attn.q.bias", role: "bias", value: f64([0, 0.1]) },
];

const gradsAt = (t: number): Record<string, Tensor> => ({
  "blocks.0.attn.q.weight": f64([Math.sin(t), Math.cos(t), 0.5, -t], [2, 2]),
  "blocks.0.norm.weight": f64([0.1 * t, -0.2]),
  "blocks.0.attn.q.bias": f64([1, -1 / (t + 1)]),
});

/** A copy of the record holding fresh tensors (as a checkpoint load would give). */
const reload = (rec: Record<string, Tensor | number>): Record<string, Tensor | number> =>
  Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, typeof v === "number" ? v : f64(v.toArray(), [...v.shape])]));

describe("optimizer state records", () => {
  it("keys state by rule label and parameter path, with numbers for counts", () => {
    const ps = model();
    const opt = chain(clipByGlobalNorm(1), partition(table, ps));
    let s = opt.init(ps);
    for (let t = 0; t < 3; t++) s = step(opt, ps, gradsAt(t), s).state;
    const rec = stateToRecord(s);
    expect(Object.keys(rec).sort()).toEqual([
      "adamw/blocks.0.attn.q.weight/exp_avg",
      "adamw/blocks.0.attn.q.weight/exp_avg_sq",
      "adamw/blocks.0.attn.q.weight/max_exp_avg_sq",
      "adamw/count",
      "sgd/blocks.0.attn.q.bias/momentum_buffer",
      "sgd/blocks.0.norm.weight/momentum_buffer",
      "sgd/count",
    ]);
    expect(rec["adamw/count"]).toBe(3);
    expect(rec["sgd/count"]).toBe(3);
    expect((rec["adamw/blocks.0.attn.q.weight/exp_avg"] as Tensor).shape).toEqual([2, 2]);
  });

  it("round-trips: training on from the restored state (params listed in another order) matches training on", () => {
    const a = model();
    const opt = chain(clipByGlobalNorm(1), partition(table, a));
    let s = opt.init(a);
    for (let t = 0; t < 3; t++) s = step(opt, a, gradsAt(t), s).state;

    const b = [...a].reverse().map((p) => ({ ...p, value: f64(p.value.toArray(), [...p.value.shape]) }));
    const optB = chain(clipByGlobalNorm(1), partition(table, b));
    let sb = stateFromRecord(optB, b, reload(stateToRecord(s)));
    expect(stateToRecord(sb)["sgd/count"]).toBe(3);
    for (let t = 3; t < 6; t++) {
      s = step(opt, a, gradsAt(t), s).state;
      sb = step(optB, b, gradsAt(t), sb).state;
    }
    for (const p of a) expect(b.find((q) => q.path === p.path)!.value.toArray()).toEqual(p.value.toArray());
    const ra = stateToRecord(s);
    const rb = stateToRecord(sb);
    for (const k of Object.keys(ra)) expect(typeof rb[k] === "number" ? rb[k] : (rb[k] as Tensor).toArray()).toEqual(typeof ra[k] === "number" ? ra[k] : (ra[k] as Tensor).toArray());
  });

  it("casts a tensor saved in another dtype to the state's dtype", () => {
    const ps = model();
    const opt = partition(table, ps);
    const rec = stateToRecord(opt.init(ps));
    rec["sgd/blocks.0.norm.weight/momentum_buffer"] = tensor([0.5, 0.25]);
    const s = stateToRecord(stateFromRecord(opt, ps, rec));
    const t = s["sgd/blocks.0.norm.weight/momentum_buffer"] as Tensor;
    expect(t.dtype).toBe("float64");
    expect(t.toArray()).toEqual([0.5, 0.25]);
  });

  it("lists missing and unexpected keys, shape mismatches and wrong kinds in one error", () => {
    const ps = model();
    const opt = partition(table, ps);
    const rec = stateToRecord(opt.init(ps));
    delete rec["adamw/blocks.0.attn.q.weight/exp_avg_sq"];
    rec["adamw/blocks.0.attn.q.weight/exp_avg"] = f64([1, 2, 3, 4]);
    rec["sgd/count"] = f64([3]);
    rec["adamw/count"] = Number.NaN;
    rec["sgd/blocks.0.norm.weight/momentum_buffer"] = 7;
    rec["adamw/blocks.0.attn.k.weight/exp_avg"] = f64([1]);
    let message = "";
    try {
      stateFromRecord(opt, ps, rec);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split("\n")).toEqual([
      "stateFromRecord: the record does not fit this optimizer:",
      "  - 'adamw/count' should be a number, got NaN",
      "  - 'adamw/blocks.0.attn.q.weight/exp_avg' has shape [4], the parameter needs [2, 2]",
      "  - missing 'adamw/blocks.0.attn.q.weight/exp_avg_sq'",
      "  - 'sgd/count' should be a number, got a tensor",
      "  - 'sgd/blocks.0.norm.weight/momentum_buffer' should be a tensor of shape [2], got number",
      "  - unexpected 'adamw/blocks.0.attn.k.weight/exp_avg' (saved with another optimizer table?)",
    ]);
  });

  it("refuses two chained transforms whose state keys collide", () => {
    const ps = model();
    const opt = chain(partition(table, ps), partition(table, ps));
    expect(() => stateToRecord(opt.init(ps))).toThrow(/two state entries share the key 'adamw\/count'/);
  });
});
