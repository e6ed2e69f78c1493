import { z } from "zod";
import { corpusSpecSchema } from "../data/spec.js";

/**
 * The experiment config: every field has a default, unknown fields are errors. A config file
 * holds any subset of it; `--set path=value` overrides single fields.
 */
const Model = z.strictObject({
  /** A preset from @equigrad/models (gpt-tiny, gpt-small, llama-tiny, llama-small, moe-small). */
  preset: z.string().default("gpt-tiny"),
  /** Fields of the preset's model config to override (nLayer, dModel, contextLength, ...). */
  overrides: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
  dropout: z.number().min(0).max(1).default(0),
});

const Data = z.strictObject({
  /** {kind: "sotu", heldOutFrom?}, {kind: "text", path, valFraction?, valBy?} or {kind: "shards", train, val?}. */
  corpus: corpusSpecSchema.default({ kind: "sotu", heldOutFrom: 2007 }),
  tokenizer: z.enum(["byte", "gpt2"]).default("byte"),
  /** Where tokenized shards are cached. */
  cacheDir: z.string().default(".cache/equigrad"),
});

const Schedule = z.strictObject({
  kind: z.enum(["constant", "cosine", "wsd"]).default("wsd"),
  warmupSteps: z.number().int().nonnegative().default(50),
  /** For wsd: the last fraction of steps decays linearly to minLrFactor·lr. */
  decayFraction: z.number().min(0).max(1).default(0.4),
  minLrFactor: z.number().min(0).max(1).default(0),
});

const OptimRule = z.strictObject({
  /** Labels the entry's state, logged lr and metrics; optim.overrides.<name> addresses it. */
  name: z.string().optional(),
  match: z.strictObject({ roles: z.array(z.string()).optional(), paths: z.array(z.string()).optional() }),
  rule: z.string(),
  hyper: z.record(z.string(), z.unknown()).default({}),
});

const Optim = z.strictObject({
  /**
   * A ready table ("adamw", "symmetry", "muon"; see the README's optimizer tables), or an
   * explicit ordered list of rules. lr, betas, eps, weightDecay and schedule below are the
   * settings of "adamw" and the defaults of an explicit table; "symmetry" and "muon" carry
   * their own per-role lrs and schedules (change them with overrides / lrScale).
   */
  table: z.union([z.enum(["adamw", "symmetry", "muon"]), z.array(OptimRule).min(1)]).default("adamw"),
  // The three fields below are optional (absent, not defaulted) so that configs without them keep their hash.
  /** Variant per slot of a ready table, e.g. { router: "left", mlp: "hybrid" } (symmetry: embed, lmHead, mlp, router, experts). */
  variants: z.record(z.string(), z.string()).optional(),
  /** Hyperparameters per table entry, merged over the table's: { router: { lr: 1e-3 }, other: { weightDecay: 0 } }. */
  overrides: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** Multiplies every entry's lr (after overrides): one knob to sweep a whole table. */
  lrScale: z.number().positive().optional(),
  lr: z.number().positive().default(3e-3),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  weightDecay: z.number().min(0).default(0.1),
  eps: z.number().positive().default(1e-8),
  /** Global gradient-norm clipping; 0 turns it off. */
  clipGradNorm: z.number().min(0).default(1),
  schedule: Schedule.prefault({}),
});

const Train = z.strictObject({
  steps: z.number().int().positive().default(1200),
  batchSize: z.number().int().positive().default(16),
  /** Defaults to the model's context length. */
  seqLen: z.number().int().positive().optional(),
  /** Micro-batches per step (gradients accumulate); batchSize must divide evenly. */
  gradAccum: z.number().int().positive().default(1),
  /** Stop after this many seconds (0 = no limit); the last checkpoint and eval still run. */
  maxSeconds: z.number().min(0).default(0),
  logEvery: z.number().int().positive().default(10),
});

const Eval = z.strictObject({
  every: z.number().int().positive().default(150),
  /** Validation windows of seqLen tokens, the same every time. */
  windows: z.number().int().positive().default(64),
});

const Checkpoint = z.strictObject({
  every: z.number().int().nonnegative().default(300),
  keep: z.number().int().positive().default(2),
});

const Backend = z.strictObject({
  /** "onnx": each training step is traced once, compiled to an ONNX model and run by ONNX Runtime; eval and sampling stay eager on wasm. */
  name: z.enum(["wasm", "reference", "onnx"]).default("wasm"),
  /**
   * Threads for the wasm backend (default: all cores), and ONNX Runtime's intra-op threads. On
   * wasm results do not depend on it; ONNX Runtime's sums split by thread, so onnx runs repeat
   * bit for bit at one thread count.
   */
  threads: z.number().int().positive().optional(),
  // The fields below are optional (absent, not defaulted) so that configs without them keep their hash.
  /** ONNX Runtime execution provider for backend "onnx" (default "cpu"); "cuda" needs CUDA 12 + cuDNN 9 and ONNXRUNTIME_NODE_INSTALL=cuda12. */
  provider: z.enum(["cpu", "cuda", "webgpu"]).optional(),
  /** Training steps per ONNX Runtime call for backend "onnx" (an ONNX Loop over K batches; default 1). */
  stepsPerCall: z.number().int().positive().optional(),
  /**
   * Backend "onnx": ONNX Runtime's idle threads spin between ops (default false). On a machine
   * left to the run, faster (a gpt-small step on 2 cores: 7–11 %); on busy cores much slower.
   */
  spin: z.boolean().optional(),
});

export const ConfigSchema = z.strictObject({
  /** Run name: the run directory is runDir/name (default: derived from the config hash). */
  name: z.string().optional(),
  runDir: z.string().default("runs"),
  seed: z.number().int().nonnegative().default(1337),
  model: Model.prefault({}),
  data: Data.prefault({}),
  optim: Optim.prefault({}),
  train: Train.prefault({}),
  eval: Eval.prefault({}),
  checkpoint: Checkpoint.prefault({}),
  backend: Backend.prefault({}),
  sample: z.strictObject({ prompt: z.string().default("The "), tokens: z.number().int().nonnegative().default(200), temperature: z.number().positive().default(0.8), topK: z.number().int().nonnegative().default(40) }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
