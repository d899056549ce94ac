import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { lineChart, type LineSeries, type ReferenceLine } from "@mlsd/plot";
import { budgetFor, evaluateBudgets, stepWithinBudget, sustainableRate, type BudgetCheck, type BudgetEvaluation, type Budgets } from "./budgets";
import { PERCENTILE_KEYS, type LatencySummary } from "./latency";
import type { RunResult } from "./open-loop";
import type { RampResult } from "./ramp";

export interface ReportInput {
  title?: string;
  runs: readonly RunResult[];
  ramps?: readonly RampResult[];
  budgets: Budgets;
  /** Computed from runs and budgets when not given. */
  evaluation?: BudgetEvaluation;
  /** How the numbers were obtained: the command, the machine, caveats. Printed first. */
  notes?: readonly string[];
}

export interface RenderedReport {
  markdown: string;
  /** The same tables as plain aligned text, for a terminal. */
  terminal: string;
  /** One latency-vs-load chart per ramp. */
  charts: { file: string; svg: string }[];
  evaluation: BudgetEvaluation;
}

export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "n/a";
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function formatShare(share: number | null): string {
  if (share === null || !Number.isFinite(share)) return "n/a";
  return `${(share * 100).toFixed(share > 0 && share < 0.001 ? 3 : 2)} %`;
}

function formatRate(rate: number): string {
  return Number.isInteger(rate) ? String(rate) : rate.toFixed(1);
}

function formatCheckValue(value: number | null, unit: BudgetCheck["unit"]): string {
  if (unit === "ms") return value === null ? "n/a" : `${formatMs(value)} ms`;
  if (unit === "share") return formatShare(value);
  return value === null ? "n/a" : `${formatRate(value)}/s`;
}

const STATUS_WORD = { pass: "PASS", fail: "FAIL", "no-data": "NO DATA" } as const;

interface Table {
  headers: string[];
  rows: string[][];
  /** Columns aligned right (numbers). */
  right: Set<number>;
}

function markdownTable(t: Table): string {
  const sep = t.headers.map((_, i) => (t.right.has(i) ? "---:" : "---"));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(t.headers), `|${sep.join("|")}|`, ...t.rows.map(line)].join("\n");
}

function textTable(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (t.right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [line(t.headers), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

function checksTable(checks: readonly BudgetCheck[]): Table {
  return {
    headers: ["endpoint", "check", "measured", "budget", "result"],
    rows: checks.map((c) => [
      c.endpoint,
      c.metric === "share" || c.metric === "rate" ? c.subject : `${c.subject} ${c.metric}`,
      formatCheckValue(c.measured, c.unit),
      `${c.comparison} ${formatCheckValue(c.target, c.unit)}`,
      STATUS_WORD[c.status] + (c.note ? ` (${c.note})` : ""),
    ]),
    right: new Set([2, 3]),
  };
}

function runTable(runs: readonly RunResult[]): Table {
  return {
    headers: ["endpoint", "offered/s", "throughput/s", "scheduled", "ok", "rejected (expected)", "bad status", "timeouts", "transport", "dropped", "error rate", "fallback rate", "send lag p50 / p99 ms", "max in flight"],
    rows: runs.map((r) => [
      r.endpoint,
      formatRate(r.offeredRate),
      r.throughput.toFixed(1),
      String(r.counts.scheduled),
      String(r.counts.ok),
      String(r.counts.rejected),
      String(r.counts.badStatus),
      String(r.counts.timeouts),
      String(r.counts.transportErrors),
      String(r.counts.dropped),
      formatShare(r.errorRate),
      formatShare(r.fallbackRate),
      `${formatMs(r.sendLag.p50)} / ${formatMs(r.sendLag.p99)}`,
      String(r.maxInFlightSeen),
    ]),
    right: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
  };
}

function latencyTable(run: RunResult): Table {
  const row = (name: string, s: LatencySummary) => [name, String(s.count), ...PERCENTILE_KEYS.map((k) => formatMs(s[k])), formatMs(s.max), formatMs(s.mean)];
  return {
    headers: ["series (ms)", "count", ...PERCENTILE_KEYS, "max", "mean"],
    rows: [row("end to end (from scheduled send)", run.latency), ...Object.entries(run.stages).map(([stage, s]) => row(`stage ${stage} (service clock)`, s))],
    right: new Set([1, 2, 3, 4, 5, 6, 7, 8]),
  };
}

function rampTable(ramp: RampResult, budgets: Budgets): Table {
  const budget = budgets.endpoints[ramp.endpoint];
  return {
    headers: ["offered/s", "throughput/s", "p50 ms", "p95 ms", "p99 ms", "error rate", "fallback rate", "within budget"],
    rows: ramp.steps.map((s) => [
      formatRate(s.offeredRate),
      s.throughput.toFixed(1),
      formatMs(s.latency.p50),
      formatMs(s.latency.p95),
      formatMs(s.latency.p99),
      formatShare(s.errorRate),
      formatShare(s.fallbackRate),
      budget ? (stepWithinBudget(s, budget) ? "yes" : "no") : "no budget",
    ]),
    right: new Set([0, 1, 2, 3, 4, 5, 6]),
  };
}

const positiveOrGap = (v: number): number => (Number.isFinite(v) && v > 0 ? v : Number.NaN);

/** p50/p95/p99 against offered rate, the p99 budget as a dashed line, budgeted stages' p99 dashed. */
export function latencyVsLoadChart(ramp: RampResult, budgets: Budgets): string {
  const budget = budgets.endpoints[ramp.endpoint];
  const rates = ramp.steps.map((s) => s.offeredRate);
  const series: LineSeries[] = (["p50", "p95", "p99"] as const).map((k) => ({
    name: `${k} end to end`,
    points: ramp.steps.map((s) => [s.offeredRate, positiveOrGap(s.latency[k])] as const),
  }));
  const hLines: ReferenceLine[] = [];
  if (budget?.latency.p99 !== undefined) hLines.push({ y: budget.latency.p99, label: `p99 budget ${formatMs(budget.latency.p99)} ms`, color: "#c0392b" });
  for (const [stage, targets] of Object.entries(budget?.stages ?? {})) {
    series.push({ name: `p99 stage ${stage}`, dashed: true, points: ramp.steps.map((s) => [s.offeredRate, positiveOrGap(s.stages[stage]?.p99 ?? Number.NaN)] as const) });
    if (targets.p99 !== undefined) hLines.push({ y: targets.p99, label: `${stage} p99 budget ${formatMs(targets.p99)} ms`, color: "#7f8c8d" });
  }
  const spread = rates.length > 1 ? (rates[rates.length - 1] as number) / (rates[0] as number) : 1;
  return lineChart({
    title: `${ramp.endpoint}: latency vs offered load (open loop)`,
    xLabel: "offered rate (requests/s)",
    yLabel: "latency (ms)",
    xScale: spread >= 4 ? "log" : "linear",
    yScale: "log",
    series,
    hLines,
    ...(rates.length === 1 ? { xDomain: [(rates[0] as number) / 2, (rates[0] as number) * 2] as [number, number] } : {}),
  });
}

export function chartFileName(endpoint: string): string {
  return `latency-vs-load-${endpoint.replace(/[^A-Za-z0-9_-]/g, "_")}.svg`;
}

export function renderReport(input: ReportInput): RenderedReport {
  const evaluation = input.evaluation ?? evaluateBudgets(input.runs, input.budgets);
  const ramps = input.ramps ?? [];
  const charts = ramps.filter((r) => r.steps.length > 0).map((r) => ({ file: chartFileName(r.endpoint), svg: latencyVsLoadChart(r, input.budgets) }));
  const title = input.title ?? "Load test report";
  const verdict = evaluation.passed ? "PASS: every budget met" : `FAIL: ${evaluation.checks.filter((c) => c.status !== "pass").length} of ${evaluation.checks.length} checks missed or had no data`;

  const md: string[] = [`# ${title}`, ""];
  const txt: string[] = [title, "=".repeat(title.length), ""];
  for (const note of input.notes ?? []) {
    md.push(`- ${note}`);
    txt.push(`* ${note}`);
  }
  if ((input.notes ?? []).length > 0) {
    md.push("");
    txt.push("");
  }
  const section = (heading: string, table: Table, after: string[] = []) => {
    md.push(`## ${heading}`, "", markdownTable(table), "", ...after.flatMap((a) => [a, ""]));
    txt.push(heading, "", textTable(table), "", ...after.flatMap((a) => [a, ""]));
  };

  if (input.runs.length > 0) {
    section(`Budgets: ${verdict}`, checksTable(evaluation.checks));
    section("Runs", runTable(input.runs), [
      "Latency runs from each request's scheduled send time, so queueing in the target and in the generator counts (no coordinated omission); send lag is the generator's own share of it. Timeouts enter the latency at the moment they were given up (a lower bound); dropped requests (in-flight cap reached) were never sent and count as errors only.",
    ]);
    for (const run of input.runs) section(`Latency: ${run.endpoint} at ${formatRate(run.offeredRate)}/s`, latencyTable(run));
  }
  for (const ramp of ramps) {
    const budget = input.budgets.endpoints[ramp.endpoint];
    const after: string[] = [];
    if (budget) {
      const best = sustainableRate(ramp, budgetFor(input.budgets, ramp.endpoint));
      after.push(best === null ? "No step of the ramp met the budget." : `Highest offered rate within budget: ${formatRate(best)}/s.`);
    }
    if (ramp.stoppedEarly) after.push(`Ramp ${ramp.stoppedEarly}.`);
    if (ramp.steps.length > 0) after.push(`![latency vs load](${chartFileName(ramp.endpoint)})`);
    section(`Ramp: ${ramp.endpoint}`, rampTable(ramp, input.budgets), after);
  }
  return { markdown: md.join("\n").trimEnd() + "\n", terminal: txt.join("\n").trimEnd() + "\n", charts, evaluation };
}

/** Writes report.md, results.json and the charts into `dir`; returns the paths written. */
export async function writeReport(dir: string, report: RenderedReport, data: { runs: readonly RunResult[]; ramps?: readonly RampResult[] }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ["report.md", report.markdown],
    ["results.json", `${JSON.stringify({ runs: data.runs, ramps: data.ramps ?? [], evaluation: report.evaluation }, null, 2)}\n`],
    ...report.charts.map((c) => [c.file, c.svg] as [string, string]),
  ];
  const written: string[] = [];
  for (const [name, content] of files) {
    const file = path.join(dir, name);
    await writeFile(file, content);
    written.push(file);
  }
  return written;
}
