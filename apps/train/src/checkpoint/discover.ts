import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { DONE_FILE, SIDECAR_FILE, stepOfName } from "./layout.js";

export interface CheckpointEntry {
  step: number;
  dir: string;
}

/**
 * Complete checkpoints under `dir`, oldest first. Complete = a `step-N` folder (temp folders
 * never match the name) holding its sidecar and DONE marker.
 */
export function listCheckpoints(dir: string): CheckpointEntry[] {
  const root = resolve(dir);
  if (!existsSync(root)) return [];
  const out: CheckpointEntry[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const step = e.isDirectory() ? stepOfName(e.name) : undefined;
    const p = join(root, e.name);
    if (step !== undefined && existsSync(join(p, DONE_FILE)) && existsSync(join(p, SIDECAR_FILE))) out.push({ step, dir: p });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint folder, or undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  return listCheckpoints(dir).at(-1)?.dir;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Deletes all but the newest `keepLast` complete checkpoints, and temp folders left by writers
 * that are no longer running. Incomplete `step-N` folders are left alone (ignored by readers).
 * Returns the deleted folders.
 */
export function pruneCheckpoints(dir: string, keepLast: number): string[] {
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new RangeError(`pruneCheckpoints: keepLast must be a positive integer, got ${keepLast}`);
  const root = resolve(dir);
  const removed = listCheckpoints(root)
    .slice(0, -keepLast)
    .map((c) => c.dir);
  for (const e of existsSync(root) ? readdirSync(root) : []) {
    const m = /^\.step-\d+\.tmp-(\d+)-/.exec(e);
    if (m && !alive(Number(m[1]))) removed.push(join(root, e));
  }
  for (const d of removed) rmSync(d, { recursive: true, force: true });
  return removed;
}
