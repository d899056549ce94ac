import type { Scale } from "./scale";
import { element, escapeXml, textWidth } from "./svg";

export interface LegendEntry {
  name: string;
  color: string;
  /** "line" for line series, "box" for bars. */
  kind: "line" | "box";
  dashed?: boolean;
}

export interface FrameOptions {
  width: number;
  height: number;
  title: string;
  xLabel: string;
  yLabel: string;
  legend: LegendEntry[];
}

export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const FONT = 12;
const TITLE_FONT = 15;
const LEGEND_ROW = 18;

/** Rows of legend entries that fit the width (entries flow left to right). */
function legendRows(entries: LegendEntry[], width: number): LegendEntry[][] {
  const rows: LegendEntry[][] = [];
  let row: LegendEntry[] = [];
  let used = 0;
  for (const e of entries) {
    const w = 22 + textWidth(e.name, FONT) + 18;
    if (row.length > 0 && used + w > width) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(e);
    used += w;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/** The vertical extent left for the plot once title and legend are placed. */
export function plotTop(options: FrameOptions): number {
  return 34 + LEGEND_ROW * legendRows(options.legend, options.width - 80).length + 8;
}

/** Left margin wide enough for the longest y tick label plus the rotated y label. */
export function plotLeft(yTickLabels: string[]): number {
  const widest = Math.max(0, ...yTickLabels.map((l) => textWidth(l, FONT)));
  return Math.ceil(24 + widest + 10);
}

export const PLOT_BOTTOM_MARGIN = 50;
export const PLOT_RIGHT_MARGIN = 20;

/** Background, title, legend, grid, axes, tick labels and axis labels. */
export function drawFrame(
  options: FrameOptions,
  area: PlotArea,
  x: { ticks: { at: number; label: string }[]; grid: boolean },
  y: Scale,
): string {
  const parts: string[] = [];
  const { width, height } = options;
  parts.push(element("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }));
  parts.push(element("text", { x: width / 2, y: 22, "text-anchor": "middle", "font-size": TITLE_FONT, "font-weight": "bold" }, escapeXml(options.title)));

  let ly = 34 + LEGEND_ROW / 2;
  for (const row of legendRows(options.legend, width - 80)) {
    const rowWidth = row.reduce((s, e) => s + 22 + textWidth(e.name, FONT) + 18, -18);
    let lx = (width - rowWidth) / 2;
    for (const e of row) {
      if (e.kind === "line") {
        parts.push(element("line", { class: "legend-swatch", x1: lx, y1: ly, x2: lx + 16, y2: ly, stroke: e.color, "stroke-width": 2.5, "stroke-dasharray": e.dashed ? "5 3" : undefined }));
      } else {
        parts.push(element("rect", { class: "legend-swatch", x: lx + 2, y: ly - 6, width: 12, height: 12, fill: e.color }));
      }
      parts.push(element("text", { x: lx + 22, y: ly + 4 }, escapeXml(e.name)));
      lx += 22 + textWidth(e.name, FONT) + 18;
    }
    ly += LEGEND_ROW;
  }

  const grid: string[] = [];
  const labels: string[] = [];
  for (const t of y.ticks) {
    const py = y.map(t);
    grid.push(element("line", { x1: area.left, y1: py, x2: area.right, y2: py }));
    labels.push(element("text", { x: area.left - 6, y: py + 4, "text-anchor": "end" }, escapeXml(y.format(t))));
  }
  for (const t of x.ticks) {
    if (x.grid) grid.push(element("line", { x1: t.at, y1: area.top, x2: t.at, y2: area.bottom }));
    labels.push(element("line", { x1: t.at, y1: area.bottom, x2: t.at, y2: area.bottom + 5, stroke: "#333333" }));
    labels.push(element("text", { x: t.at, y: area.bottom + 18, "text-anchor": "middle" }, escapeXml(t.label)));
  }
  parts.push(element("g", { class: "grid", stroke: "#e5e5e5", "stroke-width": 1 }, grid.join("")));
  parts.push(element("g", { class: "ticks", fill: "#333333" }, labels.join("")));
  parts.push(
    element("path", {
      class: "axes",
      d: `M${area.left} ${area.top}V${area.bottom}H${area.right}`,
      fill: "none",
      stroke: "#333333",
      "stroke-width": 1,
    }),
  );
  parts.push(element("text", { x: (area.left + area.right) / 2, y: height - 10, "text-anchor": "middle" }, escapeXml(options.xLabel)));
  const cy = (area.top + area.bottom) / 2;
  parts.push(element("text", { x: 16, y: cy, "text-anchor": "middle", transform: `rotate(-90 16 ${Math.round(cy)})` }, escapeXml(options.yLabel)));
  return parts.join("\n");
}

export function svgDocument(width: number, height: number, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="${FONT}">\n` +
    `<title>${escapeXml(title)}</title>\n${body}\n</svg>\n`
  );
}
