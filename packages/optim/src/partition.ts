import { globMatch } from "./glob.js";
import type { Hyper } from "./hyper.js";
import type { RuleRegistry } from "./registry.js";
import { rules } from "./rules/index.js";
import type { Grads, Param, State, Transform, Updates } from "./transform.js";

/** Which parameters a table entry takes: role and path globs; with both, a parameter must match both. */
export interface Match {
  readonly roles?: readonly string[];
  readonly paths?: readonly string[];
}

/** One row of the experiment config's optimizer table. */
export interface TableEntry {
  readonly match: Match;
  /** A name in the rule registry. */
  readonly rule: string;
  readonly hyper?: Hyper;
  /** Keys the entry's state and logged lr; default: the rule name, `rule#k` when several entries share it. */
  readonly name?: string;
}

/** A table entry resolved against the parameters. */
export interface Group {
  readonly label: string;
  readonly rule: string;
  /** Position in the table (for messages only: state is keyed by label and path). */
  readonly entry: number;
  readonly paths: readonly string[];
  readonly roles: readonly string[];
  readonly transform: Transform;
}

export type PartitionState = { readonly [label: string]: State };

export interface Partition extends Transform<PartitionState> {
  readonly groups: readonly Group[];
}

/** Every way a table fails to fit the parameters, in one error. */
export class PartitionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`optimizer table does not fit the parameters (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PartitionError";
  }
}

/**
 * Assigns each parameter the rule of the one table entry that matches it (Optax `partition`
 * fed by an explicit table). Building fails with a PartitionError listing every problem:
 * parameters matched by no entry or by several, entries that match nothing, unknown rules,
 * bad hyperparameters, and parameters whose rank the rule does not accept.
 */
export function partition(table: readonly TableEntry[], params: readonly Param[], opts: { registry?: RuleRegistry } = {}): Partition {
  const registry = opts.registry ?? rules;
  const problems: string[] = [];
  const where = (i: number): string => describeEntry(table[i]!, i);

  checkPaths(params, problems);
  const wellFormed = table.map((e, i) => checkEntry(e, i, registry, problems));

  // Which entries each parameter matches.
  const matchedBy = new Map<string, number[]>();
  const members: Param[][] = table.map(() => []);
  for (const p of params) {
    const hits = table.flatMap((e, i) => (wellFormed[i] && matches(e.match, p) ? [i] : []));
    matchedBy.set(p.path, hits);
    for (const i of hits) members[i]!.push(p);
  }
  for (const p of params) {
    const hits = matchedBy.get(p.path)!;
    if (hits.length === 0) problems.push(`parameter '${p.path}' (role ${p.role}, shape [${p.value.shape.join(", ")}]) matches no entry`);
    if (hits.length > 1) problems.push(`parameter '${p.path}' (role ${p.role}) matches ${hits.length} entries: ${hits.map(where).join(", ")}`);
  }
  table.forEach((e, i) => {
    if (wellFormed[i] && members[i]!.length === 0) problems.push(`${where(i)} matches no parameter`);
    const ranks = registry.get(e.rule)?.ranks;
    if (!ranks) return;
    for (const p of members[i]!) {
      if (!ranks.includes(p.value.ndim)) {
        problems.push(`${where(i)}: rule '${e.rule}' accepts rank ${ranks.join(" or ")}, but '${p.path}' has shape [${p.value.shape.join(", ")}] (rank ${p.value.ndim})`);
      }
    }
  });

  const labels = labelEntries(table, problems);
  const groups: Group[] = [];
  table.forEach((e, i) => {
    const spec = wellFormed[i] ? registry.get(e.rule) : undefined;
    if (!spec) return;
    try {
      const transform = spec.create(e.hyper ?? {}, { label: labels[i]!, params: members[i]! });
      const paths = members[i]!.map((p) => p.path);
      groups.push({ label: labels[i]!, rule: e.rule, entry: i, paths, roles: [...new Set(members[i]!.map((p) => p.role))], transform });
    } catch (err) {
      problems.push(`${where(i)}: ${(err as Error).message}`);
    }
  });
  if (problems.length > 0) throw new PartitionError(problems);

  const known = new Set(params.map((p) => p.path));
  const split = (ps: readonly Param[]): Map<string, Param[]> => {
    const given = new Map(ps.map((p) => [p.path, p]));
    const missing = [...known].filter((k) => !given.has(k));
    const extra = [...given.keys()].filter((k) => !known.has(k));
    if (missing.length + extra.length > 0) {
      throw new Error(`partition: parameters differ from those it was built for:${missing.length ? ` missing ${missing.join(", ")};` : ""}${extra.length ? ` unknown ${extra.join(", ")}` : ""}`);
    }
    return new Map(groups.map((g) => [g.label, g.paths.map((k) => given.get(k)!)]));
  };

  return {
    name: "partition",
    groups,
    init(ps) {
      const byGroup = split(ps);
      return Object.fromEntries(groups.map((g) => [g.label, g.transform.init(byGroup.get(g.label)!)]));
    },
    update(grads: Grads, state: PartitionState, ps: readonly Param[]): [Updates, PartitionState] {
      const byGroup = split(ps);
      const missing = [...known].filter((k) => grads[k] === undefined);
      const extra = Object.keys(grads).filter((k) => !known.has(k));
      if (missing.length + extra.length > 0) {
        throw new Error(`partition: gradients do not match the parameters:${missing.length ? ` none for ${missing.join(", ")};` : ""}${extra.length ? ` unknown ${extra.join(", ")}` : ""}`);
      }
      const updates: Updates = {};
      const next: Record<string, State> = {};
      for (const g of groups) {
        const s = state[g.label];
        if (s === undefined) throw new Error(`partition: the state has no part '${g.label}'`);
        const sub = Object.fromEntries(g.paths.map((k) => [k, grads[k]!]));
        const [u, ns] = g.transform.update(sub, s, byGroup.get(g.label)!);
        Object.assign(updates, u);
        next[g.label] = ns;
      }
      return [updates, next];
    },
    learningRates(state: PartitionState): Record<string, number> {
      const out: Record<string, number> = {};
      for (const g of groups) {
        const lrs = Object.entries(g.transform.learningRates?.(state[g.label]!) ?? {});
        for (const [k, v] of lrs) out[lrs.length === 1 ? g.label : `${g.label}/${k}`] = v;
      }
      return out;
    },
  };
}

function matches(m: Match, p: Param): boolean {
  return (m.roles === undefined || m.roles.some((r) => globMatch(r, p.role))) && (m.paths === undefined || m.paths.some((g) => globMatch(g, p.path)));
}

function checkPaths(params: readonly Param[], problems: string[]): void {
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.path)) problems.push(`parameter path '${p.path}' appears twice; paths key gradients and state, so they must be unique`);
    if (p.path === "" || p.path.includes("/")) problems.push(`parameter path '${p.path}' is empty or contains '/', which separates state record keys`);
    seen.add(p.path);
  }
}

/** Whether the entry can be matched at all; its problems go to `problems`. */
function checkEntry(e: TableEntry, i: number, registry: RuleRegistry, problems: string[]): boolean {
  let ok = true;
  const at = `table[${i}]`;
  if (typeof e.rule !== "string" || !registry.get(e.rule)) {
    problems.push(`${at}: unknown rule '${String(e.rule)}'; registered: ${registry.names().join(", ")}`);
  }
  const m = e.match as Match | undefined;
  const list = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === "string" && s !== ""));
  if (!m || typeof m !== "object" || !list(m.roles) || !list(m.paths)) {
    problems.push(`${at}: match must be { roles?: string[], paths?: string[] } with non-empty strings`);
    ok = false;
  } else if (!m.roles?.length && !m.paths?.length) {
    problems.push(`${at}: match names no roles and no paths`);
    ok = false;
  } else {
    const extra = Object.keys(m).filter((k) => k !== "roles" && k !== "paths");
    if (extra.length) problems.push(`${at}: unknown match field ${extra.join(", ")}; known: roles, paths`);
  }
  if (e.name !== undefined && (typeof e.name !== "string" || e.name === "" || e.name.includes("/"))) {
    problems.push(`${at}: name must be a non-empty string without '/', got ${JSON.stringify(e.name)}`);
  }
  return ok;
}

function labelEntries(table: readonly TableEntry[], problems: string[]): string[] {
  const uses = new Map<string, number>();
  for (const e of table) if (e.name === undefined) uses.set(e.rule, (uses.get(e.rule) ?? 0) + 1);
  const seen = new Map<string, number>();
  const kth = new Map<string, number>();
  return table.map((e, i) => {
    let label = e.name;
    if (label === undefined) {
      const k = (kth.get(e.rule) ?? 0) + 1;
      kth.set(e.rule, k);
      label = uses.get(e.rule)! > 1 ? `${e.rule}#${k}` : e.rule;
    }
    const prev = seen.get(label);
    if (prev !== undefined) problems.push(`table[${prev}] and table[${i}] share the label '${label}' (it keys their state); give them distinct names`);
    seen.set(label, i);
    return label;
  });
}

function describeEntry(e: TableEntry, i: number): string {
  const m = e.match ?? {};
  const parts = [String(e.rule)];
  if (m.roles?.length) parts.push(`roles ${m.roles.join(", ")}`);
  if (m.paths?.length) parts.push(`paths ${m.paths.join(", ")}`);
  return `table[${i}] (${parts.join("; ")})`;
}
