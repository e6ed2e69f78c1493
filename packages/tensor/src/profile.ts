/** Time spent per primitive, collected by the dispatch point while a profile is active. */
export interface OpProfile {
  readonly op: string;
  readonly calls: number;
  readonly ms: number;
}

let active: Map<string, { calls: number; ms: number }> | null = null;

/** @internal Called by dispatch around each primitive. */
export function recordOp(op: string, ms: number): void {
  const e = active!.get(op);
  if (e) (e.calls++, (e.ms += ms));
  else active!.set(op, { calls: 1, ms });
}

export const profiling = (): boolean => active !== null;

/**
 * Runs fn and returns its result with the wall time spent in each primitive (kernel time,
 * including waiting for worker threads), largest first.
 */
export function profile<T>(fn: () => T): [T, OpProfile[]] {
  const outer = active;
  active = new Map();
  try {
    const result = fn();
    const table = [...active].map(([op, e]) => ({ op, ...e })).sort((a, b) => b.ms - a.ms);
    return [result, table];
  } finally {
    active = outer;
  }
}

/** The profile as aligned text lines with each op's share of the total. */
export function formatProfile(table: readonly OpProfile[]): string {
  const total = table.reduce((s, e) => s + e.ms, 0);
  return table
    .map((e) => `${e.op.padEnd(14)} ${String(e.calls).padStart(7)} calls ${e.ms.toFixed(1).padStart(9)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%`)
    .join("\n");
}
