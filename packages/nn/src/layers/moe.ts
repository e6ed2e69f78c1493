import { concat, full, gather, indexSelect, scatterAdd, softmax, tensor, type Tensor } from "@equigrad/tensor";
import { Module } from "../module.js";
import type { Parameter } from "../parameter.js";
import { GPT2_STD, normalInit } from "../init.js";
import { Linear } from "./linear.js";
import type { LayerOptions } from "./options.js";
import { dispatchPlan, routerStats, topK, type RouterStats } from "./routing.js";

export interface MoEOptions extends LayerOptions {
  dModel: number;
  /** Hidden width of each expert. */
  dFF: number;
  nExperts: number;
  topK: number;
  /** Divide the k chosen probabilities by their sum (Mixtral); false keeps them raw (OLMoE). Default true. */
  normalizeTopK?: boolean;
  routerBias?: boolean;
  /** Weight of the load-balancing loss E·Σ f_i P_i in auxLoss() (default 0: not computed). */
  balanceCoef?: number;
  /** Weight of the router z-loss mean(logsumexp(logits)²) in auxLoss() (default 0: not computed). */
  zCoef?: number;
  std?: number;
  /** Init std of the experts' down projections. */
  outStd?: number;
}

/** What the last forward pass left for auxLoss() and metrics. */
export interface RoutingRecord {
  stats: RouterStats;
  /** Unweighted losses of that pass (null when their coefficient is 0). Valid in its scope only. */
  balanceLoss: Tensor | null;
  zLoss: Tensor | null;
}

/**
 * Mixture-of-experts SwiGLU feed-forward with softmax top-k routing. Each expert runs only
 * on the tokens routed to it: the choice is read on the host, the tokens are gathered per
 * expert (indexSelect) and the weighted outputs are summed back (scatterAdd). The gate
 * weights are gathered from the router probabilities, so gradients reach the router.
 */
export class MoE extends Module {
  readonly router: Linear;
  /** [E, dFF, d] */
  readonly gate: Parameter;
  /** [E, dFF, d] */
  readonly up: Parameter;
  /** [E, d, dFF] */
  readonly down: Parameter;
  readonly nExperts: number;
  readonly topK: number;
  readonly normalizeTopK: boolean;
  readonly balanceCoef: number;
  readonly zCoef: number;
  #last: RoutingRecord | null = null;

  constructor(opts: MoEOptions) {
    super();
    const { dModel: d, dFF: f, nExperts: e, rng, std = GPT2_STD } = opts;
    const dtype = opts.dtype ?? "float32";
    if (!(opts.topK >= 1 && opts.topK <= e)) throw new Error(`MoE: topK must be in [1, ${e}], got ${opts.topK}`);
    this.nExperts = e;
    this.topK = opts.topK;
    this.normalizeTopK = opts.normalizeTopK ?? true;
    this.balanceCoef = opts.balanceCoef ?? 0;
    this.zCoef = opts.zCoef ?? 0;
    this.router = this.addModule("router", new Linear(d, e, { rng: rng.fork("router"), dtype, std, bias: opts.routerBias ?? false, role: "moe.router" }));
    const meta = { experts: e };
    this.gate = this.addParameter("gate", normalInit(rng.fork("gate"), std)([e, f, d], dtype), "moe.expert.gate", meta);
    this.up = this.addParameter("up", normalInit(rng.fork("up"), std)([e, f, d], dtype), "moe.expert.up", meta);
    this.down = this.addParameter("down", normalInit(rng.fork("down"), opts.outStd ?? std)([e, d, f], dtype), "moe.expert.down", meta);
  }

  forward(x: Tensor): Tensor {
    const d = x.shape[x.ndim - 1]!;
    const xf = x.reshape(-1, d);
    const n = xf.shape[0]!;
    const e = this.nExperts;
    const k = this.topK;
    const logits = this.router.forward(xf);
    const probs = softmax(logits, -1);
    // The routing decision is data-dependent: it is made on the host (a sync per layer).
    const chosen = topK(probs.data(), n, e, k);
    let weights = gather(probs, tensor(chosen, { shape: [n, k] }), 1);
    if (this.normalizeTopK) weights = weights.div(weights.sum(-1, true));

    // Assignments sorted by expert: one gather brings every expert its tokens as a contiguous run.
    const plan = dispatchPlan(chosen, k, e);
    const tokens = tensor(plan.tokens);
    const routed = indexSelect(xf, tokens, 0);
    const outs: Tensor[] = [];
    for (let i = 0; i < e; i++) {
      if (plan.counts[i] === 0) continue;
      const xs = routed.slice([plan.offsets[i]!, plan.offsets[i]! + plan.counts[i]!]);
      const h = xs.matmul(this.gate.value.slice(i).transpose()).silu().mul(xs.matmul(this.up.value.slice(i).transpose()));
      outs.push(h.matmul(this.down.value.slice(i).transpose()));
    }
    // Weight each output by its gate value and add it back at its token (k outputs per token).
    const w = indexSelect(weights.reshape(n * k), tensor(plan.order), 0).unsqueeze(-1);
    const ys = concat(outs, 0).mul(w);
    const y = scatterAdd(full([n, d], 0, { dtype: ys.dtype }), tokens.unsqueeze(-1).expand(n * k, d), ys, 0);

    this.#last = {
      stats: routerStats(plan.counts, n),
      balanceLoss: this.balanceCoef ? this.#balanceLoss(probs, plan.counts) : null,
      zLoss: this.zCoef ? logits.logsumexp(-1).square().mean() : null,
    };
    return y.reshape([...x.shape]);
  }

  /**
   * E·Σ f_i P_i: f_i the fraction of the n·k assignments expert i received (a host constant,
   * so no gradient), P_i its mean router probability. 1 when balanced (HF Mixtral's is k times this).
   */
  #balanceLoss(probs: Tensor, counts: readonly number[]): Tensor {
    const total = counts.reduce((a, b) => a + b, 0);
    const f = tensor(Float64Array.from(counts, (c) => c / total), { dtype: probs.dtype });
    return probs.mean(0).mul(f).sum().mul(this.nExperts);
  }

  /** The last forward pass's routing record (null before the first). */
  get lastRouting(): RoutingRecord | null {
    return this.#last;
  }

  /** Router statistics of the last forward pass. */
  stats(): RouterStats | null {
    return this.#last?.stats ?? null;
  }

  /**
   * balanceCoef·balance + zCoef·z of the last forward pass, or null when both are off.
   * Call it in the scope of that pass (the loss tensors die with it).
   */
  auxLoss(): Tensor | null {
    const last = this.#last;
    if (!last) throw new Error("MoE.auxLoss: no forward pass yet");
    const terms: Tensor[] = [];
    for (const [t, c] of [[last.balanceLoss, this.balanceCoef], [last.zLoss, this.zCoef]] as const) {
      if (!t) continue;
      if (t.isDisposed) throw new Error("MoE.auxLoss: the last forward pass's scope has ended; call auxLoss() in the same scope as forward()");
      terms.push(t.mul(c));
    }
    return terms.length === 0 ? null : terms.length === 1 ? terms[0]! : terms[0]!.add(terms[1]!);
  }
}
