import { join } from "node:path";
import { metricSeries, readMetrics, writeLineChart, writeReport, type RunDir } from "../run/index.js";
import type { Config } from "../config/schema.js";
import type { TrainSummary } from "./loop.js";

/** report.md and the loss-curve SVG of a finished (or stopped) run. */
export function writeRunReport(run: RunDir, config: Config, s: TrainSummary): void {
  const records = readMetrics(run.metrics);
  const plot = join(run.plots, "loss.svg");
  writeLineChart(plot, {
    title: `${config.model.preset} · ${config.data.tokenizer} tokens`,
    xLabel: "step",
    yLabel: "loss (nats/token)",
    series: [
      { name: "train", points: metricSeries(records, "loss") },
      { name: "validation", points: metricSeries(records, "val_loss"), dashed: true },
    ],
  });
  writeReport(run.report, {
    title: `Run ${run.name}`,
    summary: {
      model: `${config.model.preset} (${s.parameters.toLocaleString("en-US")} parameters)`,
      steps: s.steps,
      "train loss (nats/token)": s.trainLoss,
      "validation loss (nats/token)": s.valLoss,
      tokens: s.tokens,
      "seconds": Math.round(s.seconds),
      "tokens/s": Math.round(s.tokensPerSecond),
      backend: `${config.backend.name}${config.backend.threads ? ` × ${config.backend.threads} threads` : ""}`,
      "config hash": run.configHash.slice(0, 12),
    },
    text: `${entryTable(config, s)}Sample (prompt ${JSON.stringify(config.sample.prompt)}):\n\n> ${s.sample.replace(/\n/g, "\n> ")}\n`,
    plots: [{ title: "Loss", file: "plots/loss.svg" }],
  });
}

/** The optimizer table's entries with their last logged lr, update RMS and ν (Markdown). */
function entryTable(config: Config, s: TrainSummary): string {
  const rows = Object.entries(s.entries ?? {});
  if (!rows.length) return "";
  const f = (v: number | undefined): string => (v === undefined ? "–" : v.toExponential(3));
  const table = typeof config.optim.table === "string" ? `\`${config.optim.table}\`` : "explicit";
  return [
    `Optimizer table ${table}${config.optim.variants ? ` (variants ${JSON.stringify(config.optim.variants)})` : ""}, last logged values per entry:`,
    "",
    "| entry | lr | update RMS | ν |",
    "|---|---|---|---|",
    ...rows.map(([k, e]) => `| ${k} | ${f(e.lr)} | ${f(e.updateRms)} | ${f(e.nu)} |`),
    "",
    "",
  ].join("\n");
}
