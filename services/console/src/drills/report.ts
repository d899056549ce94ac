import type { ProbeResult, ProbeTarget } from "./probe";

export interface PhaseStats {
  requests: number;
  /** Share answered 200. */
  availability: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Answers by outcome (`model`, a fallback kind, `degraded`, `error`). */
  outcomes: Record<string, number>;
}

export interface Expectation {
  /** Stated before the drill runs. */
  text: string;
  pass: boolean | null;
  /** What was measured. */
  observed: string;
}

export interface DrillReport {
  drill: string;
  description: string;
  startedAt: string;
  finishedAt: string;
  settings: Record<string, number | string>;
  /** Real ms from the drill's start: when the fault began and ended. */
  fault: { startMs: number; endMs: number | null };
  /** Real ms from the fault's start to the first answer that showed it (error, degraded or fallback), null if none. */
  timeToDetectMs: number | null;
  /** Real ms from the fault's end until answers were normal again (a run of normal answers), null if they never were. */
  timeToRecoverMs: number | null;
  phases: Record<ProbeTarget, Record<string, PhaseStats>>;
  expectations: Expectation[];
  pass: boolean;
  notes: string[];
  /** Drill-specific tables or lists, rendered as Markdown after the phases. */
  sections?: { title: string; lines: string[] }[];
}

/** The nearest-rank quantile of a list of numbers (null when empty). */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const round = (x: number | null, digits = 1) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

export function phaseStats(results: readonly ProbeResult[]): PhaseStats {
  const outcomes: Record<string, number> = {};
  for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const ok = results.filter((r) => r.ok);
  return {
    requests: results.length,
    availability: results.length === 0 ? null : round(ok.length / results.length, 4),
    p50Ms: round(quantile(ok.map((r) => r.ms), 0.5)),
    p99Ms: round(quantile(ok.map((r) => r.ms), 0.99)),
    outcomes,
  };
}

export function statsByPhase(results: readonly ProbeResult[]): Record<ProbeTarget, Record<string, PhaseStats>> {
  const out = { fraud: {}, recommender: {} } as Record<ProbeTarget, Record<string, PhaseStats>>;
  const groups = new Map<string, ProbeResult[]>();
  for (const r of results) {
    const key = `${r.target}\u0000${r.phase}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  for (const [key, list] of groups) {
    const [target, phase] = key.split("\u0000") as [ProbeTarget, string];
    out[target][phase] = phaseStats(list);
  }
  return out;
}

/** A sign of the fault: an error, a degraded answer or a fallback. A cold start (a user the models do not know) is the normal answer for that user. */
export const abnormal = (r: ProbeResult) => !r.ok || (r.outcome !== "model" && r.outcome !== "cold-start");

/** From the fault's start, the first probe answer that shows it. */
export function timeToDetect(results: readonly ProbeResult[], faultStartMs: number): number | null {
  const first = results.filter((r) => r.at >= faultStartMs && abnormal(r)).sort((a, b) => a.at - b.at)[0];
  return first ? first.at - faultStartMs : null;
}

/**
 * From the fault's end, when the answers were normal again: the send time of the first of `run`
 * consecutive normal answers (per target, the later of the targets). Null if that never happened.
 */
export function timeToRecover(results: readonly ProbeResult[], faultEndMs: number, run = 10): number | null {
  let worst = 0;
  for (const target of new Set(results.map((r) => r.target))) {
    const after = results.filter((r) => r.target === target && r.at >= faultEndMs).sort((a, b) => a.at - b.at);
    let streak = 0;
    let found: number | null = null;
    for (let i = 0; i < after.length; i++) {
      streak = abnormal(after[i] as ProbeResult) ? 0 : streak + 1;
      if (streak === run) {
        found = (after[i - run + 1] as ProbeResult).at - faultEndMs;
        break;
      }
    }
    if (found === null) return null;
    worst = Math.max(worst, found);
  }
  return worst;
}

const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)} %`);
const msText = (x: number | null) => (x === null ? "n/a" : `${x} ms`);

/** The report as Markdown: what `--save` writes under docs/drills/. */
export function renderReport(report: DrillReport, command: string): string {
  const lines = [
    `# Drill: ${report.drill} (${report.pass ? "PASS" : "FAIL"})`,
    "",
    report.description,
    "",
    "```",
    command,
    "```",
    "",
    `Ran ${report.startedAt} to ${report.finishedAt}. Settings: ${Object.entries(report.settings).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    `Fault from ${(report.fault.startMs / 1000).toFixed(1)} s${report.fault.endMs === null ? "" : ` to ${(report.fault.endMs / 1000).toFixed(1)} s`} of the drill; time to detect ${msText(report.timeToDetectMs)}, time to recover ${msText(report.timeToRecoverMs)}.`,
    "",
    "| expectation (stated up front) | observed | result |",
    "|---|---|---|",
    ...report.expectations.map((e) => `| ${e.text} | ${e.observed} | ${e.pass === null ? "not judged" : e.pass ? "pass" : "FAIL"} |`),
    "",
    "| target | phase | requests | availability | p50 | p99 | outcomes |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const [target, phases] of Object.entries(report.phases)) {
    for (const [phase, s] of Object.entries(phases)) {
      lines.push(`| ${target} | ${phase} | ${s.requests} | ${pct(s.availability)} | ${msText(s.p50Ms)} | ${msText(s.p99Ms)} | ${Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")} |`);
    }
  }
  for (const section of report.sections ?? []) lines.push("", `## ${section.title}`, "", ...section.lines);
  if (report.notes.length > 0) lines.push("", ...report.notes.map((n) => `- ${n}`));
  return `${lines.join("\n")}\n`;
}
