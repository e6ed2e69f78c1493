import { describe, expect, it } from "vitest";
import { TableError, buildTable, roleSchedule, schedule, tableNames, tableVariants, type BaseHyper, type ScheduleSpec, type TableEntry } from "@equigrad/optim";

const T = 1000;
const base: BaseHyper = { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, schedule: { kind: "wsd", totalSteps: T, warmupSteps: 50, decayFraction: 0.4, floor: 0 } };
const entry = (table: readonly TableEntry[], name: string): TableEntry => {
  const e = table.find((x) => x.name === name);
  if (!e) throw new Error(`no entry ${name} in ${table.map((x) => x.name).join(", ")}`);
  return e;
};
const failure = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return (e as Error).message;
  }
  throw new Error("did not fail");
};

describe("T25: per-role schedules of the ready tables", () => {
  it("matrix roles: 1 at step 0 and at 0.6T, 0.5 at 0.8T, 0 at T (no warmup, linear decay over the last 40%)", () => {
    const s = schedule(roleSchedule("matrix", T));
    expect(s(0)).toBe(1);
    expect(s(0.6 * T)).toBe(1);
    expect(s(0.8 * T)).toBeCloseTo(0.5, 12);
    expect(s(T)).toBeCloseTo(0, 12);
    // The reference's multiplier min(1, (1 − t/T)/0.4) at every step.
    for (const t of [0, 1, 300, 599, 600, 601, 750, 999, 1000]) expect(s(t)).toBeCloseTo(Math.min(1, (1 - t / T) / 0.4), 12);
  });

  it("other (1-D AdamW): linear warmup over 100 steps, then a cosine to 0 at T", () => {
    const s = schedule(roleSchedule("other", T));
    expect(s(0)).toBeCloseTo(1 / 100, 12);
    expect(s(49)).toBeCloseTo(50 / 100, 12);
    expect(s(99)).toBeCloseTo(1, 12);
    expect(s(100)).toBeCloseTo(1, 12);
    expect(s(100 + (T - 100) / 2)).toBeCloseTo(0.5, 12);
    expect(s(T)).toBeCloseTo(0, 12);
    // A cosine, not a linear decay: a quarter of the way down it is (1 + cos(π/4))/2.
    expect(s(100 + (T - 100) / 4)).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12);
    // A short run keeps a tenth of its steps for the warmup.
    expect((roleSchedule("other", 200) as { warmupSteps: number }).warmupSteps).toBe(20);
  });

  it("every entry of symmetry and muon carries its role's schedule over the run's steps", () => {
    for (const name of ["symmetry", "muon"]) {
      const table = buildTable(name, { steps: T });
      for (const e of table) {
        const spec = e.hyper!.schedule as ScheduleSpec;
        expect(spec, `${name}/${e.name}`).toEqual(roleSchedule(e.name === "other" ? "other" : "matrix", T));
      }
    }
  });
});

describe("the ready tables as data", () => {
  it("symmetry: the paper's default stack (row-norm embedding, centered row-norm head, per-head Muon, row/col-aware MLP, centered router, per-expert Muon, AdamW (0.9, 0.95) on 1-D)", () => {
    const t = buildTable("symmetry", { steps: T });
    expect(t.map((e) => e.name)).toEqual(["embed", "lm_head", "attn", "mlp_in", "mlp_down", "router", "experts_in", "experts_down", "other"]);
    expect(entry(t, "embed")).toMatchObject({ rule: "rownorm", hyper: { center: false, orientation: "row", beta: 0.95, weightDecay: 0 } });
    expect(entry(t, "lm_head")).toMatchObject({ rule: "rownorm", hyper: { center: true, orientation: "row", weightDecay: 0 } });
    expect(entry(t, "attn")).toMatchObject({ rule: "muon", match: { roles: ["attn.*"] }, hyper: { perHead: true, coefficients: "polar_express", scale: "keller", nesterov: true, momentum: 0.95 } });
    expect(entry(t, "mlp_in")).toMatchObject({ rule: "rownorm", match: { roles: ["mlp.gate", "mlp.up"] }, hyper: { orientation: "row", center: false, lr: 0.01 } });
    expect(entry(t, "mlp_down")).toMatchObject({ rule: "rownorm", match: { roles: ["mlp.down"] }, hyper: { orientation: "col", center: false } });
    expect(entry(t, "router")).toMatchObject({ rule: "rownorm", hyper: { center: true, weightDecay: 0 } });
    expect(entry(t, "experts_in")).toMatchObject({ rule: "muon", hyper: { perHead: false } });
    expect(entry(t, "other")).toMatchObject({ rule: "adamw", match: { roles: ["norm", "bias", "scalar"] }, hyper: { betas: [0.9, 0.95], eps: 1e-8 } });
  });

  it("variants choose the router (centered row-norm / centered left spectral / AdamW) and the MLP (row-norm / hybrid)", () => {
    expect(tableVariants("symmetry").router).toEqual(["rownorm", "left", "hybrid", "adamw"]);
    const left = buildTable("symmetry", { steps: T, variants: { router: "left", mlp: "hybrid" } });
    expect(entry(left, "router")).toMatchObject({ rule: "left_polar", hyper: { center: true, alpha: 1 } });
    expect(entry(left, "mlp_in")).toMatchObject({ rule: "hybrid", hyper: { orientation: "row", order: "row_then_polar", center: false } });
    expect(entry(left, "mlp_down")).toMatchObject({ rule: "hybrid", hyper: { orientation: "col" } });
    const adam = buildTable("symmetry", { steps: T, variants: { router: "adamw" } });
    expect(entry(adam, "router")).toMatchObject({ rule: "adamw", hyper: { betas: [0.9, 0.95], weightDecay: 0 } });
    // One router lr for every router choice, as in the reference runs.
    const lrOf = (v: string) => entry(buildTable("symmetry", { steps: T, variants: { router: v } }), "router").hyper!.lr;
    expect(new Set(["rownorm", "left", "adamw"].map(lrOf)).size).toBe(1);
  });

  it("muon: Muon on hidden matrices only, AdamW on embedding, head, router and 1-D", () => {
    const t = buildTable("muon", { steps: T });
    expect(Object.fromEntries(t.map((e) => [e.name, e.rule]))).toEqual({ embed: "adamw", lm_head: "adamw", matrix: "muon", router: "adamw", other: "adamw" });
    expect(entry(t, "matrix")).toMatchObject({ match: { roles: ["attn.*", "mlp.*", "moe.expert.*"] }, hyper: { coefficients: "keller", perHead: false } });
  });

  it("adamw follows the config's shared settings with decay on matrices only (the table the built-in config always used)", () => {
    const t = buildTable("adamw", { steps: T, base });
    for (const e of t) {
      const decayed = ["lm_head", "matrix", "router"].includes(e.name!);
      expect(e.hyper, e.name).toEqual({ lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: decayed ? 0.1 : 0, schedule: base.schedule });
    }
    expect(failure(() => buildTable("adamw", { steps: T }))).toMatch(/shared AdamW settings/);
  });

  it("overrides merge per entry, lrScale multiplies every lr after them", () => {
    const plain = buildTable("symmetry", { steps: T });
    const t = buildTable("symmetry", { steps: T, overrides: { router: { lr: 1e-3, beta: 0.9 } }, lrScale: 2 });
    expect(entry(t, "router").hyper).toMatchObject({ lr: 2e-3, beta: 0.9 });
    for (const e of t) if (e.name !== "router") expect(e.hyper!.lr, e.name).toBeCloseTo(2 * (entry(plain, e.name!).hyper!.lr as number), 15);
  });

  it("leaves out entries that match no parameter of the model (a dense model has no router)", () => {
    const params = [
      { path: "embed.weight", role: "embed" },
      { path: "blocks.0.attn.q.weight", role: "attn.q" },
      { path: "blocks.0.mlp.up.weight", role: "mlp.up" },
      { path: "blocks.0.mlp.down.weight", role: "mlp.down" },
      { path: "blocks.0.norm.weight", role: "norm" },
    ];
    expect(buildTable("symmetry", { steps: T, params }).map((e) => e.name)).toEqual(["embed", "attn", "mlp_in", "mlp_down", "other"]);
  });

  it("names every problem: unknown table, slot, variant, entry, and an override of an entry the model lacks", () => {
    expect(failure(() => buildTable("sgd-everywhere", { steps: T }))).toMatch(/unknown optimizer table 'sgd-everywhere'; ready tables: symmetry, adamw, muon/);
    const m = failure(() => buildTable("symmetry", { steps: T, variants: { routr: "left", mlp: "polar" }, overrides: { mlp: { lr: 1 } } }));
    expect(m).toMatch(/optim\.variants\.routr: table 'symmetry' has only the variant slots embed, lmHead, mlp, router, experts/);
    expect(m).toMatch(/optim\.variants\.mlp: unknown variant 'polar'; choose one of rownorm, hybrid, muon, adamw/);
    expect(m).toMatch(/optim\.overrides\.mlp: table 'symmetry' has no entry 'mlp'; its entries: embed, lm_head, attn, mlp_in/);
    expect(failure(() => buildTable("muon", { steps: T, variants: { router: "left" } }))).toMatch(/table 'muon' has no variant slots/);
    const dense = [{ path: "embed.weight", role: "embed" }, { path: "n.weight", role: "norm" }];
    expect(failure(() => buildTable("symmetry", { steps: T, params: dense, overrides: { router: { lr: 1 } } }))).toMatch(/has entry 'router', but it matches no parameter of this model/);
    expect(tableNames()).toEqual(["symmetry", "adamw", "muon"]);
  });
});
