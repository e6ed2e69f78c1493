import { describe, expect, it } from "vitest";
import { Rng, full, memoryStats, tidy, type Tensor } from "@equigrad/tensor";
import { Dropout, Embedding, LayerNorm, LMHead, Linear, Module, ModuleList, ROLES, isRole, type NamedParameter } from "@equigrad/nn";

class Toy extends Module {
  readonly embed: Embedding;
  readonly layers: ModuleList<Linear>;
  readonly norm: LayerNorm;
  readonly head: LMHead;
  readonly drop: Dropout;
  constructor(seed = 0, tied = true) {
    super();
    const rng = new Rng(seed, "toy");
    this.embed = this.addModule("embed", new Embedding(5, 3, { rng: rng.fork("embed") }));
    this.layers = this.addModule("layers", new ModuleList([0, 1].map((i) => new Linear(3, 3, { rng: rng.fork(`l${i}`), role: "mlp.up", bias: i === 1 }))));
    this.norm = this.addModule("norm", new LayerNorm(3));
    this.head = this.addModule("head", tied ? new LMHead(5, 3, { tiedTo: this.embed }) : new LMHead(5, 3, { rng: rng.fork("head") }));
    this.drop = this.addModule("drop", new Dropout(0.5, rng.fork("drop")));
  }
}

const paths = (ps: NamedParameter[]): string[] => ps.map((p) => p.path);

describe("Module", () => {
  it("lists parameters once each, with dotted paths in registration order", () => {
    const m = new Toy();
    expect(paths(m.namedParameters())).toEqual(["embed.weight", "layers.0.weight", "layers.1.weight", "layers.1.bias", "norm.weight", "norm.bias"]);
    expect(Object.keys(m.parameters())).toEqual(paths(m.namedParameters()));
    expect(m.parameterCount()).toBe(15 + 9 + 9 + 3 + 3 + 3);
    expect(m.namedModules().map(([p]) => p)).toEqual(["", "embed", "layers", "layers.0", "layers.1", "norm", "head", "drop"]);
  });

  it("gives every parameter a known role, as its layer says", () => {
    const m = new Toy(0, false);
    const roles = Object.fromEntries(m.namedParameters().map((p) => [p.path, p.role]));
    expect(roles).toEqual({
      "embed.weight": "embed",
      "layers.0.weight": "mlp.up",
      "layers.1.weight": "mlp.up",
      "layers.1.bias": "bias",
      "norm.weight": "norm",
      "norm.bias": "bias",
      "head.weight": "lm_head",
    });
    for (const p of m.namedParameters()) expect(isRole(p.role)).toBe(true);
    expect(ROLES).toContain("moe.expert.down");
  });

  it("a tied head reuses the embedding's parameter and says so in its metadata", () => {
    const m = new Toy();
    expect(m.head.weight).toBe(m.embed.weight);
    expect(m.embed.weight.meta.tiedAs).toEqual(["lm_head"]);
    expect(paths(m.namedParameters())).not.toContain("head.weight");
  });

  it("parameter values are kept: they survive tidy scopes", () => {
    const m = tidy(() => new Toy());
    for (const p of m.namedParameters()) expect(p.value.isDisposed).toBe(false);
  });

  it("same seed, same values; another seed, other values", () => {
    const a = new Toy(1).parameters();
    const b = new Toy(1).parameters();
    const c = new Toy(2).parameters();
    expect(a["layers.0.weight"]!.toArray()).toEqual(b["layers.0.weight"]!.toArray());
    expect(a["layers.0.weight"]!.toArray()).not.toEqual(c["layers.0.weight"]!.toArray());
    // Independent streams per layer: the two Linears differ.
    expect(a["layers.0.weight"]!.toArray()).not.toEqual(a["layers.1.weight"]!.toArray());
  });

  it("rejects bad and duplicate names and unknown roles", () => {
    class Bad extends Module {
      constructor(name: string, twice = false) {
        super();
        this.addParameter(name, full([1], 0), "scalar");
        if (twice) this.addParameter(name, full([1], 0), "scalar");
      }
    }
    expect(() => new Bad("a.b")).toThrow(/not a valid name/);
    expect(() => new Bad("w", true)).toThrow(/registered twice/);
    class BadRole extends Module {
      constructor() {
        super();
        this.addParameter("w", full([1], 0), "weights" as never);
      }
    }
    expect(() => new BadRole()).toThrow(/unknown role 'weights'/);
  });

  it("train() and eval() reach every child", () => {
    const m = new Toy();
    expect(m.training).toBe(true);
    m.eval();
    expect(m.namedModules().every(([, c]) => !c.training)).toBe(true);
    m.train();
    expect(m.drop.training).toBe(true);
  });

  it("ModuleList indexes and iterates", () => {
    const m = new Toy();
    expect(m.layers.length).toBe(2);
    expect([...m.layers]).toEqual([m.layers.at(0), m.layers.at(1)]);
    expect(() => m.layers.at(2)).toThrow(RangeError);
  });

  it("dispose frees the parameters' buffers", () => {
    const before = memoryStats().liveBuffers;
    const m = new Toy();
    expect(memoryStats().liveBuffers).toBeGreaterThan(before);
    m.dispose();
    expect(memoryStats().liveBuffers).toBe(before);
  });
});

describe("state dict", () => {
  it("round trips by path, in place", () => {
    const a = new Toy(1, false);
    const b = new Toy(2, false);
    const held: Tensor = b.parameters()["layers.1.weight"]!;
    b.loadStateDict(a.stateDict());
    for (const [path, v] of Object.entries(a.stateDict())) expect(b.parameters()[path]!.toArray()).toEqual(v.toArray());
    // Loading assigns into the existing tensors: references (optimizer state, caches) stay valid.
    expect(held).toBe(b.parameters()["layers.1.weight"]);
    expect(held.toArray()).toEqual(a.parameters()["layers.1.weight"]!.toArray());
  });

  it("casts values to each parameter's dtype", () => {
    const a = new Toy(1);
    const state = tidy(() => Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [k, v.cast("float64").keep()])));
    const b = new Toy(2);
    b.loadStateDict(state);
    expect(b.parameters()["embed.weight"]!.dtype).toBe("float32");
    expect(b.parameters()["embed.weight"]!.toArray()).toEqual(a.parameters()["embed.weight"]!.toArray());
  });

  it("names the path and both shapes on a mismatch, and loads nothing", () => {
    const a = new Toy(1);
    const b = new Toy(2);
    const before = b.parameters()["embed.weight"]!.toArray();
    const state = { ...a.stateDict(), "norm.weight": full([4], 1) };
    expect(() => b.loadStateDict(state)).toThrow(/'norm.weight': checkpoint has shape \[4\], the model expects \[3\]/);
    expect(b.parameters()["embed.weight"]!.toArray()).toEqual(before);
  });

  it("lists missing and unexpected keys", () => {
    const b = new Toy(2);
    const { ["norm.bias"]: _drop, ...rest } = new Toy(1).stateDict();
    void _drop;
    const state = { ...rest, "extra.weight": full([2], 0) };
    expect(() => b.loadStateDict(state)).toThrow(/missing keys: norm\.bias; unexpected keys: extra\.weight/);
    // Non-strict loading takes what matches.
    b.loadStateDict(state, { strict: false });
    expect(b.parameters()["embed.weight"]!.toArray()).toEqual(rest["embed.weight"]!.toArray());
  });
});
