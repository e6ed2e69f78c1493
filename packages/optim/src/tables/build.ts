import { globMatch } from "../glob.js";
import type { Hyper } from "../hyper.js";
import type { Match, TableEntry } from "../partition.js";
import type { ScheduleSpec } from "../schedules.js";
import { TABLES, type EntryTemplate, type NamedTable, type RuleChoice } from "./data.js";
import { roleSchedule } from "./schedules.js";

/** The config's shared AdamW settings, which the `adamw` table follows. */
export interface BaseHyper {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly schedule: ScheduleSpec;
}

export interface TableOptions {
  /** Length of the run: the per-role schedules end there. */
  readonly steps: number;
  /** Variant per slot, e.g. { router: "left", mlp: "hybrid" }; unnamed slots take the table's default. */
  readonly variants?: Readonly<Record<string, string>>;
  /** Hyperparameters per entry name, merged over the table's (e.g. { router: { lr: 1e-3 } }). */
  readonly overrides?: Readonly<Record<string, Hyper>>;
  /** Multiplies every entry's lr (after overrides): an lr sweep of the whole table. Default 1. */
  readonly lrScale?: number;
  /** The model's parameters: entries matching none of them are left out (a dense model has no router). */
  readonly params?: readonly { readonly path: string; readonly role: string }[];
  /** Required by tables that inherit the shared AdamW settings (`adamw`). */
  readonly base?: BaseHyper;
}

/** A table that cannot be built as asked, with every problem in one message. */
export class TableError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `optimizer table:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "TableError";
  }
}

export const tableNames = (): string[] => Object.keys(TABLES);

/** The variant slots of a ready table and the variants each accepts. */
export function tableVariants(name: string): Record<string, string[]> {
  const t = named(name);
  const out: Record<string, string[]> = {};
  for (const e of t.entries) if ("slot" in e.use) out[e.use.slot] = [...new Set([...(out[e.use.slot] ?? []), ...Object.keys(e.use.options)])];
  return out;
}

/**
 * The entries of a ready table for one run: variants chosen, schedules filled in with the run's
 * length, shared settings inherited, overrides merged, lrs scaled, and entries that match no
 * parameter of the model left out. Every problem (unknown table, slot, variant or entry name,
 * an override of an entry this model does not have) is reported at once.
 */
export function buildTable(name: string, opts: TableOptions): TableEntry[] {
  const t = named(name);
  const problems: string[] = [];
  const variants = chooseVariants(t, opts.variants ?? {}, problems);
  const present = opts.params ? t.entries.filter((e) => opts.params!.some((p) => matches(e.match, p))) : t.entries;
  const names = new Set(present.map((e) => e.name));
  for (const k of Object.keys(opts.overrides ?? {})) {
    if (names.has(k)) continue;
    const absent = t.entries.some((e) => e.name === k);
    problems.push(absent ? `optim.overrides.${k}: table '${t.name}' has entry '${k}', but it matches no parameter of this model` : `optim.overrides.${k}: table '${t.name}' has no entry '${k}'; its entries: ${t.entries.map((e) => e.name).join(", ")}`);
  }
  const scale = opts.lrScale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) problems.push(`lrScale must be a positive number, got ${scale}`);
  const entries: TableEntry[] = [];
  for (const e of present) {
    const choice = choiceOf(e, variants);
    let hyper: Record<string, unknown>;
    try {
      hyper = { ...inherited(choice, opts.base), ...choice.hyper, schedule: scheduleOf(choice, opts) };
    } catch (err) {
      problems.push(`entry '${e.name}': ${(err as Error).message}`);
      continue;
    }
    Object.assign(hyper, opts.overrides?.[e.name] ?? {});
    if (typeof hyper.lr === "number") hyper.lr *= scale;
    entries.push({ name: e.name, match: e.match, rule: choice.rule, hyper });
  }
  if (problems.length) throw new TableError(problems);
  return entries;
}

/**
 * An explicit table from the config with the same per-entry overrides and lr scale: overrides
 * address entries by `name` (or by rule when the entry has no name).
 */
export function adjustTable(table: readonly TableEntry[], opts: Pick<TableOptions, "overrides" | "lrScale">): TableEntry[] {
  const key = (e: TableEntry): string => e.name ?? e.rule;
  const known = table.map(key);
  const problems = Object.keys(opts.overrides ?? {})
    .filter((k) => !known.includes(k))
    .map((k) => `optim.overrides.${k}: the explicit table has no entry named '${k}'; its entries: ${known.join(", ")}`);
  if (problems.length) throw new TableError(problems);
  const scale = opts.lrScale ?? 1;
  return table.map((e) => {
    const hyper: Record<string, unknown> = { ...(e.hyper ?? {}), ...(opts.overrides?.[key(e)] ?? {}) };
    if (typeof hyper.lr === "number" && scale !== 1) hyper.lr *= scale;
    return { ...e, hyper };
  });
}

function named(name: string): NamedTable {
  const t = TABLES[name];
  if (!t) throw new TableError([`unknown optimizer table '${name}'; ready tables: ${tableNames().join(", ")} (or give an explicit list of entries)`]);
  return t;
}

function chooseVariants(t: NamedTable, given: Readonly<Record<string, string>>, problems: string[]): Record<string, string> {
  const slots = tableVariants(t.name);
  for (const [slot, v] of Object.entries(given)) {
    if (!(slot in slots)) problems.push(`optim.variants.${slot}: table '${t.name}' has ${Object.keys(slots).length ? `only the variant slots ${Object.keys(slots).join(", ")}` : "no variant slots"}`);
    else if (!slots[slot]!.includes(v)) problems.push(`optim.variants.${slot}: unknown variant '${v}'; choose one of ${slots[slot]!.join(", ")}`);
  }
  return { ...t.defaults, ...Object.fromEntries(Object.entries(given).filter(([s, v]) => slots[s]?.includes(v))) };
}

function choiceOf(e: EntryTemplate, variants: Record<string, string>): RuleChoice {
  if (!("slot" in e.use)) return e.use as RuleChoice;
  const c = e.use.options[variants[e.use.slot]!];
  if (!c) throw new Error(`table entry '${e.name}': no rule for variant ${e.use.slot}=${variants[e.use.slot]}`);
  return c;
}

function inherited(c: RuleChoice, base: BaseHyper | undefined): Hyper {
  if (!c.inherit?.length) return {};
  if (!base) throw new Error("this table follows the config's shared AdamW settings (lr, betas, eps, weightDecay, schedule), but none were given");
  return Object.fromEntries(c.inherit.map((k) => [k, base[k]]));
}

function scheduleOf(c: RuleChoice, opts: TableOptions): ScheduleSpec {
  if (c.schedule !== "base") return roleSchedule(c.schedule, opts.steps);
  if (!opts.base) throw new Error("this table uses the config's shared schedule, but none was given");
  return opts.base.schedule;
}

function matches(m: Match, p: { path: string; role: string }): boolean {
  return (m.roles === undefined || m.roles.some((r) => globMatch(r, p.role))) && (m.paths === undefined || m.paths.some((g) => globMatch(g, p.path)));
}
