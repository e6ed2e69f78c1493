import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./fixtures/tmp.js";
import { lineChartSvg, niceTicks, writeLineChart } from "../src/run/index.js";

const tmp = tempDirs("svg");

/** A small XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|#\d+);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/g;
  let pos = 0;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    if (m.index !== pos) throw new Error(`unparsable XML at ${pos}: ${xml.slice(pos, pos + 40)}`);
    pos = re.lastIndex;
    const [, close, name, , selfClose, text] = m;
    if (text !== undefined) {
      if (/&(?!(?:amp|lt|gt|quot|#\d+);)/.test(text)) throw new Error(`unescaped & in ${text}`);
    } else if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
    } else if (!selfClose) stack.push(name!);
  }
  if (pos !== xml.length) throw new Error(`trailing garbage at ${pos}`);
  if (stack.length) throw new Error(`unclosed <${stack.join("> <")}>`);
}

describe("SVG line chart", () => {
  const chart = {
    title: "Loss <adamw & muon>",
    xLabel: "step",
    yLabel: "loss",
    series: [
      { name: "adamw train", points: Array.from({ length: 50 }, (_, i) => [i * 10, 5 * Math.exp(-i / 20) + 1] as [number, number]) },
      { name: "adamw val", points: [[0, 6], [250, 2.5], [490, 1.6]] as [number, number][], dashed: true },
      { name: "muon \"fast\"", points: [[0, 6], [100, NaN], [490, 1.2]] as [number, number][] },
    ],
  };

  it("is well-formed and contains every series", () => {
    const svg = lineChartSvg(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(() => checkXml(svg.trim())).not.toThrow();
    expect(svg.match(/<path /g)).toHaveLength(3);
    expect(svg).toContain("adamw train");
    expect(svg).toContain("muon &quot;fast&quot;");
    expect(svg).toContain("Loss &lt;adamw &amp; muon&gt;");
    expect(svg).toContain("stroke-dasharray");
    expect(svg).not.toContain("NaN");
    expect(checkXml).toBeDefined();
    expect(() => checkXml("<a><b></a>")).toThrow(); // the checker does check
  });

  it("handles empty, single-point and log-scale charts", () => {
    for (const c of [{ series: [] }, { series: [{ name: "one", points: [[3, 3]] as [number, number][] }] }, { ...chart, logY: true }]) {
      const svg = lineChartSvg(c);
      expect(() => checkXml(svg.trim())).not.toThrow();
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });

  it("writes a file and picks round ticks", () => {
    const file = join(tmp(), "loss.svg");
    writeLineChart(file, chart);
    expect(readFileSync(file, "utf8")).toBe(lineChartSvg(chart));
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 490)).toEqual([0, 100, 200, 300, 400]);
  });
});
