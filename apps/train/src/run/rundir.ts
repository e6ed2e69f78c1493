import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../checkpoint/atomic.js";
import { collectEnv, type EnvInfo } from "./env.js";
import { hashConfig } from "./hash.js";

export interface RunDirOptions {
  /** Parent folder (default "runs"). */
  root?: string;
  /** Folder name (default: a UTC timestamp, `run-20250131-142501`, suffixed -2, -3... if taken). */
  name?: string;
  /** The resolved config: written to config.json, hashed to config.sha256. */
  config: unknown;
  backend: string;
  threads: number;
  /** The config's hash, when the caller hashes only part of it (default: hash of the whole config). */
  configHash?: string;
  /** Reopen an existing run (its config hash must match); otherwise an existing name is an error. */
  resume?: boolean;
}

/** Paths of one run; every writer in the app takes them from here. */
export interface RunDir {
  name: string;
  dir: string;
  configHash: string;
  env: EnvInfo;
  /** True when an existing run was reopened. */
  resumed: boolean;
  /** Folder for saveCheckpoint / latestCheckpoint. */
  checkpoints: string;
  metrics: string;
  report: string;
  samples: string;
  plots: string;
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

function freeName(root: string, base: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!existsSync(join(root, name))) return name;
  }
}

/**
 * Creates `root/<name>/` with config.json (the resolved config), config.sha256 and env.json,
 * or reopens it with `resume` (checking the config hash; the new environment goes to
 * env-resume-<time>.json so the first one is kept).
 */
export function createRunDir(opts: RunDirOptions): RunDir {
  const root = resolve(opts.root ?? "runs");
  if (opts.name !== undefined && !/^[A-Za-z0-9._-]+$/.test(opts.name)) throw new Error(`run name '${opts.name}' may use only letters, digits, '.', '_' and '-'`);
  const name = opts.name ?? freeName(root, `run-${stamp(new Date())}`);
  const dir = join(root, name);
  const configHash = opts.configHash ?? hashConfig(opts.config);
  const env = collectEnv({ backend: opts.backend, threads: opts.threads });
  const configFile = join(dir, "config.json");
  const exists = existsSync(configFile);
  if (exists && !opts.resume) throw new Error(`run directory ${dir} already holds a run: resume it, or choose another run name`);
  if (!exists && opts.resume) throw new Error(`cannot resume ${dir}: it holds no run (no config.json)`);
  if (exists) {
    const saved = readFileSync(join(dir, "config.sha256"), "utf8").trim();
    if (saved !== configHash) {
      throw new Error(`cannot resume ${dir}: its config hash is ${saved}, the current config's is ${configHash}; the config changed since the run started — start a new run instead`);
    }
    writeFileAtomic(join(dir, `env-resume-${stamp(new Date())}.json`), JSON.stringify(env, null, 2) + "\n");
  } else {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, "env.json"), JSON.stringify(env, null, 2) + "\n");
    writeFileAtomic(join(dir, "config.sha256"), configHash + "\n");
    // Written last: its presence marks the folder as a run (see `exists` above).
    writeFileAtomic(configFile, JSON.stringify(opts.config, null, 2) + "\n");
  }
  const run: RunDir = {
    name,
    dir,
    configHash,
    env,
    resumed: exists,
    checkpoints: join(dir, "checkpoints"),
    metrics: join(dir, "metrics.jsonl"),
    report: join(dir, "report.md"),
    samples: join(dir, "samples"),
    plots: join(dir, "plots"),
  };
  for (const d of [run.checkpoints, run.samples, run.plots]) mkdirSync(d, { recursive: true });
  return run;
}
