import { existsSync } from "node:fs";
import { join } from "node:path";
import { Dropout } from "@equigrad/nn";
import { currentLearningRates, stateFromRecord, stateToRecord, type Param } from "@equigrad/optim";
import { memoryStats, tidy } from "@equigrad/tensor";
import { latestCheckpoint, listCheckpoints, loadCheckpoint, saveCheckpoint } from "../checkpoint/index.js";
import { ConfigError, fullConfigHash, type LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { BatchLoader, evalBatches, openCorpus, prepareCorpus, type Corpus } from "../data/index.js";
import { tokenizerFromName } from "../tokenizers/index.js";
import { useBackend } from "./backend.js";
import { TrainingError } from "./errors.js";
import { createModel } from "./model.js";
import { instrument, logitStats, nuByEntry } from "./instrument.js";
import { buildOptimizer } from "./optimizer-table.js";
import { Progress } from "./progress.js";
import { createRunDir, openMetrics } from "../run/index.js";
import { writeRunReport } from "./report.js";
import { sampleTokens } from "./sample.js";
import { evaluate, trainStep, type Batch } from "./step.js";
import { OnnxSteps } from "./onnx-train.js";

export interface TrainOptions {
  /** Continue from the newest complete checkpoint of the run directory. */
  resume?: boolean;
  /** Write progress here (default stderr); null for silence (tests). */
  log?: ((line: string) => void) | null;
}

export interface TrainSummary {
  runDir: string;
  steps: number;
  trainLoss: number;
  valLoss: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  parameters: number;
  sample: string;
  /** Per optimizer-table entry: the last logged lr, update RMS and (ν-scaled rules) mean ν. */
  entries: Record<string, EntryMetrics>;
}

export interface EntryMetrics {
  lr?: number;
  updateRms?: number;
  nu?: number;
}

/** The config's corpus; a path that does not exist (or cannot be read) is a config problem, reported as one. */
export function openConfiguredCorpus(config: Config): Corpus {
  try {
    return openCorpus(config.data.corpus);
  } catch (e) {
    if (!(e instanceof Error) || e instanceof TypeError) throw e;
    throw new ConfigError(`data.corpus: ${e.message}`);
  }
}

/** A stream for Progress that hands whole lines to `log`, so progress goes where the caller's log goes. */
const lineStream = (log: (line: string) => void): NodeJS.WriteStream =>
  ({
    isTTY: false,
    write: (text: string) => {
      for (const line of text.split("\n")) if (line) log(line);
      return true;
    },
  }) as unknown as NodeJS.WriteStream;

function unnamedRun(root: string, base: string, resume: boolean): string {
  const taken = (n: number) => existsSync(join(root, n === 1 ? base : `${base}-${n}`));
  let n = 1;
  while (taken(n + 1) || (!resume && taken(n))) n++;
  return n === 1 ? base : `${base}-${n}`;
}

/** Runs (or resumes) the training an experiment config describes. */
export async function train(loaded: LoadedConfig, opts: TrainOptions = {}): Promise<TrainSummary> {
  const { config, hash } = loaded;
  const log = opts.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : opts.log ?? (() => {});
  useBackend(config);

  const tokenizer = tokenizerFromName(config.data.tokenizer);
  const prepared = await prepareCorpus({ corpus: openConfiguredCorpus(config), tokenizer, cacheDir: config.data.cacheDir });
  const { model, spec, parameters } = createModel(config, tokenizer.vocabSize);
  const seqLen = config.train.seqLen ?? model.contextLength;
  if (seqLen > model.contextLength) throw new ConfigError(`train.seqLen ${seqLen} exceeds the model's context length ${model.contextLength} (model.overrides.contextLength)`);
  if (config.train.batchSize % config.train.gradAccum !== 0) throw new ConfigError(`train.batchSize ${config.train.batchSize} is not divisible by train.gradAccum ${config.train.gradAccum}`);
  const micro = config.train.batchSize / config.train.gradAccum;

  const params: Param[] = model.namedParameters();
  // A table that does not fit the model fails here, before any data is touched by training.
  const optimizer = instrument(buildOptimizer(config, params));
  let state = optimizer.init(params);

  // An unnamed run is named by its config; running it again without --resume starts a fresh
  // run beside it (-2, -3, ...), --resume continues the newest of them.
  const name = config.name ?? unnamedRun(config.runDir, `${config.model.preset}-${hash}`, Boolean(opts.resume));
  const runPath = join(config.runDir, name);
  const resume = Boolean(opts.resume) && existsSync(join(runPath, "config.json"));
  let run;
  try {
    run = createRunDir({ root: config.runDir, name, config, configHash: fullConfigHash(config), backend: config.backend.name, threads: config.backend.threads ?? 0, resume });
  } catch (e) {
    const exists = existsSync(join(runPath, "config.json"));
    throw new ConfigError(`${(e as Error).message}${exists && !opts.resume ? " (continue it with --resume)" : ""}`);
  }
  const ckptDir = run.checkpoints;
  let start = 0;
  let tokens = 0;
  let secondsBefore = 0;
  let trainLoss = NaN;
  let valLoss = NaN;
  // Dropout draws from counter-based random streams: their counters are saved and restored, so a resumed run draws the same masks.
  const dropouts = model.namedModules().filter((e): e is [string, Dropout] => e[1] instanceof Dropout);
  const latest = existsSync(ckptDir) ? latestCheckpoint(ckptDir) : undefined;
  if (latest) {
    const ckpt = loadCheckpoint(latest);
    if (ckpt.meta.configHash !== hash) throw new ConfigError(`checkpoint ${latest} was written by config ${ckpt.meta.configHash}, this config is ${hash}; resume with the run's own config.json`);
    model.loadStateDict(ckpt.params);
    state = tidy(() => stateFromRecord(optimizer, params, ckpt.optim));
    for (const t of Object.values(ckpt.params)) t.dispose();
    start = ckpt.meta.step;
    tokens = Number(ckpt.meta.metrics.tokens ?? 0);
    secondsBefore = Number(ckpt.meta.metrics.seconds ?? 0);
    trainLoss = Number(ckpt.meta.metrics.trainLoss ?? NaN);
    valLoss = Number(ckpt.meta.metrics.valLoss ?? NaN);
    const counters = (ckpt.meta.state.dropout ?? {}) as Record<string, number>;
    for (const [path, d] of dropouts) if (typeof counters[path] === "number") d.rng.counter = counters[path];
    log(`resuming ${run.dir} from step ${start}`);
  } else if (opts.resume) log(`no checkpoint in ${run.dir}: starting from step 0`);
  const metrics = openMetrics(run.metrics, { truncateAfterStep: start });

  const loader = new BatchLoader(prepared.train, { batchSize: micro, seqLen, seed: config.seed, step: start * config.train.gradAccum });
  const evalSet = evalBatches(prepared.val, { batchSize: micro, seqLen, maxBatches: Math.ceil(config.eval.windows / micro) });
  const evalAll = (): number => evaluate(model, Array.from({ length: evalSet.count }, (_, i) => evalSet.batch(i)));
  log(`model ${config.model.preset} (${spec.family}, ${parameters.toLocaleString("en-US")} parameters) · ${(prepared.train.length / 1e6).toFixed(2)}M train / ${(prepared.val.length / 1e6).toFixed(2)}M val tokens · batch ${config.train.batchSize}×${seqLen} · backend ${config.backend.name} · run ${run.dir}`);

  const progress = new Progress(config.train.steps, opts.log === undefined ? process.stderr : lineStream(log));
  let ema: number | null = null;
  let stepsDone = start;
  const entries: Record<string, EntryMetrics> = {};
  const save = (step: number) => {
    const t0 = performance.now();
    const saved = saveCheckpoint(
      ckptDir,
      { step, params: model.parameters(), optim: stateToRecord(state), configHash: hash, state: { loader: { seed: config.seed, step: step * config.train.gradAccum }, dropout: Object.fromEntries(dropouts.map(([path, d]) => [path, d.rng.counter])) }, metrics: { tokens, seconds: secondsBefore + progress.elapsed, trainLoss, valLoss } },
      { keepLast: config.checkpoint.keep },
    );
    log(`checkpoint ${saved} (${Math.round(performance.now() - t0)} ms)`);
  };

  // backend "onnx": the step is compiled once and run by ONNX Runtime (onnx-train.ts).
  const onnx = config.backend.name === "onnx" ? await OnnxSteps.create(config, model, params, optimizer, state, micro, seqLen) : null;
  for (let step = start + 1; step <= config.train.steps; step++) {
    const t0 = performance.now();
    // Per-entry update RMS and ν on logging steps only (a squared sum per parameter and a host read
    // per entry); a compiled step measures every step (one graph), the loop keeps the logging steps'.
    const logging = step % config.train.logEvery === 0 || step === config.train.steps;
    optimizer.arm(!onnx && logging);
    const out = onnx
      ? await onnx.step(() => loader.next())
      : tidy(() => {
          const batches: Batch[] = Array.from({ length: config.train.gradAccum }, () => loader.next());
          return trainStep(model, params, optimizer, state, batches, config.optim.clipGradNorm);
        });
    state = out.state;
    if (!Number.isFinite(out.loss) || !Number.isFinite(out.gradNorm)) {
      // Step k's loss is that of the parameters after step k-1: when it is not finite, a checkpoint of step k-1 holds them.
      const goodBefore = Number.isFinite(out.loss) ? step : step - 1;
      const good = listCheckpoints(ckptDir).filter((c) => c.step < goodBefore).at(-1)?.dir;
      throw new TrainingError(
        `${Number.isFinite(out.loss) ? `grad norm became ${out.gradNorm}` : `loss became ${out.loss}`} at step ${step} (loss ${out.loss}, grad norm ${out.gradNorm}). ` +
          `${good ? `The last good checkpoint is ${good}` : "No checkpoint from before the divergence is left"}; lower optim.lr or set optim.clipGradNorm and start a new run (a changed config cannot resume this one).`,
      );
    }
    const dt = (performance.now() - t0) / 1000;
    tokens += config.train.batchSize * seqLen;
    trainLoss = out.loss;
    ema = ema === null ? out.loss : 0.9 * ema + 0.1 * out.loss;
    stepsDone = step;
    const last = step === config.train.steps || (config.train.maxSeconds > 0 && progress.elapsed >= config.train.maxSeconds && (!onnx || onnx.settled));
    const record: Record<string, number | Record<string, number>> = {
      step,
      loss: out.loss,
      grad_norm: out.gradNorm,
      lr: currentLearningRates(optimizer, state),
      tokens,
      tokens_per_s: (config.train.batchSize * seqLen) / dt,
      elapsed_s: secondsBefore + progress.elapsed,
    };
    const rms = onnx ? (logging ? onnx.updateRms() : null) : optimizer.take();
    if (rms) {
      record.update_rms = rms;
      const nu = nuByEntry(optimizer, state);
      if (Object.keys(nu).length) record.nu = nu;
      for (const [k, v] of Object.entries(record.lr as Record<string, number>)) (entries[k] ??= {}).lr = v;
      for (const [k, v] of Object.entries(rms)) (entries[k] ??= {}).updateRms = v;
      for (const [k, v] of Object.entries(nu)) (entries[k] ??= {}).nu = v;
    }
    // MoE models: router balance of the step's last forward pass, averaged over layers.
    const routers = onnx ? onnx.routerStats() : model.stats();
    if (routers.length) {
      const mean = (f: (r: (typeof routers)[number]) => number) => routers.reduce((a, r) => a + f(r), 0) / routers.length;
      record.moe = { load_cv: mean((r) => r.cv), dead_fraction: mean((r) => r.deadFraction), max_load: mean((r) => r.maxLoad) };
    }
    if (step % config.eval.every === 0 || last) {
      valLoss = evalAll();
      record.val_loss = valLoss;
      // Final-logit size (the paper's logit-growth diagnostic) on the first validation batch.
      record.logits = tidy(() => logitStats(model, evalSet.batch(0)));
      progress.log(`step ${step}: train ${ema.toFixed(4)} · val ${valLoss.toFixed(4)} nats/token · ${(tokens / (secondsBefore + progress.elapsed)).toFixed(0)} tokens/s`);
      const roles = Object.entries(entries).filter(([, e]) => e.updateRms !== undefined);
      if (roles.length) progress.log(`  update RMS ${roles.map(([k, e]) => `${k} ${e.updateRms!.toExponential(2)}${e.nu !== undefined ? ` (ν ${e.nu.toPrecision(3)})` : ""}`).join(" · ")}`);
    }
    metrics.write(record);
    progress.update(step, { loss: ema.toFixed(4), "tok/s": (tokens / Math.max(secondsBefore + progress.elapsed, 1e-9)).toFixed(0), mem: `${(memoryStats().liveBytes / 2 ** 20).toFixed(0)}MiB` }, step % config.train.logEvery === 0);
    if ((config.checkpoint.every > 0 && step % config.checkpoint.every === 0) || last) save(step);
    if (last) break;
  }
  progress.done();
  await onnx?.release();

  const seconds = secondsBefore + progress.elapsed;
  const prompt = tokenizer.encode(config.sample.prompt);
  const sample = tokenizer.decode(sampleTokens(model, Array.from(prompt), { tokens: config.sample.tokens, temperature: config.sample.temperature, topK: config.sample.topK, seed: config.seed }));
  const summary: TrainSummary = { runDir: run.dir, steps: stepsDone, trainLoss, valLoss, tokens, seconds, tokensPerSecond: tokens / seconds, parameters, sample, entries };
  metrics.close();
  writeRunReport(run, config, summary);
  return summary;
}
