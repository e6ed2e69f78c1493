import { describe, expect, it } from "vitest";
import { gradcheck } from "@equigrad/autograd";
import { functionalCall, isRole, residualStd } from "@equigrad/nn";
import {
  PRESETS,
  buildModel,
  buildPreset,
  gpt2,
  gpt2ParameterCount,
  llama,
  llamaParameterCount,
  moe,
  moeActiveParameterCount,
  moeParameterCount,
  parameterCount,
  preset,
  type GPT2Config,
  type LlamaConfig,
  type MoEConfig,
  type ModelSpec,
  type PresetName,
  type Transformer,
} from "@equigrad/models";
import { crossEntropy, memoryStats, tensor, tidy, withBackend, type Tensor } from "@equigrad/tensor";

const gptCfg: GPT2Config = { vocabSize: 11, contextLength: 8, nLayer: 2, nHead: 2, dModel: 8 };
const llamaCfg: LlamaConfig = { vocabSize: 11, contextLength: 8, nLayer: 2, nHead: 4, nKvHeads: 2, dModel: 8, dFF: 12 };
const moeCfg: MoEConfig = { ...llamaCfg, dFF: 6, nExperts: 4, topK: 2, balanceCoef: 0.01, zCoef: 0.001 };

const tokens = (b: number, t: number, v: number, seed = 1): Tensor =>
  tensor(Int32Array.from({ length: b * t }, (_, i) => (i * 7 + seed * 3) % v), { shape: [b, t] });

const rolesOf = (m: Transformer): Record<string, string> => Object.fromEntries(m.namedParameters().map((p) => [p.path, p.role]));

describe("every family", () => {
  const models: [string, () => Transformer][] = [
    ["gpt2", () => gpt2(gptCfg)],
    ["llama", () => llama(llamaCfg)],
    ["moe", () => moe(moeCfg)],
  ];
  for (const [name, build] of models) {
    it(`${name}: unique paths, known roles, logits [B, T, V], finite loss near ln V`, () =>
      tidy(() => {
        const m = build();
        const ps = m.namedParameters();
        expect(new Set(ps.map((p) => p.path)).size).toBe(ps.length);
        for (const p of ps) expect(isRole(p.role), p.path).toBe(true);
        const x = tokens(2, 5, 11);
        expect(m.forward(x).shape).toEqual([2, 5, 11]);
        const loss = m.loss(x, tokens(2, 5, 11, 2)).item();
        expect(Math.abs(loss - Math.log(11))).toBeLessThan(0.2);
      }));
  }

  it("rejects float tokens and sequences longer than the context", () =>
    tidy(() => {
      const m = gpt2(gptCfg);
      expect(() => m.forward(tokens(1, 9, 11))).toThrow(/exceeds the context length 8/);
      expect(() => m.forward(tokens(1, 3, 11).cast("float32"))).toThrow(/int32/);
    }));

  it("same seed, same weights; another seed, other weights", () => {
    const a = llama(llamaCfg, { seed: 4 }).parameters();
    const b = llama(llamaCfg, { seed: 4 }).parameters();
    const c = llama(llamaCfg, { seed: 5 }).parameters();
    for (const k of Object.keys(a)) expect(a[k]!.toArray()).toEqual(b[k]!.toArray());
    expect(a["blocks.1.attn.q.weight"]!.toArray()).not.toEqual(c["blocks.1.attn.q.weight"]!.toArray());
  });
});

describe("gpt2", () => {
  it("roles by path, tied head by default", () => {
    const m = gpt2({ ...gptCfg, nLayer: 1 });
    expect(rolesOf(m)).toEqual({
      "embed.weight": "embed",
      "pos_embed.weight": "embed",
      "blocks.0.attn_norm.weight": "norm",
      "blocks.0.attn_norm.bias": "bias",
      "blocks.0.attn.q.weight": "attn.q",
      "blocks.0.attn.q.bias": "bias",
      "blocks.0.attn.k.weight": "attn.k",
      "blocks.0.attn.k.bias": "bias",
      "blocks.0.attn.v.weight": "attn.v",
      "blocks.0.attn.v.bias": "bias",
      "blocks.0.attn.o.weight": "attn.o",
      "blocks.0.attn.o.bias": "bias",
      "blocks.0.ffn_norm.weight": "norm",
      "blocks.0.ffn_norm.bias": "bias",
      "blocks.0.mlp.up.weight": "mlp.up",
      "blocks.0.mlp.up.bias": "bias",
      "blocks.0.mlp.down.weight": "mlp.down",
      "blocks.0.mlp.down.bias": "bias",
      "final_norm.weight": "norm",
      "final_norm.bias": "bias",
    });
    expect(m.head.weight).toBe(m.embed.weight);
    expect(m.embed.weight.meta.tiedAs).toEqual(["lm_head"]);
    expect(rolesOf(gpt2({ ...gptCfg, tiedHead: false }))["lm_head.weight"]).toBe("lm_head");
  });

  it("init: 0.02 for weights, 0.02/√(2·n_layer) for the residual projections, zero biases", () => {
    const m = gpt2({ vocabSize: 16, contextLength: 8, nLayer: 8, nHead: 2, dModel: 64 });
    const std = (path: string): number => {
      const v = m.parameters()[path]!.toArray();
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    };
    expect(std("blocks.3.attn.q.weight") / 0.02).toBeCloseTo(1, 1);
    expect(std("blocks.3.mlp.up.weight") / 0.02).toBeCloseTo(1, 1);
    expect(std("blocks.3.attn.o.weight") / residualStd(8)).toBeCloseTo(1, 1);
    expect(std("blocks.3.mlp.down.weight") / residualStd(8)).toBeCloseTo(1, 1);
    expect(std("blocks.3.mlp.down.bias")).toBe(0);
  });
});

describe("llama and moe", () => {
  it("llama: no biases, GQA shapes with head layout, RMSNorm, untied head", () => {
    const m = llama({ ...llamaCfg, nLayer: 1 });
    const ps = m.namedParameters();
    expect(ps.some((p) => p.role === "bias")).toBe(false);
    const by = Object.fromEntries(ps.map((p) => [p.path, p]));
    expect(by["blocks.0.attn.k.weight"]!.value.shape).toEqual([4, 8]);
    expect(by["blocks.0.attn.k.weight"]!.meta.heads).toEqual({ heads: 2, headDim: 2, kind: "k" });
    expect(by["blocks.0.attn.o.weight"]!.meta.heads).toEqual({ heads: 4, headDim: 2, kind: "o" });
    expect(rolesOf(m)).toMatchObject({
      "blocks.0.mlp.gate.weight": "mlp.gate",
      "blocks.0.mlp.up.weight": "mlp.up",
      "blocks.0.mlp.down.weight": "mlp.down",
      "lm_head.weight": "lm_head",
      "final_norm.weight": "norm",
    });
    expect(Object.keys(rolesOf(m))).not.toContain("pos_embed.weight");
  });

  it("moe: expert and router roles, aux loss in the objective, router stats per layer", () =>
    tidy(() => {
      const m = moe(moeCfg);
      expect(rolesOf(m)).toMatchObject({
        "blocks.1.moe.router.weight": "moe.router",
        "blocks.1.moe.gate": "moe.expert.gate",
        "blocks.1.moe.up": "moe.expert.up",
        "blocks.1.moe.down": "moe.expert.down",
      });
      const x = tokens(2, 6, 11);
      const y = tokens(2, 6, 11, 5);
      const total = m.loss(x, y);
      const aux = m.auxLoss()!;
      const ce = crossEntropy(m.forward(x), y);
      expect(total.item()).toBeCloseTo(ce.item() + aux.item(), 6);
      expect(m.loss(x, y, { aux: false }).item()).toBeCloseTo(ce.item(), 6);
      const stats = m.stats();
      expect(stats).toHaveLength(2);
      for (const s of stats) {
        expect(s.tokens).toBe(12);
        expect(s.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
      expect(llama(llamaCfg).auxLoss()).toBeNull();
      expect(llama(llamaCfg).stats()).toEqual([]);
    }));

  it("a training step leaks nothing (moe)", () => {
    const m = moe(moeCfg);
    const x = tokens(2, 6, 11).keep();
    const step = (): void =>
      tidy(() => {
        m.loss(x, x);
      });
    step();
    const before = memoryStats().liveBuffers;
    step();
    step();
    expect(memoryStats().liveBuffers).toBe(before);
  });
});

describe("gradcheck of whole tiny models (float64) w.r.t. every parameter", () => {
  const tiny = { vocabSize: 5, contextLength: 4, nLayer: 1, nHead: 2, dModel: 4 };
  const cases: [string, () => Transformer][] = [
    ["gpt2 (tied: embedding gets both gradients)", () => gpt2(tiny, { dtype: "float64", seed: 3 })],
    ["llama (GQA, QK-norm)", () => llama({ ...tiny, nKvHeads: 1, dFF: 4, qkNorm: true }, { dtype: "float64", seed: 4 })],
    ["moe", () => moe({ ...tiny, nKvHeads: 1, dFF: 3, nExperts: 3, topK: 2, balanceCoef: 0.1, zCoef: 0.1 }, { dtype: "float64", seed: 5 })],
  ];
  for (const [name, build] of cases) {
    it(name, () => {
      const m = build();
      const x = tokens(1, 4, 5).keep();
      const y = tokens(1, 4, 5, 2).keep();
      // Scale up the (0.02-std) weights so every path carries a gradient well above the finite-difference noise.
      tidy(() => {
        for (const p of m.namedParameters()) if (p.role !== "norm") p.value.assign(p.value.mul(30));
      });
      const params = m.parameters();
      const paths = Object.keys(params);
      tidy(() => {
        const r = gradcheck((...ts: Tensor[]) => functionalCall(m, Object.fromEntries(paths.map((p, i) => [p, ts[i]!])), () => m.loss(x, y)), paths.map((p) => params[p]!));
        expect(r.ok, r.worst ? `'${paths[r.worst.input]}' element ${r.worst.index}: ${r.worst.analytic} vs ${r.worst.numeric}` : "").toBe(true);
      });
    });
  }
});

describe("parameter counts", () => {
  const variants: ModelSpec[] = [
    { family: "gpt2", ...gptCfg },
    { family: "gpt2", ...gptCfg, tiedHead: false, bias: false, dFF: 20 },
    { family: "llama", ...llamaCfg },
    { family: "llama", ...llamaCfg, tiedHead: true, qkNorm: true, headDim: 4, nKvHeads: 1 },
    { family: "moe", ...moeCfg },
    { family: "moe", ...moeCfg, routerBias: true, qkNorm: true, tiedHead: true },
  ];
  for (const spec of variants) {
    it(`formula = built model: ${JSON.stringify(spec)}`, () => {
      expect(buildModel(spec).parameterCount()).toBe(parameterCount(spec));
    });
  }

  it("the per-family formulas, by hand", () => {
    // GPT-2 with ff = 4d and biases: V·d + ctx·d + L·(12d² + 13d) + 2d.
    expect(gpt2ParameterCount({ vocabSize: 256, contextLength: 256, nLayer: 6, nHead: 6, dModel: 384 })).toBe(256 * 384 * 2 + 6 * (12 * 384 ** 2 + 13 * 384) + 2 * 384);
    // LLaMA: 2·V·d + L·(d·hd·(2H + 2H_kv) + 3·d·ff + 2d) + d.
    expect(llamaParameterCount({ vocabSize: 256, contextLength: 256, nLayer: 6, nHead: 6, nKvHeads: 2, dModel: 384, dFF: 1024 })).toBe(2 * 256 * 384 + 6 * (384 * 64 * 16 + 3 * 384 * 1024 + 2 * 384) + 384);
    expect(moeActiveParameterCount(moeCfg)).toBe(moeParameterCount(moeCfg) - 2 * 2 * 3 * 8 * 6);
  });

  it("presets: the stated counts, equal to the built models' (built on wasm for speed)", () => {
    const stated: Record<PresetName, number> = {
      "gpt-tiny": 842_496,
      "gpt-small": 10_844_160,
      "llama-tiny": 853_120,
      "llama-small": 9_638_784,
      "moe-small": 10_365_184,
    };
    for (const name of Object.keys(PRESETS) as PresetName[]) {
      expect(parameterCount(preset(name)), name).toBe(stated[name]);
      const m = withBackend("wasm", () => buildPreset(name));
      expect(m.parameterCount(), name).toBe(stated[name]);
      m.dispose();
    }
    expect(moeActiveParameterCount(preset("moe-small") as MoEConfig)).toBe(3_287_296);
  });
});
