import { arange, concat, full, gather, indexSelect, isTracing, logicalOr, scatterAdd, softmax, tensor, where, type Tensor } from "@equigrad/tensor";
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
  /**
   * Token dispatch: "host" (default) reads the routing on the host and runs each expert on its
   * tokens only; "dense" runs every expert on every token and masks by the top-k gates, with
   * static shapes and no host read (what a traced, compiled step uses; chosen automatically
   * while tracing). Same result up to float rounding; dense costs E/k times the expert FLOPs.
   */
  dispatch?: "host" | "dense";
}

/** What the last forward pass left for auxLoss() and metrics. */
export interface RoutingRecord {
  /** Null after a traced forward pass (the routing is not known on the host then). */
  stats: RouterStats | null;
  /** Assignments per expert [E] as a tensor (dense dispatch only): what a traced step can output for router statistics. */
  counts?: Tensor;
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
  readonly dispatch: "host" | "dense";
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
    this.dispatch = opts.dispatch ?? "host";
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
    if (this.dispatch === "dense" || isTracing()) return this.#denseForward(x, xf, logits, probs);
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
   * Static-shape dispatch: top-k as k rounds of argmax (the lowest index wins a tie, as topK
   * does), the k gates kept in a dense [n, E] weight matrix (zero elsewhere), every expert run
   * on every token as one batched matmul over experts, and the outputs summed with those
   * weights. Gradients reach the router through the kept probabilities, as in host dispatch.
   */
  #denseForward(x: Tensor, xf: Tensor, logits: Tensor, probs: Tensor): Tensor {
    const e = this.nExperts;
    const ids = arange(e).reshape(1, e);
    let chosen: Tensor | null = null;
    let avail = probs.detach();
    for (let j = 0; j < this.topK; j++) {
      const pick = avail.argmax(-1, true).eq(ids);
      chosen = chosen ? logicalOr(chosen, pick) : pick;
      avail = where(pick, -1, avail);
    }
    let weights = where(chosen!, probs, 0);
    if (this.normalizeTopK) weights = weights.div(weights.sum(-1, true));
    const xs = xf.unsqueeze(0);
    const h = xs.matmul(this.gate.value.transpose(1, 2)).silu().mul(xs.matmul(this.up.value.transpose(1, 2)));
    const ys = h.matmul(this.down.value.transpose(1, 2));
    const y = ys.mul(weights.transpose(0, 1).unsqueeze(-1)).sum(0);
    // f_i of the balance loss: the fraction of assignments expert i received (no gradient, as on the host).
    const counts = chosen!.cast(probs.dtype).sum(0);
    this.#last = {
      stats: isTracing() ? null : routerStats(Array.from(counts.data()), xf.shape[0]!),
      // Traced, it outlives the forward's scopes (a gradient function's) so the step can output it; a traced value costs nothing.
      counts: isTracing() ? counts.keep() : counts,
      balanceLoss: this.balanceCoef ? probs.mean(0).mul(counts.div(xf.shape[0]! * this.topK)).sum().mul(e) : null,
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
