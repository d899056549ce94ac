import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { lineChart, type LineSeries, type ReferenceLine } from "@mlsd/plot";
import type { Placement } from "./affinity";
import {
  budgetFor,
  evaluateBudgets,
  INSTRUMENT_ERROR_MULTIPLE,
  stepWithinBudget,
  sustainableRate,
  type BudgetCheck,
  type BudgetEvaluation,
  type Budgets,
  type Instrument,
} from "./budgets";
import type { Calibration } from "./calibrate";
import { PERCENTILE_KEYS, type LatencySummary } from "./latency";
import type { RunResult } from "./open-loop";
import type { RampResult } from "./ramp";

export interface ReportInput {
  title?: string;
  runs: readonly RunResult[];
  ramps?: readonly RampResult[];
  budgets: Budgets;
  /** The instrument's own error; null when the calibration was skipped. Omitted: no Instrument section. */
  calibration?: Calibration | null;
  /** Computed from runs, budgets and the calibration when not given. */
  evaluation?: BudgetEvaluation;
  /** What ran on which CPUs. */
  placements?: readonly Placement[];
  /** How the numbers were obtained: the command, the machine, caveats. Printed first. */
  notes?: readonly string[];
}

/** What the gate judges latency budgets with: the calibration's latency, or why there is none. */
export function instrumentOf(calibration: Calibration | null): Instrument {
  if (!calibration) return { error: null, reason: "the instrument's own error was not measured (--calibrate 0)" };
  return { error: calibration.run.latency, rate: calibration.run.offeredRate };
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

const STATUS_WORD = { pass: "PASS", fail: "FAIL", "no-data": "NO DATA", "not-judged": "NOT JUDGED" } as const;

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

function instrumentCell(c: BudgetCheck): string {
  if (c.instrumentError === null) return "not measured";
  if (c.instrumentError !== undefined) return `${formatMs(c.instrumentError)} ms`;
  return c.subject.startsWith("stage ") ? "service clock" : "";
}

function checksTable(checks: readonly BudgetCheck[], withInstrument: boolean): Table {
  return {
    headers: ["endpoint", "check", "measured", "budget", ...(withInstrument ? ["instrument error"] : []), "result"],
    rows: checks.map((c) => [
      c.endpoint,
      c.metric === "share" || c.metric === "rate" ? c.subject : `${c.subject} ${c.metric}`,
      formatCheckValue(c.measured, c.unit),
      `${c.comparison} ${formatCheckValue(c.target, c.unit)}`,
      ...(withInstrument ? [instrumentCell(c)] : []),
      STATUS_WORD[c.status] + (c.note ? ` (${c.note})` : ""),
    ]),
    right: new Set(withInstrument ? [2, 3, 4] : [2, 3]),
  };
}

/** The verdict line: a miss or a gap fails; a budget the instrument cannot resolve is said so, not passed. */
export function verdictOf(evaluation: BudgetEvaluation): string {
  const n = evaluation.checks.length;
  const missed = evaluation.checks.filter((c) => c.status === "fail" || c.status === "no-data").length;
  const notJudged = evaluation.checks.filter((c) => c.status === "not-judged").length;
  if (missed > 0) return `FAIL: ${missed} of ${n} checks missed or had no data${notJudged > 0 ? `; ${notJudged} not judged` : ""}`;
  if (notJudged > 0) return `NOT JUDGED: ${notJudged} of ${n} checks are budgets the instrument cannot resolve; the other ${n - notJudged} met`;
  return "PASS: every budget met";
}

function instrumentTable(run: RunResult): Table {
  const row = (name: string, s: LatencySummary) => [name, String(s.count), ...PERCENTILE_KEYS.map((k) => formatMs(s[k])), formatMs(s.max), formatMs(s.mean)];
  return {
    headers: ["against the null server (ms)", "count", ...PERCENTILE_KEYS, "max", "mean"],
    rows: [row("latency from the scheduled send", run.latency), row("latency from the actual send", run.latencyFromSend), row("send lag (actual - scheduled send)", run.sendLag)],
    right: new Set([1, 2, 3, 4, 5, 6, 7, 8]),
  };
}

function instrumentNotes(calibration: Calibration): string[] {
  const r = calibration.run;
  const server = calibration.builtIn ? "the built-in null server (node:http answering at once, in a process of its own)" : `the null server at ${calibration.url}`;
  return [
    `Measured against ${server} at ${formatRate(r.offeredRate)}/s (${r.arrivals}) for ${r.durationMs / 1000} s after ${r.warmupMs / 1000} s of warm-up, ${r.timer} timer; ${r.counts.ok} of ${r.counts.scheduled} answered OK; generator CPU ${formatMs(cpuPerRequest(r))} ms per request.`,
    `End-to-end latency budgets tighter than ${INSTRUMENT_ERROR_MULTIPLE} x the instrument's latency at the same percentile are not judged (a 4:1 test uncertainty ratio: the instrument may take at most a quarter of a budget). Stage budgets are the service's own clock and are judged regardless.`,
  ];
}

function placementTable(placements: readonly Placement[]): Table {
  return {
    headers: ["process", "pid", "CPUs allowed", "pinned"],
    rows: placements.map((p) => [p.role, String(p.pid), p.cpus, p.pinned ? "yes (taskset)" : "no"]),
    right: new Set([1]),
  };
}

export function cpuPerRequest(run: RunResult): number {
  return run.sentTotal > 0 ? run.generatorCpuMs / run.sentTotal : Number.NaN;
}

function runTable(runs: readonly RunResult[]): Table {
  return {
    headers: ["endpoint", "offered/s", "throughput/s", "scheduled", "ok", "rejected (expected)", "bad status", "timeouts", "transport", "dropped", "error rate", "fallback rate", "send lag p50 / p99 / p99.9 ms", "max in flight", "generator CPU ms/req"],
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
      `${formatMs(r.sendLag.p50)} / ${formatMs(r.sendLag.p99)} / ${formatMs(r.sendLag.p999)}`,
      String(r.maxInFlightSeen),
      formatMs(cpuPerRequest(r)),
    ]),
    right: new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
  };
}

function latencyTable(run: RunResult): Table {
  const row = (name: string, s: LatencySummary) => [name, String(s.count), ...PERCENTILE_KEYS.map((k) => formatMs(s[k])), formatMs(s.max), formatMs(s.mean)];
  return {
    headers: ["series (ms)", "count", ...PERCENTILE_KEYS, "max", "mean"],
    rows: [
      row("end to end (from scheduled send)", run.latency),
      row("end to end (from actual send)", run.latencyFromSend),
      row("send lag (generator)", run.sendLag),
      ...Object.entries(run.stages).map(([stage, s]) => row(`stage ${stage} (service clock)`, s)),
    ],
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
  const withInstrument = input.calibration !== undefined;
  const evaluation = input.evaluation ?? evaluateBudgets(input.runs, input.budgets, withInstrument ? instrumentOf(input.calibration ?? null) : undefined);
  const ramps = input.ramps ?? [];
  const charts = ramps.filter((r) => r.steps.length > 0).map((r) => ({ file: chartFileName(r.endpoint), svg: latencyVsLoadChart(r, input.budgets) }));
  const title = input.title ?? "Load test report";
  const verdict = verdictOf(evaluation);

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

  if (input.runs.length > 0) section(`Budgets: ${verdict}`, checksTable(evaluation.checks, withInstrument));
  if (input.calibration) {
    const r = input.calibration.run;
    section(`Instrument: the generator's own error at ${formatRate(r.offeredRate)}/s`, instrumentTable(r), instrumentNotes(input.calibration));
  } else if (input.calibration === null) {
    md.push("## Instrument", "", "The instrument's own error was not measured (--calibrate 0), so no end-to-end latency budget was judged.", "");
    txt.push("Instrument", "", "The instrument's own error was not measured (--calibrate 0), so no end-to-end latency budget was judged.", "");
  }
  if (input.placements && input.placements.length > 0) section("Where it ran", placementTable(input.placements));
  if (input.runs.length > 0) {
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
export async function writeReport(
  dir: string,
  report: RenderedReport,
  data: { runs: readonly RunResult[]; ramps?: readonly RampResult[]; calibration?: Calibration | null; placements?: readonly Placement[] },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const results = { runs: data.runs, ramps: data.ramps ?? [], calibration: data.calibration ?? null, placements: data.placements ?? [], evaluation: report.evaluation };
  const files: [string, string][] = [
    ["report.md", report.markdown],
    ["results.json", `${JSON.stringify(results, null, 2)}\n`],
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
