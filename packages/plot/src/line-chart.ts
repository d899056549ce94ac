import { PlotInputError, checkDomain, checkSize, idFor } from "./errors";
import { PLOT_BOTTOM_MARGIN, PLOT_RIGHT_MARGIN, drawFrame, plotLeft, plotTop, svgDocument } from "./frame";
import type { LegendEntry } from "./frame";
import { createScale, niceDomain } from "./scale";
import type { ScaleType } from "./scale";
import { PALETTE, element, escapeXml, px } from "./svg";

export interface LineSeries {
  name: string;
  /** [x, y] pairs drawn in order; a NaN coordinate leaves a gap. */
  points: ReadonlyArray<readonly [number, number]>;
  color?: string;
  dashed?: boolean;
  /** Dots at the points; by default on for series of at most 25 points. */
  markers?: boolean;
}

export interface ReferenceLine {
  y: number;
  label: string;
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xScale?: ScaleType;
  yScale?: ScaleType;
  /** Horizontal reference lines (a budget, a precision floor), dashed and labelled. */
  hLines?: ReferenceLine[];
  /** Fixed axis ranges; by default the data's range widened to round ticks. */
  xDomain?: [number, number];
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

function dataRange(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A line chart as a standalone SVG document (no dependencies, readable at 640 x 400). */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  checkSize(width, height);
  const xType = options.xScale ?? "linear";
  const yType = options.yScale ?? "linear";
  checkDomain("xDomain", options.xDomain, xType === "log");
  checkDomain("yDomain", options.yDomain, yType === "log");

  const xs: number[] = [];
  const ys: number[] = [];
  options.series.forEach((s, si) => {
    s.points.forEach(([x, y], pi) => {
      for (const [axis, v, type] of [["x", x, xType], ["y", y, yType]] as const) {
        if (Number.isNaN(v)) continue;
        if (!Number.isFinite(v)) throw new PlotInputError(`series[${si}].points[${pi}]`, `${axis} must be finite or NaN (a gap), got ${v}`);
        if (type === "log" && v <= 0) throw new PlotInputError(`series[${si}].points[${pi}]`, `${axis} = ${v} cannot be shown on a log scale`);
      }
      if (!Number.isNaN(x)) xs.push(x);
      if (!Number.isNaN(y)) ys.push(y);
    });
  });
  for (const [i, h] of (options.hLines ?? []).entries()) {
    if (!Number.isFinite(h.y) || (yType === "log" && h.y <= 0)) throw new PlotInputError(`hLines[${i}].y`, `must be finite${yType === "log" ? " and positive" : ""}, got ${h.y}`);
    ys.push(h.y);
  }

  const xDomain = options.xDomain ?? niceDomain(...dataRange(xs), xType);
  const yDomain = options.yDomain ?? niceDomain(...dataRange(ys), yType);
  const legend: LegendEntry[] = options.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? (PALETTE[i % PALETTE.length] as string),
    kind: "line",
    dashed: s.dashed,
  }));
  const frame = { width, height, title: options.title, xLabel: options.xLabel, yLabel: options.yLabel, legend };
  const top = plotTop(frame);
  const bottom = height - PLOT_BOTTOM_MARGIN;
  const y = createScale(yType, yDomain, [bottom, top], Math.max(3, Math.round((bottom - top) / 45)));
  const left = plotLeft(y.ticks.map((t) => y.format(t)));
  const right = width - PLOT_RIGHT_MARGIN;
  const x = createScale(xType, xDomain, [left, right], Math.max(3, Math.round((right - left) / 80)));
  const area = { left, top, right, bottom };

  const parts: string[] = [drawFrame(frame, area, { ticks: x.ticks.map((t) => ({ at: x.map(t), label: x.format(t) })), grid: true }, y)];
  const clipId = `plot-${idFor(`${options.title}|${options.series.map((s) => s.name).join("|")}`)}`;
  // The clip leaves room for half a stroke, so a curve along an edge (precision 1) stays visible.
  const pad = 3;
  parts.push(
    `<defs><clipPath id="${clipId}"><rect x="${px(left - pad)}" y="${px(top - pad)}" width="${px(right - left + 2 * pad)}" height="${px(bottom - top + 2 * pad)}"/></clipPath></defs>`,
  );

  const plotted: string[] = [];
  // Labels go on top of the series so a curve crossing one cannot hide it.
  const referenceLabels: string[] = [];
  for (const h of options.hLines ?? []) {
    const py = y.map(h.y);
    const color = h.color ?? "#555555";
    plotted.push(element("line", { class: "reference", x1: left, y1: py, x2: right, y2: py, stroke: color, "stroke-width": 1.5, "stroke-dasharray": "6 4" }));
    referenceLabels.push(element("text", { class: "reference-label", x: right - 4, y: py - 5, "text-anchor": "end", fill: color, stroke: "#ffffff", "stroke-width": 3, "paint-order": "stroke" }, escapeXml(h.label)));
  }
  options.series.forEach((s, si) => {
    const color = legend[si]?.color as string;
    let d = "";
    let penDown = false;
    const dots: string[] = [];
    const showMarkers = s.markers ?? s.points.length <= 25;
    for (const [vx, vy] of s.points) {
      if (Number.isNaN(vx) || Number.isNaN(vy)) {
        penDown = false;
        continue;
      }
      const cx = x.map(vx);
      const cy = y.map(vy);
      d += `${penDown ? "L" : "M"}${px(cx)} ${px(cy)}`;
      penDown = true;
      if (showMarkers) dots.push(element("circle", { cx, cy, r: 3, fill: color }));
    }
    plotted.push(
      element("path", {
        class: "series",
        "data-name": s.name,
        d: d || "M0 0",
        fill: "none",
        stroke: color,
        "stroke-width": 2,
        "stroke-linejoin": "round",
        "stroke-dasharray": s.dashed ? "7 4" : undefined,
        visibility: d ? undefined : "hidden",
      }),
    );
    if (dots.length > 0) plotted.push(element("g", { class: "markers" }, dots.join("")));
  });
  parts.push(element("g", { "clip-path": `url(#${clipId})` }, plotted.join("\n")));
  parts.push(...referenceLabels);
  return svgDocument(width, height, options.title, parts.join("\n"));
}
