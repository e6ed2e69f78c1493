/**
 * Learning-rate schedules as multipliers of a rule's base lr, functions of the 0-based index
 * of the update being made (the rule's step count before it): lr_t = lr · schedule(t).
 * Specs are plain data so that an experiment config can name them.
 */
export type Schedule = (step: number) => number;

export type ScheduleSpec =
  | { kind: "constant" }
  | { kind: "linear-warmup"; warmupSteps: number }
  | { kind: "cosine"; totalSteps: number; warmupSteps?: number; floor?: number }
  | { kind: "wsd"; totalSteps: number; warmupSteps?: number; decayFraction?: number; floor?: number };

export const constant = (): Schedule => () => 1;

/** Linear ramp (t+1)/w over the first w updates, then 1: the first update is not wasted at 0. */
export function linearWarmup(warmupSteps: number): Schedule {
  checkInt("linear-warmup", "warmupSteps", warmupSteps);
  return (t) => warm(t, warmupSteps);
}

/** Warmup, then half a cosine from 1 down to `floor` (a fraction of the peak) at totalSteps. */
export function cosine(opts: { totalSteps: number; warmupSteps?: number; floor?: number }): Schedule {
  const { totalSteps: total, warmupSteps: w = 0, floor = 0 } = opts;
  checkInt("cosine", "warmupSteps", w);
  checkInt("cosine", "totalSteps", total);
  checkFraction("cosine", "floor", floor);
  if (total <= w) throw new Error(`cosine schedule: totalSteps (${total}) must exceed warmupSteps (${w})`);
  return (t) => {
    if (t < w) return warm(t, w);
    const p = Math.min(1, (t - w) / (total - w));
    return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * p));
  };
}

/**
 * Warmup-stable-decay: warmup, constant, then a linear decay to `floor` over the last
 * `decayFraction` of totalSteps (default 0.4), reaching the floor at totalSteps.
 */
export function wsd(opts: { totalSteps: number; warmupSteps?: number; decayFraction?: number; floor?: number }): Schedule {
  const { totalSteps: total, warmupSteps: w = 0, decayFraction = 0.4, floor = 0 } = opts;
  checkInt("wsd", "warmupSteps", w);
  checkInt("wsd", "totalSteps", total);
  checkFraction("wsd", "floor", floor);
  if (!(decayFraction > 0 && decayFraction <= 1)) throw new Error(`wsd schedule: decayFraction must be in (0, 1], got ${decayFraction}`);
  const start = total * (1 - decayFraction);
  if (w > start) throw new Error(`wsd schedule: warmupSteps (${w}) must end before the decay starts at step ${start}`);
  return (t) => {
    if (t < w) return warm(t, w);
    if (t < start) return 1;
    return 1 - (1 - floor) * Math.min(1, (t - start) / (total - start));
  };
}

const KEYS: Record<ScheduleSpec["kind"], readonly string[]> = {
  constant: [],
  "linear-warmup": ["warmupSteps"],
  cosine: ["totalSteps", "warmupSteps", "floor"],
  wsd: ["totalSteps", "warmupSteps", "decayFraction", "floor"],
};

/** A schedule from a spec (validated: unknown kinds and fields are errors) or a function. */
export function schedule(spec: ScheduleSpec | Schedule): Schedule {
  if (typeof spec === "function") return spec;
  if (spec === null || typeof spec !== "object" || !(spec.kind in KEYS)) {
    throw new Error(`schedule: unknown kind ${JSON.stringify((spec as { kind?: unknown } | null)?.kind)}; expected one of ${Object.keys(KEYS).join(", ")}`);
  }
  const extra = Object.keys(spec).filter((k) => k !== "kind" && !KEYS[spec.kind].includes(k));
  if (extra.length > 0) throw new Error(`${spec.kind} schedule: unknown field ${extra.join(", ")}; known: ${KEYS[spec.kind].join(", ") || "none"}`);
  switch (spec.kind) {
    case "constant":
      return constant();
    case "linear-warmup":
      return linearWarmup(spec.warmupSteps);
    case "cosine":
      return cosine(spec);
    case "wsd":
      return wsd(spec);
  }
}

const warm = (t: number, w: number): number => (t < w ? (t + 1) / w : 1);

function checkInt(kind: string, field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new Error(`${kind} schedule: ${field} must be a non-negative integer, got ${String(v)}`);
}

function checkFraction(kind: string, field: string, v: unknown): void {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new Error(`${kind} schedule: ${field} must be in [0, 1], got ${String(v)}`);
}
