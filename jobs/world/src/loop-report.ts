import { TOPICS, type RetrainDecisionPayload } from "@mlsd/contracts";
import { ModelRegistry } from "@mlsd/model-registry";
import type { OfflineStoreReader } from "@mlsd/offline-store";
import { renderRecsSkew, type RecsSkewReport } from "./recs-skew";

/**
 * One turn of the loop, read back from what the run logged: when the world's drift began (its
 * ground truth names the drifts in force), when the drift monitor alarmed and asked for a retrain,
 * what the retrain controller decided, and the candidate's numbers next to the model in service's
 * on the same rows (from the candidate's manifest).
 */

export interface LoopTimeline {
  drift: { name: string; atMs: number; firstOutcomeMs: number } | null;
  requests: { model: string; reason: string; requestedBy: string; alarmMs: number | null; windowStart: string | null; breached: { feature: string; psi: number }[] }[];
  decisions: (RetrainDecisionPayload & { atMs: number })[];
  /** The comparison in each trained candidate's manifest, by version. */
  candidates: Map<string, Record<string, unknown>>;
}

export async function readLoopTimeline(reader: OfflineStoreReader, registryDir: string): Promise<LoopTimeline> {
  let drift: LoopTimeline["drift"] = null;
  for await (const e of reader.eventsOfType(TOPICS.worldFraudOutcomes, "world.fraud-outcome")) {
    const name = e.payload.drift[0];
    const at = Date.parse(e.eventTime);
    if (name === undefined || (drift && drift.firstOutcomeMs <= at)) continue;
    // `card-testing@2024-02-09T00:00:00.000Z`: the drift's own start, then its first transaction.
    const declared = Date.parse(name.slice(name.indexOf("@") + 1));
    drift = { name, atMs: Number.isFinite(declared) ? declared : at, firstOutcomeMs: at };
  }
  const requests: LoopTimeline["requests"] = [];
  // The drift monitor stamps requests with its own (wall) clock; the alarm's event time is the window's end.
  for await (const e of reader.eventsOfType(TOPICS.mlRetrainRequests, "ml.retrain-request")) {
    const p = e.payload;
    requests.push({
      model: p.model,
      reason: p.reason,
      requestedBy: p.requestedBy,
      alarmMs: p.driftSummary ? Date.parse(p.driftSummary.windowEnd) : null,
      windowStart: p.driftSummary?.windowStart ?? null,
      breached: (p.driftSummary?.findings ?? []).filter((f) => f.breached).map((f) => ({ feature: f.feature, psi: f.value })),
    });
  }
  requests.sort((a, b) => (a.alarmMs ?? 0) - (b.alarmMs ?? 0));
  const decisions: LoopTimeline["decisions"] = [];
  for await (const e of reader.eventsOfType(TOPICS.mlRetrainDecisions, "ml.retrain-decision")) decisions.push({ ...e.payload, atMs: Date.parse(e.eventTime) });
  decisions.sort((a, b) => a.atMs - b.atMs);
  const registry = new ModelRegistry(registryDir);
  const candidates = new Map<string, Record<string, unknown>>();
  for (const d of decisions) {
    if (d.candidateVersion === null) continue;
    const comparison = registry.manifest(d.model, d.candidateVersion).metrics.comparison;
    if (comparison && typeof comparison === "object") candidates.set(d.candidateVersion, comparison as Record<string, unknown>);
  }
  return { drift, requests, decisions, candidates };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const num = (x: unknown, digits = 4) => (typeof x === "number" && Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(digits)) : "-");

export interface LoopReportInput {
  timeline: LoopTimeline;
  /** The command that ran the loop and wrote this report. */
  command: string;
  /** What ran (sizes, clock, settings), one line each, from the run's own settings. */
  setup: string[];
  skew: RecsSkewReport | null;
  /** The world's periodic skew check while it ran (its /metrics): one line per check that compared answers, and the checks run by outcome. */
  liveChecks?: { lines: string[]; outcomes: Record<string, number> } | null;
}

export function renderLoopReport(input: LoopReportInput): string {
  const { timeline: t } = input;
  const rows: string[][] = [];
  if (t.drift) rows.push([iso(t.drift.atMs), "drift injected (world)", `${t.drift.name}; its first transaction at ${iso(t.drift.firstOutcomeMs)}`]);
  for (const r of t.requests) {
    const features = r.breached.map((f) => `${f.feature} (PSI ${f.psi.toFixed(3)})`).join(", ");
    rows.push([r.alarmMs === null ? "-" : iso(r.alarmMs), `drift alarm -> retrain request (${r.requestedBy})`, `${r.model}, reason ${r.reason}; window from ${r.windowStart ?? "-"}; breached: ${features || "none"}`]);
  }
  for (const d of t.decisions) {
    const metric = d.metric ? `; ${d.metric}: candidate ${num(d.candidateMetric)} vs in service ${num(d.baselineMetric)}` : "";
    rows.push([iso(d.atMs), `retrain decision: ${d.decision}`, `${d.model}, trigger ${d.trigger}${d.candidateVersion ? `, candidate ${d.candidateVersion}` : ""}${metric}; training took ${(d.durationMs / 1000).toFixed(1)} s real; ${d.reason}`]);
  }
  rows.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
  const episodes = t.decisions.filter((d) => d.decision !== "debounced").length;
  const debounced = t.decisions.filter((d) => d.decision === "debounced").length;
  const out = [
    "# The loop, one run",
    "",
    "Written by the run itself from its own events (the event logger's offline store) and the candidate's manifest:",
    "",
    "```bash",
    input.command,
    "```",
    "",
    ...input.setup.map((line) => `- ${line}`),
    "",
    "## Timeline (world time)",
    "",
    "| world time | event | details |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `${t.requests.length} retrain request(s), ${episodes} retrain episode(s) run, ${debounced} request(s) debounced.`,
  ];
  for (const d of t.decisions) {
    const c = d.candidateVersion ? t.candidates.get(d.candidateVersion) : undefined;
    if (!c) continue;
    const candidate = (c.candidate ?? {}) as Record<string, unknown>;
    const baseline = (c.baseline ?? null) as Record<string, unknown> | null;
    const windows = (c.windows ?? {}) as Record<string, [string, string] | string>;
    const rowCounts = (c.rows ?? {}) as Record<string, number>;
    const metrics = Object.keys(candidate).filter((k) => k !== "version");
    out.push(
      "",
      `## Candidate ${d.model}@${d.candidateVersion} vs the model in service, on the next window`,
      "",
      `Trained on ${fmtWindow(windows.train)} (${rowCounts.train ?? "-"} rows, ${rowCounts.validation ?? "-"} for validation), evaluated on ${fmtWindow(windows.evaluation)} ` +
        `(${rowCounts.evaluation ?? "-"} rows${rowCounts.evaluationFrauds !== undefined ? `, ${rowCounts.evaluationFrauds} frauds` : ""}), as of ${typeof windows.asOf === "string" ? windows.asOf : "-"}.`,
      "",
      `| model | version | ${metrics.join(" | ")} |`,
      `| --- | --- | ${metrics.map(() => "---:").join(" | ")} |`,
      `| candidate | ${String(candidate.version)} | ${metrics.map((m) => num(candidate[m])).join(" | ")} |`,
      baseline ? `| in service | ${String(baseline.version)} | ${metrics.map((m) => num(baseline[m])).join(" | ")} |` : "| in service | none | |",
      "",
      `Decision: **${d.decision}** (${d.reason}).`,
    );
  }
  if (input.skew) {
    out.push("", "## Recommendation features: served vs recomputed from the log", "", renderRecsSkew(input.skew));
  }
  if (input.liveChecks) {
    const runs = Object.entries(input.liveChecks.outcomes).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
    out.push(
      "",
      "## The same check, live: the world's /metrics while it ran",
      "",
      `The world checks the answers logged since its last check every few seconds (sampled, capped, never past the newest answer the event logger has written) and exports the result as \`recs_skew_mismatch_rate{feature}\`. Checks run: ${runs || "none"}. Those that compared answers:`,
      "",
      ...(input.liveChecks.lines.length > 0 ? input.liveChecks.lines.map((l) => `- ${l}`) : ["- none"]),
    );
  }
  return `${out.join("\n")}\n`;
}

function fmtWindow(w: [string, string] | string | undefined): string {
  return Array.isArray(w) ? `${w[0]} .. ${w[1]}` : "-";
}
