import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Tensor } from "@equigrad/tensor";
import { fsyncDir, tempSibling, writeFileDurable } from "./atomic.js";
import { fromHost, toHost } from "./host.js";
import { checkpointName, DONE_FILE, MODEL_FILE, OPTIM_FILE, SIDECAR_FILE } from "./layout.js";
import { pruneCheckpoints } from "./discover.js";
import { encodeSafetensors, readSafetensors, type HostTensor } from "./safetensors.js";

export const CHECKPOINT_FORMAT = "equigrad.checkpoint";
export const CHECKPOINT_VERSION = 1;

/** Optimizer-state numbers (step counts...) ride in optim.safetensors' metadata under this key, as JSON. */
const NUMBERS_KEY = "equigrad.numbers";

/** JSON values only: the sidecar must round-trip exactly. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface CheckpointInput {
  step: number;
  /** Parameters by path (`blocks.3.mlp.down.weight`). */
  params: Record<string, Tensor>;
  /** Optimizer state by key (`stateToRecord` from @equigrad/optim): tensors and numbers. */
  optim?: Record<string, Tensor | number>;
  /** Hash of the resolved config (checked on resume by the caller). */
  configHash: string;
  /** Everything else a resume needs (RNG counters, loader state { seed, step }...): JSON values only, checked. */
  state?: Record<string, unknown>;
  /** Summary for people (loss, tokens seen...); NaN / ±Infinity survive the round trip. */
  metrics?: { [k: string]: number };
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  step: number;
  configHash: string;
  state: { [k: string]: Json };
  metrics: { [k: string]: number };
  createdAt: string;
}

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  params: Record<string, Tensor>;
  optim: Record<string, Tensor | number>;
}

export interface SaveOptions {
  /** After saving, keep only the newest N complete checkpoints (default: keep all). */
  keepLast?: number;
}

/** Fails on what JSON would silently change: NaN, undefined, typed arrays, Maps, class instances. */
function assertJson(v: unknown, path: string): asserts v is Json {
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (Number.isFinite(v)) return;
  } else if (Array.isArray(v)) return v.forEach((x, i) => assertJson(x, `${path}[${i}]`));
  else if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) assertJson(x, `${path}.${k}`);
    return;
  }
  throw new Error(`saveCheckpoint: ${path} is ${String(v)} (${typeof v}); checkpoint state must be plain JSON (finite numbers, strings, booleans, null, arrays, objects)`);
}

// Metrics may be NaN (a diverged loss): stored as strings, revived on read.
const encodeMetrics = (m: { [k: string]: number }): { [k: string]: number | string } =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
const decodeMetrics = (m: { [k: string]: number | string }): { [k: string]: number } =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, Number(v)]));

const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

function optimFile(optim: Record<string, Tensor | number>): Uint8Array {
  const tensors: Record<string, HostTensor> = {};
  const numbers: Record<string, number> = {};
  for (const [k, v] of Object.entries(optim)) {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new Error(`saveCheckpoint: optimizer state '${k}' is ${v}; only finite numbers can be saved`);
      numbers[k] = v; // JSON round-trips every finite double exactly
    } else tensors[k] = toHost(v);
  }
  return encodeSafetensors(tensors, { [NUMBERS_KEY]: JSON.stringify(numbers) });
}

/**
 * Saves a checkpoint as `dir/step-XXXXXXXX/`: every file is written and fsynced in a temp
 * folder beside it, DONE last, then the folder is renamed into place. A crash at any moment
 * leaves either no checkpoint for this step or a complete one. Returns the checkpoint folder.
 */
export function saveCheckpoint(dir: string, input: CheckpointInput, opts: SaveOptions = {}): string {
  if (!Number.isSafeInteger(input.step) || input.step < 0) throw new RangeError(`saveCheckpoint: step must be a non-negative integer, got ${input.step}`);
  const state = input.state ?? {};
  assertJson(state, "state");
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const final = join(root, checkpointName(input.step));
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: input.step,
    configHash: input.configHash,
    state,
    metrics: input.metrics ?? {},
    createdAt: new Date().toISOString(),
  };
  // Encode before touching the disk: a bad value fails without leaving debris.
  const model = encodeSafetensors(mapValues(input.params, toHost));
  const optim = optimFile(input.optim ?? {});
  const tmp = tempSibling(final);
  mkdirSync(tmp);
  try {
    writeFileDurable(join(tmp, MODEL_FILE), model);
    writeFileDurable(join(tmp, OPTIM_FILE), optim);
    writeFileDurable(join(tmp, SIDECAR_FILE), JSON.stringify({ ...meta, metrics: encodeMetrics(meta.metrics) }, null, 2) + "\n");
    writeFileDurable(join(tmp, DONE_FILE), "");
    fsyncDir(tmp);
    // Re-saving a step replaces it; the old one is moved aside first (rename cannot replace a folder).
    if (existsSync(final)) {
      const old = tempSibling(final);
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, final);
    fsyncDir(root);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (opts.keepLast !== undefined) pruneCheckpoints(root, opts.keepLast);
  return final;
}

/** Reads the sidecar only (cheap: no tensors). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const file = join(dir, SIDECAR_FILE);
  if (!existsSync(join(dir, DONE_FILE))) throw new Error(`checkpoint ${dir} is incomplete (no ${DONE_FILE} marker): it was interrupted while being written; resume from an older one`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(file, "utf8")) as CheckpointMeta;
  } catch (e) {
    throw new Error(`checkpoint ${file}: cannot read the sidecar (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT || meta.version !== CHECKPOINT_VERSION) {
    throw new Error(`checkpoint ${file}: expected format ${CHECKPOINT_FORMAT} version ${CHECKPOINT_VERSION}, found ${String(meta.format)} version ${String(meta.version)}`);
  }
  return { ...meta, metrics: decodeMetrics(meta.metrics) };
}

/** Loads a checkpoint folder; tensors are created on the current backend. */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const meta = readCheckpointMeta(dir);
  const model = readSafetensors(join(dir, MODEL_FILE));
  const optim = readSafetensors(join(dir, OPTIM_FILE));
  const numbersJson = optim.metadata[NUMBERS_KEY] ?? "{}";
  let numbers: Record<string, number>;
  try {
    numbers = JSON.parse(numbersJson) as Record<string, number>;
  } catch {
    throw new Error(`checkpoint ${join(dir, OPTIM_FILE)}: metadata '${NUMBERS_KEY}' is not valid JSON`);
  }
  const state: Record<string, Tensor | number> = { ...mapValues(optim.tensors, fromHost), ...numbers };
  return { dir, meta, params: mapValues(model.tensors, fromHost), optim: state };
}
