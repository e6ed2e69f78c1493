import { join } from "node:path";
import { writeFileAtomic } from "../checkpoint/atomic.js";
import type { Config } from "../config/schema.js";
import { writeLineChart } from "../run/index.js";
import type { RunResult } from "./run.js";

const fixed = (v: number, d = 4): string => (Number.isFinite(v) ? v.toFixed(d) : "–");
const lrText = (lrs: Record<string, number>): string =>
  Object.entries(lrs)
    .map(([k, v]) => `${k} ${Number(v.toPrecision(3))}`)
    .join(", ");

/** compare.md (table of final validation losses), val_loss.svg (all curves) and results.json. */
export function writeCompareReport(dir: string, base: Config, runs: readonly RunResult[], planned: number): void {
  const seqLen = base.train.seqLen ?? "the context length";
  const moe = runs.some((r) => r.final?.loadCv !== undefined);
  const best = new Map<string, RunResult>();
  for (const r of runs) {
    const key = `${r.table}${Object.values(r.variants).map((v) => `/${v}`).join("")}`;
    const b = best.get(key);
    if (Number.isFinite(r.valLoss) && (!b || r.valLoss < b.valLoss)) best.set(key, r);
  }
  const lines = [
    `# Optimizer comparison: ${base.model.preset}`,
    "",
    `Same model, data (${base.data.corpus.kind}, ${base.data.tokenizer} tokens), seed ${base.seed} and token budget for every run: ` +
      `${base.train.steps} steps × ${base.train.batchSize} × ${seqLen} tokens; validation every ${base.eval.every} steps on ${base.eval.windows} windows. ` +
      `${runs.length} of ${planned} runs done. "lr ×" scales every entry's lr of the table (optim.lrScale); the lrs each run used are listed below. ` +
      `Final logit RMS: of the last evaluation's first batch; router load CV and dead-expert fraction: the last step's, averaged over layers.`,
    "",
    `| run | table | variants | lr × | final val loss (nats/token) | steps | tokens | time (s) | final logit RMS |${moe ? " router load CV | dead experts |" : ""} status |`,
    `|---|---|---|---|---|---|---|---|---|${moe ? "---|---|" : ""}---|`,
    ...runs.map(
      (r) =>
        `| ${r.label} | ${r.table} | ${Object.entries(r.variants).map(([k, v]) => `${k}=${v}`).join(", ") || "–"} | ${r.lrScale} | ${fixed(r.valLoss)} | ${r.steps} | ${r.tokens.toLocaleString("en-US")} | ${Math.round(r.seconds)} | ${fixed(r.final?.logitRms ?? NaN, 2)} |` +
        `${moe ? ` ${fixed(r.final?.loadCv ?? NaN, 3)} | ${fixed(r.final?.deadFraction ?? NaN, 3)} |` : ""} ${r.status} |`,
    ),
    "",
    "## Best lr per table",
    "",
    "| table / variant | best final val loss | lr × |",
    "|---|---|---|",
    ...[...best.entries()].sort((a, b) => a[1].valLoss - b[1].valLoss).map(([k, r]) => `| ${k} | ${fixed(r.valLoss)} | ${r.lrScale} |`),
    "",
    "## Learning rates per table entry (before schedules)",
    "",
    ...runs.map((r) => `- ${r.label}: ${lrText(r.lrs)}`),
    "",
    "![validation loss](val_loss.svg)",
    "",
  ];
  for (const r of runs) if (r.message) lines.push(`- ${r.label}: ${r.message}`);
  writeFileAtomic(join(dir, "compare.md"), lines.join("\n") + "\n");
  writeFileAtomic(join(dir, "results.json"), JSON.stringify({ preset: base.model.preset, runs }, null, 2) + "\n");
  writeLineChart(join(dir, "val_loss.svg"), {
    title: `${base.model.preset}: validation loss`,
    xLabel: "step",
    yLabel: "validation loss (nats/token)",
    width: 900,
    height: 520,
    // Eight colours; runs past the eighth are dashed so no two curves look alike.
    series: runs.map((r, i) => ({ name: r.label, points: r.curve, dashed: i >= 8 })),
  });
}
