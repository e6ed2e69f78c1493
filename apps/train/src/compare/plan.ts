import { TABLES, tableVariants } from "@equigrad/optim";
import { ConfigError } from "../config/load.js";

/** What `train compare` varies: tables, router variants (tables that have that slot) and lr scales. */
export interface CompareOptions {
  tables: readonly string[];
  /** Router variants; applied to each table with a `router` slot, the others run once. */
  routerVariants?: readonly string[];
  /** lr scales (optim.lrScale): each multiplies every entry's lr of the table. Default [1]. */
  lrs?: readonly number[];
  /** Train nothing: report the planned runs already finished in the folder (e.g. after runs split over processes). */
  reportOnly?: boolean;
}

/** One training run of a comparison. */
export interface CompareRun {
  /** Directory name inside the comparison folder, e.g. `symmetry-router_left-lr0.5`. */
  name: string;
  /** Legend label, e.g. `symmetry/left ×0.5`. */
  label: string;
  table: string;
  variants: Record<string, string>;
  lrScale: number;
}

/** The runs of a comparison, in a fixed order (table, variant, lr), each checked up front. */
export function comparePlan(opts: CompareOptions): CompareRun[] {
  const problems: string[] = [];
  const tables = [...new Set(opts.tables)];
  if (!tables.length) problems.push("--tables: give at least one table");
  for (const t of tables) if (!(t in TABLES)) problems.push(`--tables: unknown table '${t}'; ready tables: ${Object.keys(TABLES).join(", ")}`);
  const lrs = opts.lrs?.length ? [...new Set(opts.lrs)] : [1];
  for (const s of lrs) if (!(s > 0 && Number.isFinite(s))) problems.push(`--lrs: lr scales must be positive numbers, got ${s}`);
  const routers = opts.routerVariants ?? [];
  const withRouter = tables.filter((t) => t in TABLES && "router" in tableVariants(t));
  if (routers.length && !withRouter.length) problems.push(`--router-variants: none of the tables ${tables.join(", ")} has a router slot (symmetry has)`);
  for (const t of withRouter) for (const v of routers) if (!tableVariants(t).router!.includes(v)) problems.push(`--router-variants: table '${t}' has no router variant '${v}'; choose among ${tableVariants(t).router!.join(", ")}`);
  if (problems.length) throw new ConfigError(problems.join("\n"));

  const runs: CompareRun[] = [];
  for (const table of tables) {
    const variants: Record<string, string>[] = routers.length && withRouter.includes(table) ? routers.map((v) => ({ router: v })) : [{}];
    for (const v of variants) {
      for (const lrScale of lrs) {
        const tag = Object.entries(v).map(([k, x]) => `-${k}_${x}`).join("");
        const vlabel = Object.values(v).map((x) => `/${x}`).join("");
        runs.push({ name: `${table}${tag}-lr${lrScale}`, label: `${table}${vlabel}${lrs.length > 1 ? ` ×${lrScale}` : ""}`, table, variants: v, lrScale });
      }
    }
  }
  return runs;
}

/** "a,b, c" → ["a", "b", "c"]. */
export const splitList = (s: string | undefined): string[] => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean);
