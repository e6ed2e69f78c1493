import { writeFileAtomic } from "../checkpoint/atomic.js";

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Dashed line (e.g. validation beside a solid train curve of the same colour). */
  dashed?: boolean;
  /** CSS colour; default from a colour-blind-safe palette by series index. */
  color?: string;
}

export interface LineChart {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Logarithmic y axis (non-positive values are dropped). */
  logY?: boolean;
}

// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (v: number): string => String(Number(v.toPrecision(6)));

/** About `n` round tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Tick values for a log axis spanning 10^lo..10^hi: 1-2-5 steps, or decades when that is too many. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) for (const m of [1, 2, 5]) out.push(m * 10 ** k);
  let ticks = out.filter((v) => Math.log10(v) >= lo - 1e-9 && Math.log10(v) <= hi + 1e-9);
  if (ticks.length > 10) ticks = ticks.filter((v) => Number.isInteger(Math.log10(v)));
  if (ticks.length < 2) ticks = niceTicks(10 ** lo, 10 ** hi).filter((v) => v > 0);
  return ticks.map((v) => Number(v.toPrecision(12)));
}

/** A self-contained SVG line chart (axes, ticks, grid, legend); no dependencies, no scripts. */
export function lineChartSvg(chart: LineChart): string {
  const W = chart.width ?? 720;
  const H = chart.height ?? 420;
  const m = { l: 64, r: 16, t: chart.title ? 36 : 16, b: 48 };
  const fy = chart.logY ? Math.log10 : (v: number) => v;
  const series = chart.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    pts: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logY || y > 0)).map(([x, y]) => [x, fy(y)] as const),
  }));
  const all = series.flatMap((s) => s.pts);
  let [x0, x1] = all.length ? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = all.length ? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))] : [0, 1];
  if (x1 === x0) (x0 -= 0.5, (x1 += 0.5));
  if (y1 === y0) (y0 -= 0.5, (y1 += 0.5));
  const pad = (y1 - y0) * 0.04;
  (y0 -= pad), (y1 += pad);
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  if (chart.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(chart.title)}</text>`);
  for (const t of niceTicks(x0, x1)) {
    out.push(`<line x1="${fmt(px(t))}" y1="${m.t}" x2="${fmt(px(t))}" y2="${H - m.b}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fmt(px(t))}" y="${H - m.b + 16}" text-anchor="middle">${esc(fmt(t))}</text>`);
  }
  for (const v of chart.logY ? logTicks(y0, y1) : niceTicks(y0, y1)) {
    const t = fy(v);
    out.push(`<line x1="${m.l}" y1="${fmt(py(t))}" x2="${W - m.r}" y2="${fmt(py(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${fmt(py(t) + 4)}" text-anchor="end">${esc(fmt(v))}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333333"/>`);
  if (chart.xLabel) out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  if (chart.yLabel) out.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`);
  for (const s of series) {
    if (s.pts.length === 0) continue;
    const d = s.pts.map(([x, y], i) => `${i ? "L" : "M"}${fmt(px(x))} ${fmt(py(y))}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${esc(s.color)}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ""}><title>${esc(s.name)}</title></path>`);
  }
  // Legend top-right on a translucent backing: loss curves fall away from that corner.
  const lx = W - m.r - 156;
  if (series.length) out.push(`<rect x="${lx}" y="${m.t + 2}" width="152" height="${series.length * 16 + 6}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
  series.forEach((s, i) => {
    const y = m.t + 18 + i * 16;
    const x = lx + 6;
    out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${esc(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    out.push(`<text x="${x + 26}" y="${y}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

export function writeLineChart(path: string, chart: LineChart): void {
  writeFileAtomic(path, lineChartSvg(chart));
}
