import { PartitionError, TableError, adjustTable, buildTable, partition, type Param, type Partition, type ScheduleSpec, type TableEntry } from "@equigrad/optim";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";

/** Rules whose betas and eps have AdamW's meaning, so the shared optim.betas/eps are their defaults in an explicit table. */
const ADAM_SHAPED = new Set(["adamw", "adabelief"]);

/** The schedule of the config, over the run's steps. */
export function scheduleSpec(config: Config): ScheduleSpec {
  const s = config.optim.schedule;
  const totalSteps = config.train.steps;
  if (s.kind === "constant") return { kind: "constant" };
  if (s.kind === "cosine") return { kind: "cosine", totalSteps, warmupSteps: s.warmupSteps, floor: s.minLrFactor };
  return { kind: "wsd", totalSteps, warmupSteps: s.warmupSteps, decayFraction: s.decayFraction, floor: s.minLrFactor };
}

/**
 * The optimizer table of the config for these parameters. A ready table (`adamw`, `symmetry`,
 * `muon`; packages/optim/src/tables) is built with the chosen variants, per-entry overrides and
 * lr scale, its entries for roles the model lacks left out. `adamw` follows the shared
 * optim.lr/betas/eps/weightDecay/schedule (decay on matrices only, as nanoGPT). An explicit
 * table is used as written, with the shared settings as defaults.
 */
export function optimizerTable(config: Config, params?: readonly Param[]): TableEntry[] {
  const o = config.optim;
  const common = { lr: o.lr, betas: o.betas, eps: o.eps, schedule: scheduleSpec(config) };
  try {
    if (typeof o.table === "string") {
      return buildTable(o.table, {
        steps: config.train.steps,
        variants: o.variants,
        overrides: o.overrides,
        lrScale: o.lrScale,
        params,
        base: { ...common, betas: common.betas as [number, number], weightDecay: o.weightDecay },
      });
    }
    if (o.variants && Object.keys(o.variants).length) throw new TableError([`optim.variants: variants choose among a ready table's rules; with an explicit table, write the rule into the entry instead`]);
    // lr, weightDecay and schedule are hyperparameters of every rule; betas and eps mean AdamW's only where the rule is Adam-shaped.
    const shared = (rule: string) => (ADAM_SHAPED.has(rule) ? common : { lr: common.lr, schedule: common.schedule });
    const explicit = o.table.map((e) => ({ ...e, hyper: { ...shared(e.rule), weightDecay: o.weightDecay, ...e.hyper } })) as TableEntry[];
    return adjustTable(explicit, { overrides: o.overrides, lrScale: o.lrScale });
  } catch (e) {
    if (e instanceof TableError) throw new ConfigError(e.message);
    throw e;
  }
}

/**
 * The partitioned optimizer for the model's parameters. A table that does not fit (a parameter
 * matched by no entry or by several, an entry matching nothing, an unknown rule or
 * hyperparameter, a rule given a parameter of a rank it does not take) is a ConfigError listing
 * every offending path, raised before any training.
 */
export function buildOptimizer(config: Config, params: readonly Param[]): Partition {
  const table = optimizerTable(config, params);
  try {
    return partition(table, params);
  } catch (e) {
    if (e instanceof PartitionError) {
      const which = typeof config.optim.table === "string" ? `table '${config.optim.table}'` : "the explicit optim.table";
      throw new ConfigError(`${which} does not fit the model ${config.model.preset}:\n${e.message}\nFix the table (optim.table, optim.variants, optim.overrides) and run again.`);
    }
    throw e;
  }
}
