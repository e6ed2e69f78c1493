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
    text: `Sample (prompt ${JSON.stringify(config.sample.prompt)}):\n\n> ${s.sample.replace(/\n/g, "\n> ")}\n`,
    plots: [{ title: "Loss", file: "plots/loss.svg" }],
  });
}
