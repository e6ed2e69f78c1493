import { schedule, type Schedule, type ScheduleSpec } from "./schedules.js";

/** Hyperparameters as an experiment config gives them: plain data, checked by each rule. */
export type Hyper = Readonly<Record<string, unknown>>;

type Default = number | boolean | readonly number[] | ScheduleSpec | Schedule;
type Read<D> = {
  [K in keyof D]: D[K] extends number ? number : D[K] extends boolean ? boolean : D[K] extends readonly number[] ? readonly number[] : Schedule;
};

/**
 * Merges `given` over `defaults`, failing on unknown keys (with a did-you-mean for snake_case
 * and case slips such as weight_decay) and on values whose type differs from the default's.
 * A key named `schedule` takes a schedule spec or function and comes back as a function.
 */
export function readHyper<D extends Record<string, Default>>(rule: string, given: Hyper | undefined, defaults: D): Read<D> {
  const known = Object.keys(defaults);
  const problems: string[] = [];
  for (const k of Object.keys(given ?? {})) {
    if (known.includes(k)) continue;
    const near = known.find((n) => squash(n) === squash(k));
    problems.push(`unknown hyperparameter '${k}'${near ? ` (did you mean '${near}'?)` : ""}; known: ${known.join(", ")}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of known) {
    const d = defaults[k]!;
    const v = given?.[k] ?? d;
    if (k === "schedule") {
      try {
        out[k] = schedule(v as ScheduleSpec | Schedule);
      } catch (e) {
        problems.push((e as Error).message);
      }
    } else if (Array.isArray(d)) {
      const ok = Array.isArray(v) && v.length === d.length && v.every((x) => typeof x === "number" && Number.isFinite(x));
      if (!ok) problems.push(`'${k}' must be ${d.length} numbers, got ${JSON.stringify(v)}`);
      out[k] = v;
    } else {
      const ok = typeof v === typeof d && (typeof v !== "number" || Number.isFinite(v));
      if (!ok) problems.push(`'${k}' must be a ${typeof d === "number" ? "finite number" : typeof d}, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
  }
  if (problems.length > 0) throw new Error(`${rule}: ${problems.join("; ")}`);
  return out as Read<D>;
}

/** Fails with `rule: name must be …` unless ok. */
export function check(rule: string, ok: boolean, message: string): void {
  if (!ok) throw new Error(`${rule}: ${message}`);
}

const squash = (s: string): string => s.replace(/[_-]/g, "").toLowerCase();
