import { PlotInputError, checkDomain, checkSize } from "./errors";
import { PLOT_BOTTOM_MARGIN, PLOT_RIGHT_MARGIN, drawFrame, plotLeft, plotTop, svgDocument } from "./frame";
import type { LegendEntry } from "./frame";
import type { ReferenceLine } from "./line-chart";
import { createScale, niceDomain } from "./scale";
import type { ScaleType } from "./scale";
import { PALETTE, element, escapeXml, textWidth } from "./svg";

export interface BarSeries {
  name: string;
  /** One value per category; NaN draws no bar. */
  values: ReadonlyArray<number>;
  color?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** One group of bars per category (histogram bins, e.g. "0.0-0.1"), in order. */
  categories: ReadonlyArray<string>;
  /** Several series draw side by side within each category (reference vs current distribution). */
  series: BarSeries[];
  yScale?: ScaleType;
  yDomain?: [number, number];
  hLines?: ReferenceLine[];
  width?: number;
  height?: number;
}

/** Grouped bars as a standalone SVG document: histograms and per-bin comparisons. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  checkSize(width, height);
  const yType = options.yScale ?? "linear";
  checkDomain("yDomain", options.yDomain, yType === "log");
  const n = options.categories.length;
  if (n === 0) throw new PlotInputError("categories", "must not be empty");
  if (options.series.length === 0) throw new PlotInputError("series", "must not be empty");

  const values: number[] = [];
  options.series.forEach((s, si) => {
    if (s.values.length !== n) throw new PlotInputError(`series[${si}].values`, `has ${s.values.length} values for ${n} categories`);
    s.values.forEach((v, vi) => {
      if (Number.isNaN(v)) return;
      if (!Number.isFinite(v)) throw new PlotInputError(`series[${si}].values[${vi}]`, `must be finite or NaN, got ${v}`);
      if (yType === "log" && v <= 0) throw new PlotInputError(`series[${si}].values[${vi}]`, `${v} cannot be shown on a log scale`);
      values.push(v);
    });
  });
  for (const [i, h] of (options.hLines ?? []).entries()) {
    if (!Number.isFinite(h.y)) throw new PlotInputError(`hLines[${i}].y`, `must be finite, got ${h.y}`);
    values.push(h.y);
  }
  // Linear bars grow from zero, so zero is always on the axis.
  if (yType === "linear") values.push(0);
  const yDomain = options.yDomain ?? niceDomain(Math.min(...values), Math.max(...values), yType);

  const legend: LegendEntry[] = options.series.map((s, i) => ({ name: s.name, color: s.color ?? (PALETTE[i % PALETTE.length] as string), kind: "box" }));
  const frame = { width, height, title: options.title, xLabel: options.xLabel, yLabel: options.yLabel, legend: options.series.length > 1 ? legend : [] };
  const top = plotTop(frame);
  const bottom = height - PLOT_BOTTOM_MARGIN;
  const y = createScale(yType, yDomain, [bottom, top], Math.max(3, Math.round((bottom - top) / 45)));
  const left = plotLeft(y.ticks.map((t) => y.format(t)));
  const right = width - PLOT_RIGHT_MARGIN;
  const band = (right - left) / n;
  const widest = Math.max(...options.categories.map((c) => textWidth(c, 12)));
  const labelEvery = Math.max(1, Math.ceil((widest + 8) / band));
  const ticks = options.categories
    .map((label, i) => ({ at: left + band * (i + 0.5), label, i }))
    .filter((t) => t.i % labelEvery === 0)
    .map(({ at, label }) => ({ at, label }));

  const parts: string[] = [drawFrame(frame, { left, top, right, bottom }, { ticks, grid: false }, y)];
  const baseline = y.map(yType === "log" ? yDomain[0] : Math.min(Math.max(0, yDomain[0]), yDomain[1]));
  const inner = band * 0.8;
  const barWidth = inner / options.series.length;
  const bars: string[] = [];
  options.series.forEach((s, si) => {
    const color = legend[si]?.color as string;
    s.values.forEach((v, i) => {
      if (Number.isNaN(v)) return;
      const clamped = Math.min(Math.max(v, yDomain[0]), yDomain[1]);
      const top = y.map(clamped);
      bars.push(
        element("rect", {
          class: "bar",
          x: left + band * i + (band - inner) / 2 + barWidth * si,
          y: Math.min(top, baseline),
          width: Math.max(0.5, barWidth - (options.series.length > 1 ? 1 : 0.5)),
          height: Math.abs(baseline - top),
          fill: color,
        }),
      );
    });
  });
  parts.push(element("g", { class: "bars" }, bars.join("")));
  for (const h of options.hLines ?? []) {
    const py = y.map(h.y);
    const color = h.color ?? "#555555";
    parts.push(element("line", { class: "reference", x1: left, y1: py, x2: right, y2: py, stroke: color, "stroke-width": 1.5, "stroke-dasharray": "6 4" }));
    parts.push(element("text", { class: "reference-label", x: right - 4, y: py - 5, "text-anchor": "end", fill: color, stroke: "#ffffff", "stroke-width": 3, "paint-order": "stroke" }, escapeXml(h.label)));
  }
  return svgDocument(width, height, options.title, parts.join("\n"));
}
