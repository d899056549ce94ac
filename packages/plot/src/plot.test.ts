import { describe, expect, it } from "vitest";
import { PlotInputError, barChart, createScale, formatTick, lineChart, niceDomain } from "./index";

/**
 * A strict well-formedness check for the XML subset the charts emit: balanced tags, quoted
 * attributes without raw "<" or "&", text without raw "<" and only the five predefined entities.
 */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const entity = /&(?:amp|lt|gt|quot|apos);/g;
  const checkText = (text: string, where: string) => {
    if (text.replace(entity, "").includes("&")) throw new Error(`bare & in ${where}: ${text.slice(0, 60)}`);
  };
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    if (lt === -1) {
      checkText(xml.slice(i), "trailing text");
      if (xml.slice(i).trim() !== "") throw new Error("text after the root element");
      break;
    }
    const text = xml.slice(i, lt);
    checkText(text, "text");
    if (stack.length === 0 && text.trim() !== "") throw new Error(`text outside the root: ${text}`);
    const gt = xml.indexOf(">", lt);
    if (gt === -1) throw new Error("unterminated tag");
    const tag = xml.slice(lt + 1, gt);
    const m = /^(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)$/.exec(tag);
    if (!m) throw new Error(`malformed tag <${tag}>`);
    const [, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
    checkText(attrs, `attributes of <${name}>`);
    const names = [...attrs.matchAll(/([\w:-]+)=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) throw new Error(`duplicate attribute in <${name}>`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
    i = gt + 1;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join("> <")}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

const count = (svg: string, re: RegExp): number => (svg.match(re) ?? []).length;

/** The d attribute of each series path, split into its drawing commands. */
function seriesCommands(svg: string): string[][] {
  return [...svg.matchAll(/<path class="series"[^>]* d="([^"]*)"/g)].map((m) => (m[1] as string).match(/[ML][^ML]*/g) ?? []);
}

describe("lineChart", () => {
  const pr = lineChart({
    title: "PR curve <toy> & co",
    xLabel: "recall",
    yLabel: "precision",
    series: [
      { name: "model A", points: Array.from({ length: 40 }, (_, i) => [i / 39, 1 - (i / 39) ** 2] as [number, number]) },
      { name: 'model "B"', points: [[0, 0.9], [0.5, 0.6], [1, 0.1]], dashed: true },
    ],
    hLines: [{ y: 0.8, label: "precision floor" }],
  });

  it("is well-formed SVG with the declared size", () => {
    assertWellFormedXml(pr);
    expect(pr.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400"')).toBe(true);
    expect(pr).toContain("PR curve &lt;toy&gt; &amp; co");
    expect(pr).toContain("model &quot;B&quot;");
  });

  it("draws one path per series with one command per point, and markers only for short series", () => {
    const commands = seriesCommands(pr);
    expect(commands.map((c) => c.length)).toEqual([40, 3]);
    expect(commands[0]?.[0]?.startsWith("M")).toBe(true);
    expect(commands[0]?.slice(1).every((c) => c.startsWith("L"))).toBe(true);
    expect(count(pr, /<circle /g)).toBe(3);
    expect(count(pr, /class="legend-swatch"/g)).toBe(2);
    expect(count(pr, /class="reference"/g)).toBe(1);
    expect(pr).toContain('stroke-dasharray="7 4"');
  });

  it("maps data to pixels inside the plot area, y growing upwards", () => {
    const commands = seriesCommands(pr)[1] as string[];
    const xy = commands.map((c) => c.slice(1).split(" ").map(Number) as [number, number]);
    const [first, , last] = xy as [[number, number], [number, number], [number, number]];
    expect(first[0]).toBeLessThan(last[0]);
    expect(first[1]).toBeLessThan(last[1]);
    expect(first[0]).toBeGreaterThan(40);
    expect(last[0]).toBe(620);
  });

  it("breaks the line at NaN points", () => {
    const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "psi", points: [[0, 1], [1, 2], [2, Number.NaN], [3, 1], [4, 3]] }] });
    assertWellFormedXml(svg);
    const commands = seriesCommands(svg)[0] as string[];
    expect(commands.map((c) => c[0]).join("")).toBe("MLML");
  });

  it("puts decade ticks on log axes", () => {
    const svg = lineChart({
      title: "latency",
      xLabel: "load",
      yLabel: "ms",
      xScale: "log",
      yScale: "log",
      series: [{ name: "p99", points: [[10, 0.5], [100, 2], [1000, 40], [20000, 900]] }],
      hLines: [{ y: 5, label: "budget" }],
    });
    assertWellFormedXml(svg);
    const tickLabels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(tickLabels).toEqual(["latency", "p99", "0.1", "1", "10", "100", "1000", "10", "100", "1000", "10k", "100k", "load", "ms", "budget"]);
  });

  it("rejects what it cannot draw, naming the field", () => {
    const base = { title: "t", xLabel: "x", yLabel: "y" };
    const field = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof PlotInputError) return e.field;
      }
      return "no error";
    };
    expect(field(() => lineChart({ ...base, yScale: "log", series: [{ name: "a", points: [[1, 1], [2, 0]] }] }))).toBe("series[0].points[1]");
    expect(field(() => lineChart({ ...base, series: [{ name: "a", points: [[1, Infinity]] }] }))).toBe("series[0].points[0]");
    expect(field(() => lineChart({ ...base, series: [], xDomain: [1, 1] }))).toBe("xDomain");
    expect(field(() => lineChart({ ...base, series: [], width: 50 }))).toBe("width");
    expect(field(() => barChart({ ...base, categories: ["a", "b"], series: [{ name: "s", values: [1] }] }))).toBe("series[0].values");
  });
});

describe("barChart", () => {
  it("draws one bar per category and series, grouped, from zero", () => {
    const categories = Array.from({ length: 10 }, (_, i) => `${i / 10}-${(i + 1) / 10}`);
    const svg = barChart({
      title: "Score histogram",
      xLabel: "score",
      yLabel: "share",
      categories,
      series: [
        { name: "reference", values: [0.4, 0.2, 0.1, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01] },
        { name: "current", values: [0.3, 0.2, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, Number.NaN, 0.03] },
      ],
      hLines: [{ y: 0.25, label: "alert" }],
    });
    assertWellFormedXml(svg);
    expect(count(svg, /class="bar"/g)).toBe(19);
    expect(count(svg, /class="legend-swatch"/g)).toBe(2);
    const bars = [...svg.matchAll(/class="bar" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));
    // Every bar ends on the same baseline, and the tallest is the 0.4.
    const baselines = new Set(bars.map(([, y, , h]) => Math.round(((y as number) + (h as number)) * 10)));
    expect(baselines.size).toBe(1);
    const heights = bars.map((b) => b[3] as number);
    expect(Math.max(...heights)).toBe(heights[0]);
    expect((heights[0] as number) / (heights[1] as number)).toBeCloseTo(2, 1);
  });

  it("shows a single-series histogram without a legend", () => {
    const svg = barChart({ title: "h", xLabel: "x", yLabel: "n", categories: ["a", "b", "c"], series: [{ name: "only", values: [3, 1, 2] }] });
    assertWellFormedXml(svg);
    expect(count(svg, /class="legend-swatch"/g)).toBe(0);
    expect(count(svg, /class="bar"/g)).toBe(3);
  });
});

describe("scales", () => {
  it("widens domains to round steps and pads degenerate ones", () => {
    expect(niceDomain(0.03, 0.97, "linear")).toEqual([0, 1]);
    expect(niceDomain(13, 87, "linear")).toEqual([0, 100]);
    expect(niceDomain(13, 47, "linear")).toEqual([10, 50]);
    expect(niceDomain(5, 5, "linear")).toEqual([4.4, 5.6]);
    expect(niceDomain(0.8, 48, "log")).toEqual([0.1, 100]);
  });

  it("places linear ticks on round values and formats them compactly", () => {
    const s = createScale("linear", [0, 1], [0, 500], 5);
    expect(s.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(s.map(0.5)).toBe(250);
    expect(s.ticks.map((t) => s.format(t))).toEqual(["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    expect(formatTick(25000, 5000)).toBe("25k");
    expect(formatTick(1_500_000, 500_000)).toBe("1.5M");
    expect(formatTick(0.00025, 0.00005)).toBe("2.5e-4");
  });
});
