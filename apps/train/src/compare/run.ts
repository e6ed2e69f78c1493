import { existsSync } from "node:fs";
import { join } from "node:path";
import { TABLES, tableVariants } from "@equigrad/optim";
import { ConfigError, resolveConfig, resultFields, type LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { hashConfig, readMetrics, type MetricRecord } from "../run/index.js";
import { TrainingError } from "../train/errors.js";
import { train } from "../train/loop.js";
import { buildOptimizer, optimizerTable } from "../train/optimizer-table.js";
import { useBackend } from "../train/backend.js";
import { createModel } from "../train/model.js";
import { tokenizerFromName } from "../tokenizers/index.js";
import { comparePlan, type CompareOptions, type CompareRun } from "./plan.js";
import { writeCompareReport } from "./report.js";

export interface RunResult extends CompareRun {
  status: "trained" | "finished before" | "diverged";
  /** The lr of each table entry (before its schedule), as the run used it. */
  lrs: Record<string, number>;
  steps: number;
  valLoss: number;
  tokens: number;
  seconds: number;
  /** (step, validation loss) points for the plot. */
  curve: [number, number][];
  /** Diagnostics at the end of the run: final-logit RMS; for MoE models router load CV and dead-expert fraction. */
  final: FinalDiagnostics;
  message?: string;
}

export interface FinalDiagnostics {
  logitRms?: number;
  loadCv?: number;
  deadFraction?: number;
}

export interface CompareResult {
  dir: string;
  runs: RunResult[];
}

/**
 * Trains the config once per (table, variant, lr scale) with the same model, data, seed and
 * token budget, each in `<runDir>/compare-<hash>/<run>`, and writes the comparison there
 * (compare.md, val_loss.svg, results.json: the runs of this plan) after every run. The folder is
 * named by the shared config (compareHash), so rerunning finds it: finished runs are skipped and
 * an interrupted one resumes from its newest checkpoint. A run that diverges is recorded as such
 * and the comparison goes on.
 */
export async function compare(loaded: LoadedConfig, opts: CompareOptions, io: { log?: ((line: string) => void) | null } = {}): Promise<CompareResult> {
  const log = io.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : io.log ?? (() => {});
  const plan = comparePlan(opts);
  const base = loaded.config;
  const dir = join(base.runDir, `compare-${compareHash(base)}`);
  // Every run's config and table first: a mistake fails now, not after an hour of training.
  const configs = plan.map((r) => runConfig(base, r, dir));
  const entryLrs = checkTables(base, configs);
  log(`comparison of ${plan.length} runs (${base.model.preset}, ${base.train.steps} steps × ${base.train.batchSize}×${base.train.seqLen ?? "ctx"} tokens) in ${dir}`);
  const results: RunResult[] = [];
  for (const [i, r] of plan.entries()) {
    const c = configs[i]!;
    const lrs = entryLrs[i]!;
    const metricsPath = join(dir, r.name, "metrics.jsonl");
    const done = existsSync(metricsPath) ? finished(readMetrics(metricsPath), c.config.train.steps) : null;
    let result: RunResult;
    if (done) {
      log(`[${i + 1}/${plan.length}] ${r.label}: finished before, val ${done.valLoss.toFixed(4)}`);
      result = { ...r, status: "finished before", lrs, ...done };
    } else if (opts.reportOnly) {
      log(`[${i + 1}/${plan.length}] ${r.label}: not finished, left out of the report`);
      continue;
    } else {
      log(`[${i + 1}/${plan.length}] ${r.label}: training`);
      try {
        const s = await train(c, { resume: existsSync(join(dir, r.name, "config.json")), log: (l) => log(`  ${l}`) });
        result = { ...r, status: "trained", lrs, steps: s.steps, valLoss: s.valLoss, tokens: s.tokens, seconds: s.seconds, ...traces(readMetrics(metricsPath)) };
      } catch (e) {
        if (!(e instanceof TrainingError)) throw e;
        const records = existsSync(metricsPath) ? readMetrics(metricsPath) : [];
        const last = records.at(-1) ?? {};
        result = { ...r, status: "diverged", lrs, steps: Number(last.step ?? 0), valLoss: NaN, tokens: Number(last.tokens ?? 0), seconds: Number(last.elapsed_s ?? 0), ...traces(records), message: e.message.split(". ")[0] };
        log(`  diverged: ${result.message}`);
      }
    }
    results.push(result);
    writeCompareReport(dir, base, results, plan.length);
  }
  if (opts.reportOnly && !results.length) throw new ConfigError(`no run of this plan has finished in ${dir}`);
  return { dir, runs: results };
}

/**
 * Names the comparison folder: the result fields of the shared config, without what every run
 * sets itself (table, lr scale). So comparisons of one model and budget share a folder, and a
 * later, larger plan (more tables or lrs, or runs split over several processes) reuses every run
 * already finished there. The config's own variants and overrides stay in (runs are named by
 * table, plan variant and lr only, so a base that differs there needs its own folder), and so do
 * the ready tables' definitions.
 */
export function compareHash(base: Config, tables: unknown = TABLES): string {
  const fields = resultFields(base) as { optim: Record<string, unknown> };
  const { table: _t, lrScale: _l, ...optim } = fields.optim;
  // The ready tables' definitions too: when their rules or lrs change, old runs no longer describe them.
  return hashConfig({ ...fields, optim, tables }).slice(0, 12);
}

/** The config of one run: the base with its table, variants and lr scale, named and placed in the comparison folder. */
function runConfig(base: Config, r: CompareRun, dir: string): LoadedConfig {
  const raw = structuredClone(base) as Record<string, unknown> & { optim: Record<string, unknown> };
  const slots = Object.keys(r.variants);
  // The base config's own variants apply where the table has the slot (the run's choice wins).
  const given = Object.entries(base.optim.variants ?? {}).filter(([s]) => s in tableVariants(r.table) && !slots.includes(s));
  const variants = { ...Object.fromEntries(given), ...r.variants };
  raw.name = r.name;
  raw.runDir = dir;
  raw.optim.table = r.table;
  if (Object.keys(variants).length) raw.optim.variants = variants;
  else delete raw.optim.variants;
  raw.optim.lrScale = r.lrScale;
  const loaded = resolveConfig(raw, `comparison run ${r.name}`);
  optimizerTable(loaded.config);
  return loaded;
}

/**
 * Builds every run's optimizer for the model (no state yet), so a table that does not fit fails
 * before the first run; returns each run's lr per table entry (entries the model has).
 */
function checkTables(base: Config, configs: readonly LoadedConfig[]): Record<string, number>[] {
  useBackend(base);
  const { model } = createModel(base, tokenizerFromName(base.data.tokenizer).vocabSize);
  try {
    const params = model.namedParameters();
    return configs.map((c) => {
      buildOptimizer(c.config, params);
      return Object.fromEntries(optimizerTable(c.config, params).map((e) => [e.name ?? e.rule, (e.hyper?.lr as number | undefined) ?? NaN]));
    });
  } finally {
    model.dispose();
  }
}

/** A run whose metrics reach the last step with a validation loss. */
function finished(records: readonly MetricRecord[], steps: number): Omit<RunResult, keyof CompareRun | "status" | "lrs"> | null {
  const last = records.at(-1);
  if (!last || last.step !== steps || typeof last.val_loss !== "number") return null;
  return { steps, valLoss: last.val_loss, tokens: Number(last.tokens), seconds: Number(last.elapsed_s), ...traces(records) };
}

/** The validation curve and the last logged diagnostics of a run's metrics. */
function traces(records: readonly MetricRecord[]): { curve: [number, number][]; final: FinalDiagnostics } {
  const lastOf = <T>(key: string): T | undefined => [...records].reverse().find((r) => r[key] !== undefined)?.[key] as T | undefined;
  const moe = lastOf<{ load_cv?: number; dead_fraction?: number }>("moe");
  const final: FinalDiagnostics = {};
  const logits = lastOf<{ rms?: number }>("logits");
  if (typeof logits?.rms === "number") final.logitRms = logits.rms;
  if (typeof moe?.load_cv === "number") final.loadCv = moe.load_cv;
  if (typeof moe?.dead_fraction === "number") final.deadFraction = moe.dead_fraction;
  return { curve: curveOf(records), final };
}

const curveOf = (records: readonly MetricRecord[]): [number, number][] =>
  records.flatMap((r) => (typeof r.step === "number" && typeof r.val_loss === "number" && Number.isFinite(r.val_loss) ? [[r.step, r.val_loss] as [number, number]] : []));
