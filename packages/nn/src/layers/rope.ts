import { OpError, concat, tensor, type DType, type Tensor } from "@equigrad/tensor";

/**
 * Rotary position embedding for x [B, H, T, D], in the "rotate half" layout that HF LLaMA
 * and GPT-NeoX use: dims i and i + D/2 form a pair rotated by the angle t·θ^(-2i/D).
 * The cos/sin tables are computed once per (T, dtype) and kept outside every scope: they are
 * constants that every layer and every step share.
 */
export class RoPE {
  readonly #tables = new Map<string, [Tensor, Tensor]>();

  constructor(
    readonly headDim: number,
    readonly theta = 10000,
  ) {
    if (headDim % 2 !== 0) throw new Error(`RoPE: head dim must be even, got ${headDim}`);
  }

  /** cos and sin tables [T, D/2] for positions 0..T-1. */
  tables(t: number, dtype: DType): [Tensor, Tensor] {
    const key = `${t}:${dtype}`;
    let tabs = this.#tables.get(key);
    if (!tabs) {
      const half = this.headDim / 2;
      const cos = new Float64Array(t * half);
      const sin = new Float64Array(t * half);
      for (let p = 0; p < t; p++) {
        for (let i = 0; i < half; i++) {
          const angle = p * Math.pow(this.theta, (-2 * i) / this.headDim);
          cos[p * half + i] = Math.cos(angle);
          sin[p * half + i] = Math.sin(angle);
        }
      }
      const make = (v: Float64Array): Tensor => tensor(v, { dtype, shape: [t, half] }).keep();
      tabs = [make(cos), make(sin)];
      this.#tables.set(key, tabs);
    }
    return tabs;
  }

  apply(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[3] !== this.headDim) throw new OpError("RoPE", `expects [batch, heads, time, ${this.headDim}], got [${x.shape}]`);
    const [cos, sin] = this.tables(x.shape[2]!, x.dtype);
    const half = this.headDim / 2;
    const x1 = x.slice(null, null, null, [0, half]);
    const x2 = x.slice(null, null, null, [half, this.headDim]);
    return concat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], -1);
  }

  /** Frees the cached tables. */
  dispose(): void {
    for (const [c, s] of this.#tables.values()) c.dispose(), s.dispose();
    this.#tables.clear();
  }
}
