import { loadConfig } from "../config/load.js";
import { splitList } from "./plan.js";
import { compare } from "./run.js";

export interface CompareFlags {
  tables: string;
  routerVariants?: string;
  lrs?: string;
  reportOnly?: boolean;
  set: string[];
}

/** `train compare <config> --tables a,b --router-variants x,y --lrs 0.5,1`: prints where the comparison is and its table. */
export async function compareCommand(file: string | undefined, o: CompareFlags): Promise<void> {
  const loaded = await loadConfig(file, o.set);
  const lrs = splitList(o.lrs).map(Number);
  const r = await compare(loaded, { tables: splitList(o.tables), routerVariants: splitList(o.routerVariants), lrs, reportOnly: o.reportOnly });
  console.log(`\ncomparison in ${r.dir} (compare.md, val_loss.svg):`);
  for (const run of r.runs) console.log(`  ${run.label.padEnd(28)} val ${Number.isFinite(run.valLoss) ? run.valLoss.toFixed(4) : run.status}`);
}
