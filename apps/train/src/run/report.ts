import { writeFileAtomic } from "../checkpoint/atomic.js";

export interface ReportTable {
  title?: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface ReportInput {
  title: string;
  /** Headline numbers, shown as a two-column table in insertion order. */
  summary: Record<string, string | number | null>;
  /** Free markdown after the summary. */
  text?: string;
  tables?: ReportTable[];
  /** Images (paths relative to the report), e.g. the loss-curve SVG. */
  plots?: { title: string; file: string }[];
}

/** Integers as they are; other numbers to 4 significant digits (losses, rates); null as "—". */
export function formatNumber(v: string | number | null): string {
  if (v === null) return "—";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

const cell = (v: string | number | null): string => formatNumber(v).replace(/\|/g, "\\|").replace(/\n/g, " ");

function table(columns: string[], rows: (string | number | null)[][]): string {
  const head = `| ${columns.map(cell).join(" | ")} |`;
  const rule = `|${columns.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`;
  return [head, rule, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function renderReport(r: ReportInput): string {
  const parts = [`# ${r.title}`, table(["", "value"], Object.entries(r.summary).map(([k, v]) => [k, v]))];
  if (r.text) parts.push(r.text.trim());
  for (const p of r.plots ?? []) parts.push(`## ${p.title}\n\n![${p.title}](${p.file})`);
  for (const t of r.tables ?? []) parts.push((t.title ? `## ${t.title}\n\n` : "") + table(t.columns, t.rows));
  return parts.join("\n\n") + "\n";
}

export function writeReport(path: string, r: ReportInput): void {
  writeFileAtomic(path, renderReport(r));
}
