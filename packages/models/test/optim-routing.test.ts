import { describe, expect, it } from "vitest";
import { valueAndGrad } from "@equigrad/autograd";
import { GatedMLP, functionalCall } from "@equigrad/nn";
import { buildModel, buildPreset, type LlamaConfig, type MoEConfig, type PresetName, type Transformer } from "@equigrad/models";
import { buildTable, partition, type BaseHyper, type Param, type TableEntry } from "@equigrad/optim";
import { Rng, indexSelect, tensor, tidy, type Tensor } from "@equigrad/tensor";

const base: BaseHyper = { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, schedule: { kind: "constant" } };
/** Every ready table, with each router and MLP variant of symmetry. */
const TABLES: [string, Record<string, string>][] = [
  ["adamw", {}],
  ["muon", {}],
  ["symmetry", {}],
  ["symmetry", { router: "left", mlp: "hybrid" }],
  ["symmetry", { router: "adamw", experts: "rownorm" }],
  ["symmetry", { router: "hybrid", experts: "hybrid", embed: "hybrid", lmHead: "right" }],
];
const table = (name: string, variants: Record<string, string>, params: readonly Param[]): TableEntry[] => buildTable(name, { steps: 100, variants, params, base });

describe("T24: every parameter of every preset lands in exactly one rule of each table", () => {
  const presets: PresetName[] = ["gpt-tiny", "gpt-small", "llama-small", "moe-small"];
  for (const name of presets) {
    it(`${name}`, () => {
      const model = buildPreset(name);
      const params = model.namedParameters();
      for (const [t, variants] of TABLES) {
        const what = `${name} / ${t} ${JSON.stringify(variants)}`;
        const opt = partition(table(t, variants, params), params);
        // Exactly one group per parameter, and the groups hold nothing else.
        const owner = new Map<string, string[]>();
        for (const g of opt.groups) for (const p of g.paths) owner.set(p, [...(owner.get(p) ?? []), g.label]);
        for (const p of params) expect(owner.get(p.path), `${what}: ${p.path}`).toHaveLength(1);
        expect(owner.size, what).toBe(params.length);
        // Every 1-D parameter (gains, biases) goes to AdamW.
        const ruleOf = new Map(opt.groups.flatMap((g) => g.paths.map((p) => [p, g.rule] as const)));
        for (const p of params) if (p.value.ndim <= 1) expect(ruleOf.get(p.path), `${what}: ${p.path}`).toBe("adamw");
        // One state per parameter: the state count equals the parameter count.
        const stateCount = tidy(() => {
          const state = opt.init(params);
          let n = 0;
          for (const g of opt.groups) {
            const keys = Object.keys(state[g.label] as object).filter((k) => k !== "count");
            expect(new Set(keys), `${what}: state of ${g.label}`).toEqual(new Set(g.paths));
            n += keys.length;
          }
          return n;
        });
        expect(stateCount, what).toBe(params.length);
      }
    });
  }

  it("a tied table (gpt2) is routed once, as the embedding: uncentered row-norm, and there is no lm_head entry", () => {
    const params = buildPreset("gpt-tiny").namedParameters();
    const tok = params.find((p) => p.path === "embed.weight")!;
    expect((tok.meta as { tiedAs?: string[] }).tiedAs).toEqual(["lm_head"]);
    expect(params.some((p) => p.role === "lm_head")).toBe(false);
    const entries = table("symmetry", {}, params);
    expect(entries.map((e) => e.name)).not.toContain("lm_head");
    const opt = partition(entries, params);
    const g = opt.groups.find((x) => x.paths.includes("embed.weight"))!;
    expect(g.label).toBe("embed");
    expect(entries.find((e) => e.name === "embed")!.hyper).toMatchObject({ center: false });
  });

  it("an untied head (llama) gets centered row-norm; the MoE router and experts get their own rules", () => {
    const params = buildPreset("moe-small").namedParameters();
    const entries = table("symmetry", {}, params);
    const opt = partition(entries, params);
    const labelOf = (path: string) => opt.groups.find((g) => g.paths.includes(path))!.label;
    expect(labelOf("lm_head.weight")).toBe("lm_head");
    expect(entries.find((e) => e.name === "lm_head")!.hyper).toMatchObject({ center: true });
    const router = params.filter((p) => p.role === "moe.router");
    expect(router.length).toBe(4);
    for (const p of router) expect(labelOf(p.path)).toBe("router");
    for (const p of params.filter((q) => q.role.startsWith("moe.expert."))) {
      expect(p.value.ndim).toBe(3);
      expect(labelOf(p.path)).toBe(p.role === "moe.expert.down" ? "experts_down" : "experts_in");
    }
  });
});

// ---------------------------------------------------------------------------------------------

const llamaCfg: LlamaConfig = { vocabSize: 23, contextLength: 8, nLayer: 1, nHead: 2, nKvHeads: 1, dModel: 8, dFF: 12 };
const moeCfg = (zCoef: number): MoEConfig => ({ ...llamaCfg, dFF: 6, nExperts: 4, topK: 2, balanceCoef: 0.01, zCoef });
const tokens = (b: number, t: number, v: number, seed: number): Tensor => tensor(Int32Array.from({ length: b * t }, (_, i) => (i * 7 + seed * 5 + ((i * i) % 3)) % v), { shape: [b, t] });

/** The training loss's gradients (auxiliary losses included) of a float64 model. */
function gradsOf(model: Transformer): Record<string, Tensor> {
  const params = Object.fromEntries(model.namedParameters().map((p) => [p.path, p.value]));
  const f = valueAndGrad((p: Record<string, Tensor>) => functionalCall(model, p, () => model.loss(tokens(3, 8, 23, 1), tokens(3, 8, 23, 2))));
  return (f(params) as [Tensor, Record<string, Tensor>])[1];
}

/** ‖1ᵀG‖∞ (the largest column sum) and ‖G‖∞, per matrix. */
const colSums = (g: Tensor): { sum: number; scale: number } => ({ sum: g.sum(0).abs().max().item(), scale: g.abs().max().item() });

describe("T6 in the real model: softmax shift symmetry gives zero column sums", () => {
  it("untied llama LM head: ‖1ᵀG‖∞ ~ 1e-16 in float64", () => {
    tidy(() => {
      const g = gradsOf(buildModel({ family: "llama", ...llamaCfg }, { dtype: "float64", seed: 3 }))["lm_head.weight"]!;
      const { sum, scale } = colSums(g);
      expect(scale).toBeGreaterThan(1e-3);
      expect(sum).toBeLessThan(1e-14);
    });
  });

  it("MoE router without z-loss: zero column sums (the load-balancing loss keeps the symmetry); with z-loss: clearly nonzero (negative control)", () => {
    tidy(() => {
      const free = gradsOf(buildModel({ family: "moe", ...moeCfg(0) }, { dtype: "float64", seed: 3 }));
      const routers = Object.keys(free).filter((k) => k.includes("router"));
      expect(routers.length).toBe(1);
      const a = colSums(free[routers[0]!]!);
      expect(a.scale).toBeGreaterThan(1e-4);
      expect(a.sum).toBeLessThan(1e-15);
      // The LM head of the MoE model too.
      expect(colSums(free["lm_head.weight"]!).sum).toBeLessThan(1e-14);

      const z = gradsOf(buildModel({ family: "moe", ...moeCfg(1e-2) }, { dtype: "float64", seed: 3 }));
      const b = colSums(z[routers[0]!]!);
      expect(b.sum).toBeGreaterThan(1e-3 * b.scale);
      expect(b.sum).toBeGreaterThan(1e6 * a.sum + 1e-10);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("T10: SwiGLU function invariance survives one optimizer step", () => {
  const d = 6;
  const ff = 10;
  const perm = [3, 7, 0, 9, 5, 1, 8, 2, 6, 4];
  const inv = perm.map((_, i) => perm.indexOf(i));
  const idx = (p: number[]) => tensor(Int32Array.from(p));

  /** The MLP's parameters after `steps` optimizer steps of a squared-error loss, from the given weights. */
  function stepped(w: Record<string, Tensor>, variants: Record<string, string>, steps: number): Record<string, Tensor> {
    const mlp = new GatedMLP(d, ff, { rng: new Rng(5, "init"), dtype: "float64" });
    const x = new Rng(9, "x").normal([7, d], 0, 1, "float64");
    const y = new Rng(10, "y").normal([7, d], 0, 1, "float64");
    const params: Param[] = mlp.namedParameters().map((p) => ({ ...p, value: w[p.path]! }));
    const opt = partition(buildTable("symmetry", { steps: 10, variants, params }), params);
    expect(opt.groups.map((g) => g.label).sort()).toEqual(["mlp_down", "mlp_in"]);
    let state = opt.init(params);
    let cur = params;
    const loss = valueAndGrad((p: Record<string, Tensor>) => functionalCall(mlp, p, () => mlp.forward(x).sub(y).square().sum()));
    for (let s = 0; s < steps; s++) {
      const g = (loss(Object.fromEntries(cur.map((p) => [p.path, p.value]))) as [Tensor, Record<string, Tensor>])[1];
      const [u, next] = opt.update(g, state, cur);
      state = next;
      cur = cur.map((p) => ({ ...p, value: p.value.add(u[p.path]!) }));
    }
    return Object.fromEntries(cur.map((p) => [p.path, p.value]));
  }

  for (const variants of [{ mlp: "rownorm" }, { mlp: "hybrid" }, { mlp: "muon" }]) {
    it(`row-aware gate/up, column-aware down: ${variants.mlp}`, () => {
      tidy(() => {
        const rng = new Rng(11, "w");
        const w = { "gate.weight": rng.fork("g").normal([ff, d], 0, 1, "float64"), "up.weight": rng.fork("u").normal([ff, d], 0, 1, "float64"), "down.weight": rng.fork("d").normal([d, ff], 0, 1, "float64") };
        // Permuting the hidden neurons: rows of gate and up, columns of down.
        const pw = { "gate.weight": indexSelect(w["gate.weight"], idx(perm), 0), "up.weight": indexSelect(w["up.weight"], idx(perm), 0), "down.weight": indexSelect(w["down.weight"], idx(perm), 1) };
        const mlp = new GatedMLP(d, ff, { rng: new Rng(5, "init"), dtype: "float64" });
        const x = new Rng(12, "x").normal([4, d], 0, 1, "float64");
        const out = (ws: Record<string, Tensor>) => functionalCall(mlp, ws, () => mlp.forward(x));
        expect(out(pw).sub(out(w)).abs().max().item()).toBeLessThan(1e-13);

        const a = stepped(w, variants, 2);
        const b = stepped(pw, variants, 2);
        const back = { "gate.weight": indexSelect(b["gate.weight"]!, idx(inv), 0), "up.weight": indexSelect(b["up.weight"]!, idx(inv), 0), "down.weight": indexSelect(b["down.weight"]!, idx(inv), 1) };
        for (const k of Object.keys(w)) {
          // The step moved the weights (an optimizer that does nothing is trivially invariant).
          expect(a[k]!.sub(w[k as keyof typeof w]).abs().max().item(), k).toBeGreaterThan(1e-4);
          expect(back[k as keyof typeof back].sub(a[k]!).abs().max().item(), k).toBeLessThan(1e-6);
        }
        // And the two models still compute the same function.
        expect(out({ "gate.weight": b["gate.weight"]!, "up.weight": b["up.weight"]!, "down.weight": b["down.weight"]! }).sub(out(a)).abs().max().item()).toBeLessThan(1e-6);
      });
    });
  }
});
