/**
 * Run directory, metrics, reports and plots.
 *
 *   createRunDir({ root? = "runs", name?, config, backend, threads, resume? }): RunDir
 *       → runs/<name>/{config.json, config.sha256, env.json, metrics.jsonl, report.md, checkpoints/, samples/, plots/}
 *         RunDir = { name, dir, configHash, env, resumed, checkpoints, metrics, report, samples, plots }
 *   hashConfig(config): string (sha256 of canonical JSON)      collectEnv({ backend, threads }): EnvInfo
 *   openMetrics(path, { fsync?, truncateAfterStep? }?): { write(record), close() }   one JSON line per write
 *   readMetrics(path): MetricRecord[]     metricSeries(records, key, x? = "step"): [x, y][]
 *   renderReport / writeReport(path, { title, summary, text?, tables?, plots? })
 *   lineChartSvg / writeLineChart(path, { title?, xLabel?, yLabel?, series: { name, points, dashed? }[], logY? })
 */
export { createRunDir, type RunDir, type RunDirOptions } from "./rundir.js";
export { hashConfig, canonicalJson } from "./hash.js";
export { collectEnv, type EnvInfo } from "./env.js";
export { openMetrics, readMetrics, metricSeries, type MetricRecord, type MetricsOptions, type MetricsWriter } from "./metrics.js";
export { renderReport, writeReport, formatNumber, type ReportInput, type ReportTable } from "./report.js";
export { lineChartSvg, writeLineChart, niceTicks, type LineChart, type Series } from "./svg.js";
