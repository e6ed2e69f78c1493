import { type ScheduleSpec, type TableEntry } from "@equigrad/optim";
import type { Config } from "../config/schema.js";

/** The schedule of the config, over the run's steps. */
export function scheduleSpec(config: Config): ScheduleSpec {
  const s = config.optim.schedule;
  const totalSteps = config.train.steps;
  if (s.kind === "constant") return { kind: "constant" };
  if (s.kind === "cosine") return { kind: "cosine", totalSteps, warmupSteps: s.warmupSteps, floor: s.minLrFactor };
  return { kind: "wsd", totalSteps, warmupSteps: s.warmupSteps, decayFraction: s.decayFraction, floor: s.minLrFactor };
}

/**
 * The optimizer table of the config. "adamw" is the baseline: AdamW everywhere, weight decay on
 * matrices only (norms, biases, scalars and embeddings are not decayed, as in nanoGPT).
 * An explicit table is used as written, with the shared lr/betas/eps/schedule as defaults.
 */
export function optimizerTable(config: Config): TableEntry[] {
  const o = config.optim;
  const common = { lr: o.lr, betas: o.betas, eps: o.eps, schedule: scheduleSpec(config) };
  if (o.table === "adamw") {
    return [
      { name: "matrices", match: { roles: ["attn.*", "mlp.*", "moe.*", "lm_head"] }, rule: "adamw", hyper: { ...common, weightDecay: o.weightDecay } },
      { name: "no_decay", match: { roles: ["embed", "norm", "bias", "scalar"] }, rule: "adamw", hyper: { ...common, weightDecay: 0 } },
    ] as TableEntry[];
  }
  return o.table.map((e) => ({ ...e, hyper: { ...common, weightDecay: o.weightDecay, ...e.hyper } })) as TableEntry[];
}
