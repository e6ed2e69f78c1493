import { describe, expect, it } from "vitest";
import { zerosLike, type Tensor } from "@equigrad/tensor";
import { PartitionError, adamw, currentLearningRates, globMatch, partition, rules, sgd, type Param, type TableEntry } from "@equigrad/optim";
import { f64, shaped } from "./helpers.js";

/** A one-block model's parameters, as nn would list them. */
const model = (): Param[] => [
  shaped("embed.weight", "embed", [10, 4]),
  shaped("blocks.0.attn.q.weight", "attn.q", [4, 4]),
  shaped("blocks.0.attn.k.weight", "attn.k", [4, 4]),
  shaped("blocks.0.mlp.up.weight", "mlp.up", [8, 4]),
  shaped("blocks.0.mlp.up.bias", "bias", [8]),
  shaped("blocks.0.mlp.down.weight", "mlp.down", [4, 8]),
  shaped("blocks.0.norm.weight", "norm", [4]),
  shaped("blocks.0.moe.experts.up", "moe.expert.up", [2, 8, 4]),
  shaped("lm_head.weight", "lm_head", [10, 4]),
];

const adamwTable: TableEntry[] = [
  { match: { roles: ["attn.*", "mlp.*", "moe.expert.*", "lm_head"] }, rule: "adamw", hyper: { lr: 0.01, weightDecay: 0.1 } },
  { match: { roles: ["embed", "norm", "bias"] }, rule: "adamw", hyper: { lr: 0.02, weightDecay: 0 } },
];

const zeroGrads = (ps: Param[]): Record<string, Tensor> => Object.fromEntries(ps.map((p) => [p.path, zerosLike(p.value)]));

/** The PartitionError a build throws. */
function failure(table: TableEntry[], params: Param[], registry = rules): PartitionError {
  try {
    partition(table, params, { registry });
  } catch (e) {
    expect(e).toBeInstanceOf(PartitionError);
    return e as PartitionError;
  }
  throw new Error("partition did not fail");
}

describe("partition: assigning rules by an explicit table", () => {
  it("gives each parameter its entry's rule and hyperparameters (weight decay only where the table says)", () => {
    const ps = model();
    const opt = partition(adamwTable, ps);
    expect(opt.groups.map((g) => [g.label, g.paths.length, g.roles])).toEqual([
      ["adamw#1", 6, ["attn.q", "attn.k", "mlp.up", "mlp.down", "moe.expert.up", "lm_head"]],
      ["adamw#2", 3, ["embed", "bias", "norm"]],
    ]);
    // With zero gradients AdamW's step is 0, so the update is exactly the decoupled decay −lr·wd·p.
    const [u] = opt.update(zeroGrads(ps), opt.init(ps), ps);
    expect(Object.keys(u).sort()).toEqual(ps.map((p) => p.path).sort());
    expect(u["blocks.0.mlp.down.weight"]!.toArray()[0]).toBeCloseTo(-0.01 * 0.1 * 0.5, 15);
    expect(u["blocks.0.norm.weight"]!.toArray().every((x) => x === 0)).toBe(true);
    expect(u["embed.weight"]!.toArray().every((x) => x === 0)).toBe(true);
  });

  it("reports the lr applied per entry, each with its own schedule", () => {
    const ps = model();
    const opt = partition(
      [
        { match: { roles: ["attn.*", "mlp.*", "moe.*", "lm_head"] }, rule: "sgd", name: "matrices", hyper: { lr: 0.1, momentum: 0.9, schedule: { kind: "linear-warmup", warmupSteps: 2 } } },
        { match: { roles: ["embed", "norm", "bias"] }, rule: "adamw", name: "vectors", hyper: { lr: 0.01, schedule: { kind: "wsd", totalSteps: 10 } } },
      ],
      ps,
    );
    let s = opt.init(ps);
    const seen: Record<string, number>[] = [];
    for (let t = 0; t < 10; t++) {
      s = opt.update(zeroGrads(ps), s, ps)[1];
      seen.push(currentLearningRates(opt, s));
    }
    expect(seen[0]).toEqual({ matrices: 0.05, vectors: 0.01 });
    expect(seen[1]).toEqual({ matrices: 0.1, vectors: 0.01 });
    expect(seen[8]!.vectors).toBeCloseTo(0.01 * (1 - 2 / 4), 15);
  });

  it("matches path globs ('*' spans dots) and role globs; with both, a parameter must match both", () => {
    expect(globMatch("blocks.*.mlp.*", "blocks.11.mlp.down.weight")).toBe(true);
    expect(globMatch("blocks.*.mlp.*", "blocks.0.attn.q.weight")).toBe(false);
    expect(globMatch("blocks.?.norm.weight", "blocks.3.norm.weight")).toBe(true);
    expect(globMatch("embed.weight", "embedXweight")).toBe(false);
    const ps = model();
    const opt = partition(
      [
        { match: { paths: ["blocks.*.mlp.*"], roles: ["mlp.*"] }, rule: "sgd", name: "mlp" },
        { match: { paths: ["blocks.*.mlp.*"], roles: ["bias"] }, rule: "sgd", name: "mlp-bias" },
        { match: { roles: ["moe.expert.*", "attn.*"] }, rule: "sgd", name: "rest" },
        { match: { paths: ["embed.*", "lm_head.*", "*.norm.*"] }, rule: "adamw" },
      ],
      ps,
    );
    expect(Object.fromEntries(opt.groups.map((g) => [g.label, g.paths]))).toEqual({
      mlp: ["blocks.0.mlp.up.weight", "blocks.0.mlp.down.weight"],
      "mlp-bias": ["blocks.0.mlp.up.bias"],
      rest: ["blocks.0.attn.q.weight", "blocks.0.attn.k.weight", "blocks.0.moe.experts.up"],
      adamw: ["embed.weight", "blocks.0.norm.weight", "lm_head.weight"],
    });
  });

  it("lists every unmatched parameter with its role and shape", () => {
    const e = failure([{ match: { roles: ["attn.*", "embed", "lm_head", "norm", "bias"] }, rule: "adamw" }], model());
    expect(e.problems).toEqual([
      "parameter 'blocks.0.mlp.up.weight' (role mlp.up, shape [8, 4]) matches no entry",
      "parameter 'blocks.0.mlp.down.weight' (role mlp.down, shape [4, 8]) matches no entry",
      "parameter 'blocks.0.moe.experts.up' (role moe.expert.up, shape [2, 8, 4]) matches no entry",
    ]);
    expect(e.message).toMatch(/^optimizer table does not fit the parameters \(3 problems\):\n {2}- parameter 'blocks\.0\.mlp\.up\.weight'/);
  });

  it("lists every parameter matched by several entries, with the entries", () => {
    const e = failure(
      [
        { match: { roles: ["*"] }, rule: "adamw" },
        { match: { paths: ["blocks.0.attn.*"] }, rule: "sgd" },
      ],
      model(),
    );
    expect(e.problems).toEqual([
      "parameter 'blocks.0.attn.q.weight' (role attn.q) matches 2 entries: table[0] (adamw; roles *), table[1] (sgd; paths blocks.0.attn.*)",
      "parameter 'blocks.0.attn.k.weight' (role attn.k) matches 2 entries: table[0] (adamw; roles *), table[1] (sgd; paths blocks.0.attn.*)",
    ]);
  });

  it("lists every entry that matches no parameter", () => {
    const e = failure([...adamwTable, { match: { roles: ["moe.router"] }, rule: "sgd" }, { match: { paths: ["decoder.*"] }, rule: "sgd" }], model());
    expect(e.problems).toEqual(["table[2] (sgd; roles moe.router) matches no parameter", "table[3] (sgd; paths decoder.*) matches no parameter"]);
  });

  it("checks the ranks a rule accepts, naming the path, its shape and the rule", () => {
    const registry = rules.clone().register("matrix", { ranks: [2, 3], create: (h) => sgd(h) });
    const e = failure([{ match: { roles: ["*"] }, rule: "matrix" }], model(), registry);
    expect(e.problems).toEqual([
      "table[0] (matrix; roles *): rule 'matrix' accepts rank 2 or 3, but 'blocks.0.mlp.up.bias' has shape [8] (rank 1)",
      "table[0] (matrix; roles *): rule 'matrix' accepts rank 2 or 3, but 'blocks.0.norm.weight' has shape [4] (rank 1)",
    ]);
    // AdamW accepts any rank.
    expect(() => partition([{ match: { roles: ["*"] }, rule: "adamw" }], model())).not.toThrow();
  });

  it("reports every kind of problem together in one error", () => {
    const ps = [...model(), shaped("blocks.0.norm.weight", "norm", [4]), shaped("odd/path", "scalar", [])];
    const e = failure(
      [
        { match: { roles: ["attn.*"] }, rule: "adamx" },
        { match: { roles: ["mlp.*", "attn.q"] }, rule: "adamw", hyper: { weight_decay: 0.1 } },
        { match: {}, rule: "sgd" },
        { match: { roles: ["lm_head"] }, rule: "sgd", name: "x" },
        { match: { roles: ["embed"] }, rule: "sgd", name: "x" },
        { match: { roles: ["router"] }, rule: "sgd", hyper: { momentum: -1 } },
      ],
      ps,
    );
    const text = e.message;
    expect(text).toContain("parameter path 'blocks.0.norm.weight' appears twice");
    expect(text).toContain("parameter path 'odd/path' is empty or contains '/'");
    expect(text).toContain("table[0]: unknown rule 'adamx'; registered: adamw, sgd");
    expect(text).toContain("table[2]: match names no roles and no paths");
    expect(text).toContain("parameter 'blocks.0.norm.weight' (role norm, shape [4]) matches no entry");
    expect(text).toContain("table[5] (sgd; roles router) matches no parameter");
    expect(text).toContain("table[3] and table[4] share the label 'x'");
    expect(text).toContain("table[1] (adamw; roles mlp.*, attn.q): adamw: unknown hyperparameter 'weight_decay' (did you mean 'weightDecay'?)");
    expect(text).toContain("table[5] (sgd; roles router): sgd: momentum must be >= 0");
    expect(e.problems.length).toBeGreaterThanOrEqual(10);
  });

  it("fails clearly when update gets gradients for other parameters", () => {
    const ps = model();
    const opt = partition(adamwTable, ps);
    const s = opt.init(ps);
    const g = zeroGrads(ps);
    delete g["lm_head.weight"];
    g["decoder.weight"] = f64([1]);
    expect(() => opt.update(g, s, ps)).toThrow("partition: gradients do not match the parameters: none for lm_head.weight; unknown decoder.weight");
    expect(() => opt.init(ps.slice(1))).toThrow(/parameters differ from those it was built for: missing embed\.weight/);
  });

  it("hands a registered rule its label and parameters (how the symmetry stack will plug in)", () => {
    const seen: string[] = [];
    const registry = rules.clone().register("probe", {
      ranks: [2],
      create: (hyper, ctx) => {
        seen.push(`${ctx.label}:${ctx.params.map((p) => p.role).join(",")}:${JSON.stringify(hyper)}`);
        return adamw({ lr: hyper.lr as number });
      },
    });
    expect(() => registry.register("probe", { create: () => adamw() })).toThrow(/already registered/);
    expect(rules.get("probe")).toBeUndefined();
    partition(
      [
        { match: { roles: ["embed", "lm_head"] }, rule: "probe", hyper: { lr: 0.5 } },
        { match: { roles: ["attn.*", "mlp.*", "moe.*", "norm", "bias"] }, rule: "adamw" },
      ],
      model(),
      { registry },
    );
    expect(seen).toEqual(['probe:embed,lm_head:{"lr":0.5}']);
  });
});
