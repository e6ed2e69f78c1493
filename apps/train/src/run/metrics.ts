import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { writeFileAtomic } from "../checkpoint/atomic.js";

/** One line of metrics.jsonl. Non-finite numbers are written as "NaN" / "Infinity" / "-Infinity" strings. */
export type MetricRecord = Record<string, unknown>;

export interface MetricsWriter {
  readonly path: string;
  /** Appends one line; it is in the file (the OS's cache) when write returns. */
  write(record: MetricRecord): void;
  close(): void;
}

export interface MetricsOptions {
  /** fsync after every line: survives power loss, not just a process crash (slower). */
  fsync?: boolean;
  /** On resume: drop lines whose `step` is greater (they will be produced again). */
  truncateAfterStep?: number;
}

const NONFINITE = new Set(["NaN", "Infinity", "-Infinity"]);
const replacer = (_k: string, v: unknown): unknown => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v);
const reviver = (_k: string, v: unknown): unknown => (typeof v === "string" && NONFINITE.has(v) ? Number(v) : v);

/**
 * Opens metrics.jsonl for appending. Each `write` is one synchronous `writeSync` of a whole
 * line, so a crash loses nothing already written (a loss of NaN is kept, as "NaN").
 */
export function openMetrics(path: string, opts: MetricsOptions = {}): MetricsWriter {
  if (opts.truncateAfterStep !== undefined && existsSync(path)) {
    const keep = readMetrics(path).filter((r) => !(typeof r.step === "number" && r.step > opts.truncateAfterStep!));
    writeFileAtomic(path, keep.map((r) => JSON.stringify(r, replacer) + "\n").join(""));
  }
  let fd: number | undefined = openSync(path, "a");
  return {
    path,
    write(record) {
      if (fd === undefined) throw new Error(`metrics ${path}: write after close`);
      writeSync(fd, JSON.stringify(record, replacer) + "\n");
      if (opts.fsync) fsyncSync(fd);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Parses metrics.jsonl; a torn last line (crash mid-write) is skipped, a bad line elsewhere is an error. */
export function readMetrics(path: string): MetricRecord[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const out: MetricRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line, reviver) as MetricRecord);
    } catch {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== "")) throw new Error(`metrics ${path}: line ${i + 1} is not JSON`);
    }
  });
  return out;
}

/** (x, y) points of one metric, e.g. metricSeries(records, "val_loss") for a plot; missing / non-finite y skipped. */
export function metricSeries(records: readonly MetricRecord[], key: string, x = "step"): [number, number][] {
  const out: [number, number][] = [];
  for (const r of records) {
    const xv = r[x];
    const yv = r[key];
    if (typeof xv === "number" && typeof yv === "number" && Number.isFinite(yv)) out.push([xv, yv]);
  }
  return out;
}
