import { scaledDotProductAttention, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import { GPT2_STD } from "../init.js";
import { Linear, applyLinears } from "./linear.js";
import { RMSNorm } from "./norm.js";
import type { LayerOptions } from "./options.js";
import type { RoPE } from "./rope.js";

export interface AttentionOptions extends LayerOptions {
  dModel: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); defaults to nHeads (multi-head). */
  nKvHeads?: number;
  /** Defaults to dModel / nHeads. */
  headDim?: number;
  /** Biases on q, k, v, o (GPT-2 has them, LLaMA not). Default false. */
  bias?: boolean;
  /** Qwen3-style RMSNorm of each q and k head (over head_dim) before RoPE. */
  qkNorm?: boolean;
  normEps?: number;
  /** Rotary embedding applied to q and k; none for models with learned positions. */
  rope?: RoPE | null;
  /** Init std of q, k, v (default 0.02). */
  std?: number;
  /** Init std of the output projection (GPT-2 scales it down with depth). */
  outStd?: number;
}

/** Causal multi-head / grouped-query self-attention on x [B, T, d]. */
export class CausalSelfAttention extends Module {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  readonly qNorm: RMSNorm | null;
  readonly kNorm: RMSNorm | null;
  readonly rope: RoPE | null;

  constructor(opts: AttentionOptions) {
    super();
    const { dModel, nHeads, rng, dtype, bias = false, std = GPT2_STD } = opts;
    const nKv = opts.nKvHeads ?? nHeads;
    const hd = opts.headDim ?? dModel / nHeads;
    if (!Number.isInteger(hd)) throw new Error(`CausalSelfAttention: d_model ${dModel} is not divisible by ${nHeads} heads; give headDim`);
    if (nHeads % nKv !== 0) throw new Error(`CausalSelfAttention: ${nHeads} query heads are not a multiple of ${nKv} kv heads`);
    if (opts.rope && opts.rope.headDim !== hd) throw new Error(`CausalSelfAttention: RoPE head dim ${opts.rope.headDim} differs from head dim ${hd}`);
    this.nHeads = nHeads;
    this.nKvHeads = nKv;
    this.headDim = hd;
    const proj = (name: "q" | "k" | "v", heads: number): Linear =>
      this.addModule(name, new Linear(dModel, heads * hd, { rng: rng.fork(name), dtype, bias, std, role: `attn.${name}`, meta: { heads: { heads, headDim: hd, kind: name } } }));
    this.q = proj("q", nHeads);
    this.k = proj("k", nKv);
    this.v = proj("v", nKv);
    this.o = this.addModule("o", new Linear(nHeads * hd, dModel, { rng: rng.fork("o"), dtype, bias, std: opts.outStd ?? std, role: "attn.o", meta: { heads: { heads: nHeads, headDim: hd, kind: "o" } } }));
    const eps = opts.normEps ?? 1e-6;
    this.qNorm = opts.qkNorm ? this.addModule("q_norm", new RMSNorm(hd, { eps, dtype })) : null;
    this.kNorm = opts.qkNorm ? this.addModule("k_norm", new RMSNorm(hd, { eps, dtype })) : null;
    this.rope = opts.rope ?? null;
  }

  forward(x: Tensor): Tensor {
    const [b, t] = x.shape as [number, number, number];
    // [B, T, H·D] -> [B, H, T, D]
    const heads = (y: Tensor, h: number): Tensor => y.reshape(b, t, h, this.headDim).permute(0, 2, 1, 3);
    const [qx, kx, vx] = applyLinears(x, [this.q, this.k, this.v]) as [Tensor, Tensor, Tensor];
    let q = heads(qx, this.nHeads);
    let k = heads(kx, this.nKvHeads);
    const v = heads(vx, this.nKvHeads);
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    if (this.rope) {
      q = this.rope.apply(q);
      k = this.rope.apply(k);
    }
    const y = scaledDotProductAttention(q, k, v, { causal: true });
    return this.o.forward(y.permute(0, 2, 1, 3).reshape(b, t, this.nHeads * this.headDim));
  }
}
