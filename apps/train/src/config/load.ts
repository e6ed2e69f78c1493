import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { hashConfig } from "../run/hash.js";
import { ConfigSchema, type Config } from "./schema.js";

/** A config problem, with every offending field and what to do about it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  config: Config;
  /** First 12 hex digits of the SHA-256 of the resolved config's canonical JSON. */
  hash: string;
  source: string;
}

/**
 * The config without the fields that cannot change what a run computes (where it is written,
 * threads — results do not depend on them —, time limits, logging and checkpoint cadence, the
 * final sample): a run may be resumed with these changed.
 */
export function resultFields(config: Config): unknown {
  const { name: _n, runDir: _r, sample: _s, checkpoint: _c, ...rest } = config;
  const { threads: _t, ...backend } = config.backend;
  const { maxSeconds: _m, logEvery: _l, ...train } = config.train;
  const { cacheDir: _d, ...data } = config.data;
  return { ...rest, backend, train, data };
}

/** SHA-256 of the canonical JSON of the result-determining fields. */
export const fullConfigHash = (config: Config): string => hashConfig(resultFields(config));

/** Its first 12 hex digits: names unnamed runs and keys checkpoints. */
export const configHash = (config: Config): string => fullConfigHash(config).slice(0, 12);

/** Reads a .json, .js/.mjs (default export) or .ts config file. */
async function readConfigFile(path: string): Promise<unknown> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(`config file not found: ${path}`);
  if (abs.endsWith(".json")) {
    try {
      return JSON.parse(readFileSync(abs, "utf8"));
    } catch (e) {
      throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (abs.endsWith(".ts")) {
    // Bundled (with whatever it imports) into one module, so shared parts of configs work.
    const { build } = await import("esbuild");
    let code: string;
    try {
      const out = await build({ entryPoints: [abs], bundle: true, format: "esm", platform: "node", write: false, logLevel: "silent" });
      code = out.outputFiles[0]!.text;
    } catch (e) {
      throw new ConfigError(`config file ${path} does not compile: ${(e as Error).message.split("\n").slice(0, 3).join(" ")}`);
    }
    const url = `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
    return ((await import(url)) as { default: unknown }).default;
  }
  if (abs.endsWith(".js") || abs.endsWith(".mjs")) return ((await import(pathToFileURL(abs).href)) as { default: unknown }).default;
  throw new ConfigError(`config file ${path}: expected a .json, .js, .mjs or .ts file`);
}

/** Applies `a.b.c=value` (value parsed as JSON when it parses, else taken as a string). */
export function applySet(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--set ${assignment}: expected path=value, e.g. --set optim.lr=3e-4`);
  const path = assignment.slice(0, eq).split(".");
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== "object" || next === null || Array.isArray(next)) throw new ConfigError(`--set ${assignment}: ${key} is not an object`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function describe(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      // An unknown field is named by its full path (`train.stpes`), not by its parent.
      if (i.code === "unrecognized_keys") return i.keys.map((k) => `  ${[...i.path, k].join(".")}: unknown field`).join("\n");
      const path = i.path.join(".") || "(root)";
      return `  ${path}: ${i.message}`;
    })
    .join("\n");
}

/** Validates a raw config object; throws a ConfigError listing every bad field. */
export function resolveConfig(raw: unknown, source = "config"): LoadedConfig {
  const parsed = ConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`invalid ${source}:\n${describe(parsed.error.issues)}\nFix these fields in the file or with --set path=value (see \`train --help\`).`);
  }
  return { config: parsed.data, hash: configHash(parsed.data), source };
}

/** Loads a config file (or the built-in defaults when none is given) and applies --set overrides. */
export async function loadConfig(path: string | undefined, sets: readonly string[] = []): Promise<LoadedConfig> {
  const file = (path ? await readConfigFile(path) : {}) as Record<string, unknown>;
  if (typeof file !== "object" || file === null || Array.isArray(file)) throw new ConfigError(`config ${path}: expected an object at the top level`);
  // A copy: --set must not change a .js/.ts module's export, which later imports of the file share.
  let raw: Record<string, unknown>;
  try {
    raw = structuredClone(file);
  } catch (e) {
    throw new ConfigError(`config ${path}: expected plain data (objects, arrays, strings, numbers, booleans): ${(e as Error).message}`);
  }
  for (const s of sets) applySet(raw, s);
  return resolveConfig(raw, path ? `config ${path}` : "built-in config");
}
