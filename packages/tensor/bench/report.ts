/** Benchmark output: an aligned table for people and one JSON line per figure for tools. */
export interface Figure {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly threads: number;
  readonly [param: string]: unknown;
}

export function report(figures: readonly Figure[], title: string): void {
  console.log(`\n## ${title}`);
  const rows = figures.map((f) => {
    const params = Object.entries(f)
      .filter(([k]) => !["bench", "value", "unit", "threads"].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return [f.bench, params, `${f.threads}`, `${f.value.toPrecision(4)} ${f.unit}`];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["bench", "params", "threads", "median"][i]!.length));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(line(["bench", "params", "threads", "median"]));
  for (const r of rows) console.log(line(r));
  for (const f of figures) console.log(JSON.stringify(f));
}

/** Median wall time in ms of `fn` over `reps` runs after `warmup` runs. */
export function medianMs(fn: () => void, reps = 7, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
