#!/usr/bin/env node
/**
 * The `train` command: pretrain, evaluate, sample and prepare data from experiment configs.
 * Errors the user can fix (config, data, checkpoints) print as one clear message, not a stack.
 */
import { Command } from "commander";
import { ConfigError, loadConfig } from "./config/load.js";
import { ShardError } from "./data/index.js";
import { SafetensorsError } from "./checkpoint/index.js";
import { TrainingError } from "./train/errors.js";
import { train } from "./train/loop.js";
import { evalCommand, prepareCommand, sampleCommand } from "./commands.js";
import { compareCommand } from "./compare/command.js";
import { exportOnnxCommand } from "./commands/export-onnx.js";

const collect = (v: string, all: string[]) => [...all, v];

const program = new Command()
  .name("train")
  .description("equigrad: pretrain small language models")
  .showHelpAfterError();

program
  .command("train", { isDefault: true })
  .description("train a model from an experiment config (default: the built-in config, ~5 minutes on 2 cores)")
  .argument("[config]", "experiment config (.json, .js, .mjs or .ts)")
  .option("--set <path=value>", "override a config field, e.g. --set optim.lr=3e-4 (repeatable)", collect, [])
  .option("--resume", "continue from the newest complete checkpoint of the run directory")
  .action(async (file: string | undefined, o: { set: string[]; resume?: boolean }) => {
    const summary = await train(await loadConfig(file, o.set), { resume: o.resume });
    console.log(
      `\ndone: ${summary.steps} steps · train loss ${summary.trainLoss.toFixed(4)} · val loss ${summary.valLoss.toFixed(4)} nats/token · ` +
        `${summary.tokens.toLocaleString("en-US")} tokens in ${summary.seconds.toFixed(0)} s (${summary.tokensPerSecond.toFixed(0)} tokens/s)\n` +
        `run directory: ${summary.runDir}\nsample: ${JSON.stringify(summary.sample)}`,
    );
  });

program
  .command("eval")
  .description("validation loss of a run's newest (or a given) checkpoint")
  .argument("<run>", "run directory or checkpoint folder")
  .action(evalCommand);

program
  .command("sample")
  .description("generate text from a run's newest (or a given) checkpoint")
  .argument("<run>", "run directory or checkpoint folder")
  .option("--prompt <text>", "text to continue", "The ")
  .option("--tokens <n>", "tokens to generate", (v) => Number(v), 200)
  .option("--temperature <t>", "softmax temperature", (v) => Number(v), 0.8)
  .option("--top-k <k>", "sample among the k most likely tokens (0: all)", (v) => Number(v), 40)
  .option("--seed <n>", "sampling seed", (v) => Number(v), 0)
  .action(sampleCommand);

program
  .command("export-onnx")
  .description("write a checkpoint's inference graph (tokens → logits, forward only) as a standalone .onnx file")
  .argument("<run>", "run directory or checkpoint folder")
  .option("--out <file>", "output file (default: <checkpoint>/model.onnx)")
  .option("--batch <n>", "sequences per call (shapes are static)", (v) => Number(v), 1)
  .option("--seq-len <n>", "tokens per sequence (default: the run's train.seqLen or the context length)", (v) => Number(v))
  .action(exportOnnxCommand);

program
  .command("prepare")
  .description("tokenize a config's corpus into cached llm.c shards")
  .argument("[config]", "experiment config")
  .option("--set <path=value>", "override a config field (repeatable)", collect, [])
  .action(prepareCommand);

program
  .command("compare")
  .description("train one config once per optimizer table (× router variant × lr scale) and compare validation losses")
  .argument("[config]", "experiment config: model, data and token budget shared by every run")
  .option("--tables <list>", "ready optimizer tables, comma-separated", "adamw,muon,symmetry")
  .option("--router-variants <list>", "router variants for tables with a router slot (symmetry: rownorm, left, hybrid, adamw)")
  .option("--lrs <list>", "lr scales: each multiplies every lr of the table (optim.lrScale), e.g. 0.5,1,2")
  .option("--report-only", "train nothing: write the comparison of the planned runs already finished")
  .option("--set <path=value>", "override a config field of every run (repeatable)", collect, [])
  .action(compareCommand);

const USER_ERRORS = [ConfigError, ShardError, SafetensorsError, TrainingError];

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (e: unknown) => {
    if (USER_ERRORS.some((E) => e instanceof E)) console.error(`error: ${(e as Error).message}`);
    else console.error(e);
    process.exit(1);
  },
);
