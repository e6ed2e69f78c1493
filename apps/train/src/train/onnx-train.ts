import type { Param, State, Transform } from "@equigrad/optim";
import { ProviderError, compile, type CompiledStep } from "@equigrad/tensor";
import type { Transformer } from "@equigrad/models";
import { routerStats, type RouterStats } from "@equigrad/nn";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { UPDATE_RMS, batchSpecs, longLived, tracedStep } from "./onnx-step.js";
import type { Batch, StepOutcome } from "./step.js";

/**
 * Training steps on ONNX Runtime for `backend.name: "onnx"`: the step of step.ts is traced
 * and compiled once (compile() in @equigrad/tensor), and each call runs `stepsPerCall` steps.
 * ORT computes in a worker thread, so while a call runs the event loop stays free (progress,
 * data, checkpoint IO). Results come back one step at a time as the eager loop expects them;
 * parameters and optimizer state are written back to the model's tensors after each call, so
 * eval, sampling and checkpoints read them unchanged.
 *
 * Dropout: its masks are drawn in the graph (Threefry, the bits the eager backends draw), each
 * step's counters fed as inputs. The Dropout modules' streams are mutable state outside the
 * optimizer state, but compile() threads their counters like host state: its traces (the two
 * up front, those traced ahead while ORT runs) leave them untouched, and after each call they
 * are where as many eager steps leave them — what checkpoints save and resume restores.
 */
export class OnnxSteps<S extends State> {
  #queue: { loss: number; gradNorm: number; routers: RouterStats[]; updateRms: Record<string, number> }[] = [];
  #routers: RouterStats[] = [];
  #updateRms: Record<string, number> = {};

  private constructor(
    private readonly compiled: CompiledStep<S>,
    readonly stepsPerCall: number,
    private readonly gradAccum: number,
    private readonly moeLayers: number,
    /** Tokens of one forward pass (a micro-batch): what the router statistics count over. */
    private readonly tokens: number,
  ) {}

  static async create<S extends State>(config: Config, model: Transformer, params: readonly Param[], optimizer: Transform<S>, state: S, micro: number, seqLen: number): Promise<OnnxSteps<S>> {
    const k = config.backend.stepsPerCall ?? 1;
    const bad = [["train.steps", config.train.steps], ["eval.every", config.eval.every], ["checkpoint.every", config.checkpoint.every]].filter(([, v]) => (v as number) % k !== 0);
    if (k > 1 && bad.length) {
      throw new ConfigError(`backend.stepsPerCall ${k}: ${bad.map(([n, v]) => `${n} (${v})`).join(", ")} must be multiples of it, so that eval and checkpoints see the parameters of their own step`);
    }
    try {
      const compiled = await compile(tracedStep(model, params, optimizer, config.optim.clipGradNorm), {
        tensors: longLived(params, state),
        batch: batchSpecs(config.train.gradAccum, micro, seqLen),
        host: state,
        stepsPerCall: k,
        provider: config.backend.provider ?? "cpu",
        ...(config.backend.threads !== undefined ? { threads: config.backend.threads } : {}),
        ...(config.backend.spin !== undefined ? { spin: config.backend.spin } : {}),
      });
      return new OnnxSteps(compiled, k, config.train.gradAccum, model.moeLayers().length, micro * seqLen);
    } catch (e) {
      // A missing provider is a setup problem the user fixes: one clear message, no stack.
      if (e instanceof ProviderError) throw new ConfigError(`backend.provider "${e.provider}": ${e.message}`);
      throw e;
    }
  }

  /** Whether the parameters are those of the last step returned (no steps of a call are still queued). */
  get settled(): boolean {
    return this.#queue.length === 0;
  }

  /**
   * The next step's outcome; runs a call of K steps when none is queued. `next()` gives one
   * micro-batch (the loader's order, as the eager loop draws them).
   */
  async step(next: () => Batch): Promise<StepOutcome<S>> {
    if (this.#queue.length === 0) {
      const batches = Array.from({ length: this.stepsPerCall }, () => {
        const mbs = Array.from({ length: this.gradAccum }, next);
        const cat = (pick: (b: Batch) => Int32Array) => {
          const parts = mbs.map(pick);
          const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
          let o = 0;
          for (const p of parts) out.set(p, (o += p.length) - p.length);
          return out;
        };
        const feeds = [cat((b) => b.input.data() as Int32Array), cat((b) => b.target.data() as Int32Array)];
        for (const b of mbs) b.input.dispose(), b.target.dispose();
        return feeds;
      });
      const out = await this.compiled.run(batches);
      for (let s = 0; s < this.stepsPerCall; s++) {
        // MoE router statistics from the step's [layers, experts] assignment counts.
        const counts = out.moe_counts?.[s];
        const e = counts ? counts.length / this.moeLayers : 0;
        const routers = counts ? Array.from({ length: this.moeLayers }, (_, l) => routerStats(Array.from(counts.subarray(l * e, (l + 1) * e)), this.tokens)) : [];
        const updateRms = Object.fromEntries(Object.entries(out).filter(([name]) => name.startsWith(UPDATE_RMS)).map(([name, v]) => [name.slice(UPDATE_RMS.length), v[s]![0]!]));
        this.#queue.push({ loss: out.loss![s]![0]!, gradNorm: out.grad_norm![s]![0]!, routers, updateRms });
      }
    }
    const { routers, updateRms, ...r } = this.#queue.shift()!;
    this.#routers = routers;
    this.#updateRms = updateRms;
    return { ...r, state: this.compiled.host };
  }

  /** Router statistics of the last step returned, per MoE layer (as Transformer.stats() gives them eagerly). */
  routerStats(): RouterStats[] {
    return this.#routers;
  }

  /** The update RMS per optimizer table entry of the last step returned (the graph measures every step). */
  updateRms(): Record<string, number> {
    return this.#updateRms;
  }

  release(): Promise<void> {
    return this.compiled.release();
  }
}
