import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { latestCheckpoint, loadCheckpoint } from "./checkpoint/index.js";
import { ConfigError, loadConfig, resolveConfig, type LoadedConfig } from "./config/load.js";
import { evalBatches, prepareCorpus } from "./data/index.js";
import { tokenizerFromName } from "./tokenizers/index.js";
import { useBackend } from "./train/backend.js";
import { openConfiguredCorpus } from "./train/loop.js";
import { createModel } from "./train/model.js";
import { sampleTokens } from "./train/sample.js";
import { evaluate } from "./train/step.js";

/** A run directory or one of its checkpoints -> the checkpoint folder and the run's config. */
function locate(target: string): { ckpt: string; loaded: LoadedConfig } {
  const isCkpt = existsSync(join(target, "checkpoint.json"));
  const runDir = isCkpt ? dirname(dirname(target)) : target;
  const ckpt = isCkpt ? target : existsSync(join(runDir, "checkpoints")) ? latestCheckpoint(join(runDir, "checkpoints")) : undefined;
  if (!ckpt) throw new ConfigError(`no complete checkpoint in ${join(runDir, "checkpoints")}: train first, or pass a checkpoint folder`);
  const configPath = join(runDir, "config.json");
  if (!existsSync(configPath)) throw new ConfigError(`${configPath} is missing: ${basename(ckpt)} cannot be matched to its model config`);
  return { ckpt, loaded: resolveConfig(JSON.parse(readFileSync(configPath, "utf8")), `config ${configPath}`) };
}

export function restore(target: string) {
  const { ckpt, loaded } = locate(target);
  useBackend(loaded.config);
  const tokenizer = tokenizerFromName(loaded.config.data.tokenizer);
  const { model } = createModel(loaded.config, tokenizer.vocabSize);
  const state = loadCheckpoint(ckpt);
  model.loadStateDict(state.params);
  for (const t of Object.values(state.params)) t.dispose();
  return { model, tokenizer, loaded, ckpt, step: state.meta.step };
}

export async function evalCommand(target: string): Promise<void> {
  const { model, tokenizer, loaded, ckpt, step } = restore(target);
  const { config } = loaded;
  const prepared = await prepareCorpus({ corpus: openConfiguredCorpus(config), tokenizer, cacheDir: config.data.cacheDir });
  const seqLen = config.train.seqLen ?? model.contextLength;
  const micro = config.train.batchSize / config.train.gradAccum;
  const set = evalBatches(prepared.val, { batchSize: micro, seqLen, maxBatches: Math.ceil(config.eval.windows / micro) });
  const loss = evaluate(model, Array.from({ length: set.count }, (_, i) => set.batch(i)));
  console.log(`${ckpt} (step ${step}): validation loss ${loss.toFixed(4)} nats/token over ${set.tokens.toLocaleString("en-US")} tokens`);
}

export function sampleCommand(target: string, o: { prompt: string; tokens: number; temperature: number; topK: number; seed: number }): void {
  const { model, tokenizer } = restore(target);
  const ids = sampleTokens(model, Array.from(tokenizer.encode(o.prompt)), { tokens: o.tokens, temperature: o.temperature, topK: o.topK, seed: o.seed });
  console.log(o.prompt + tokenizer.decode(ids));
}

export async function prepareCommand(file: string | undefined, o: { set: string[] }): Promise<void> {
  const { config } = await loadConfig(file, o.set);
  const tokenizer = tokenizerFromName(config.data.tokenizer);
  const p = await prepareCorpus({ corpus: openConfiguredCorpus(config), tokenizer, cacheDir: config.data.cacheDir });
  console.log(`${p.tokenized ? "tokenized" : "already cached"}: ${p.train.length.toLocaleString("en-US")} train / ${p.val.length.toLocaleString("en-US")} val tokens (${tokenizer.name}) in ${[...p.files.train, ...p.files.val].join(", ")}`);
}
