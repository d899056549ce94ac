/**
 * Dependency-free SVG charts for benchmark and evaluation reports: PR and ROC curves,
 * latency-vs-load, PSI over time (lineChart) and histograms (barChart).
 */
export { lineChart } from "./line-chart";
export type { LineChartOptions, LineSeries, ReferenceLine } from "./line-chart";
export { barChart } from "./bar-chart";
export type { BarChartOptions, BarSeries } from "./bar-chart";
export { PlotInputError } from "./errors";
export { createScale, formatTick, niceDomain, niceStep } from "./scale";
export type { Scale, ScaleType } from "./scale";
export { escapeXml } from "./svg";
