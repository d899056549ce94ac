import { LatencyRecorder, type LatencySummary } from "@mlsd/loadgen";
import { worldStamp } from "./timeline";

/** The four requests the world makes. */
export const ENDPOINTS = ["recommend", "click", "score", "label"] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

const zeros = (): Record<Endpoint, number> => ({ recommend: 0, click: 0, score: 0, label: 0 });

/** What the world has done so far: requests and their answers, clicks, decisions, labels. */
export class WorldCounters {
  readonly sent = zeros();
  readonly ok = zeros();
  /** `<endpoint> <status>`, `<endpoint> timeout` or `<endpoint> network`: each failure kind, counted. */
  readonly errors = new Map<string, number>();
  readonly latency: Record<Endpoint, LatencyRecorder> = { recommend: new LatencyRecorder(), click: new LatencyRecorder(), score: new LatencyRecorder(), label: new LatencyRecorder() };
  readonly recs = { answers: 0, impressions: 0, examined: 0, clicks: 0, fallbacks: 0, unknownItems: 0, dcg: 0, idealDcg: 0, idealAnswers: 0 };
  readonly fraud = { answers: 0, frauds: 0, caught: 0, declined: 0, reviewed: 0, legitDeclined: 0, degraded: 0, labelsPlanned: 0, labelsWithheld: 0 };
  /** Recommendation answers by the fallback that served them (cold-start, popularity, ...). */
  readonly fallbacks = new Map<string, number>();
  outcomes = 0;
  /** How far the world is behind its schedule, in real milliseconds (0 when on time). */
  behindMs = 0;
  maxBehindMs = 0;
  drifts: string[] = [];

  /** The first message seen of each failure kind (what a status alone does not say). */
  readonly firstErrors = new Map<string, string>();

  error(endpoint: Endpoint, kind: string | number, message?: string): void {
    const key = `${endpoint} ${kind}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    if (message !== undefined && !this.firstErrors.has(key)) this.firstErrors.set(key, message.slice(0, 200));
  }

  get errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  /** Errors by kind, most frequent first: `score 503 x4, click 404 x1`. */
  errorSummary(): string {
    if (this.errors.size === 0) return "none";
    return [...this.errors.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, v]) => `${k} x${v}`)
      .join(", ");
  }
}

/** Requests per real second the world's rates ask for at its clock speed. */
export interface AskedRates {
  recommend: number;
  score: number;
}

export interface ProgressSnapshot {
  realMs: number;
  sent: Record<Endpoint, number>;
}

export function snapshot(counters: WorldCounters, realMs: number): ProgressSnapshot {
  return { realMs, sent: { ...counters.sent } };
}

const rate = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/**
 * One progress line: world time, each design's requests with the real rate achieved since the
 * last line against the rate asked, clicks and labels, errors, and how far behind schedule.
 */
export function progressLine(counters: WorldCounters, worldMs: number, asked: AskedRates, previous: ProgressSnapshot, now: ProgressSnapshot, inFlight: number): string {
  const dt = now.realMs - previous.realMs;
  const d = (e: Endpoint) => now.sent[e] - previous.sent[e];
  const parts = [`world ${worldStamp(worldMs)}`];
  if (asked.recommend > 0) parts.push(`recs ${counters.sent.recommend} (${fmt(rate(d("recommend"), dt))}/s of ${fmt(asked.recommend)}/s) clicks ${counters.sent.click}`);
  if (asked.score > 0) parts.push(`fraud ${counters.sent.score} (${fmt(rate(d("score"), dt))}/s of ${fmt(asked.score)}/s) labels ${counters.sent.label}`);
  parts.push(`errors ${counters.errorCount}`, `in flight ${inFlight}`, `behind ${(counters.behindMs / 1000).toFixed(1)} s`);
  return parts.join(" | ");
}

function latencyCell(s: LatencySummary): string {
  return s.count === 0 ? "-" : `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)}`;
}

/** The final table: per endpoint, then what the users and card holders did, then errors. */
export function renderSummary(counters: WorldCounters, run: { realMs: number; worldFromMs: number; worldToMs: number; asked: AskedRates }): string {
  const lines: string[] = [];
  const days = (run.worldToMs - run.worldFromMs) / 86_400_000;
  lines.push(`world ran ${(run.realMs / 1000).toFixed(1)} s real: ${worldStamp(run.worldFromMs)} -> ${worldStamp(run.worldToMs)} (${days.toFixed(2)} world days)`);
  lines.push("endpoint    sent      ok  errors  rate/s (asked)  latency p50 / p99 ms");
  for (const e of ENDPOINTS) {
    if (counters.sent[e] === 0 && !(e in run.asked && run.asked[e as keyof AskedRates] > 0)) continue;
    const asked = e in run.asked ? ` (${fmt(run.asked[e as keyof AskedRates])})` : "";
    const errs = counters.sent[e] - counters.ok[e];
    lines.push(
      `${e.padEnd(9)} ${String(counters.sent[e]).padStart(6)} ${String(counters.ok[e]).padStart(7)} ${String(errs).padStart(7)}  ${`${fmt(rate(counters.sent[e], run.realMs))}${asked}`.padEnd(14)}  ${latencyCell(counters.latency[e].summary())}`,
    );
  }
  const r = counters.recs;
  if (r.answers > 0) {
    const ndcg = r.idealDcg > 0 ? ` | NDCG vs true relevance ${(r.dcg / r.idealDcg).toFixed(3)}` : "";
    lines.push(
      `recs: ${r.answers} answers, ${r.impressions} items shown, ${r.examined} examined, ${r.clicks} clicks (CTR ${(r.clicks / Math.max(1, r.impressions)).toFixed(4)}, ${(r.clicks / r.answers).toFixed(3)} per answer), ` +
        `${r.fallbacks} fallback answers${r.fallbacks > 0 ? ` (${[...counters.fallbacks.entries()].map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}${ndcg}` +
        (r.unknownItems > 0 ? `, ${r.unknownItems} items unknown to the world` : ""),
    );
  }
  const f = counters.fraud;
  if (f.answers > 0) {
    lines.push(
      `fraud: ${f.answers} decisions, ${f.frauds} frauds (${((100 * f.frauds) / f.answers).toFixed(2)} %), ${f.caught} caught (declined or reviewed: ${f.frauds > 0 ? ((100 * f.caught) / f.frauds).toFixed(1) : "-"} %), ` +
        `${f.declined} declined, ${f.reviewed} reviewed, ${f.legitDeclined} legitimate declined, ${f.degraded} degraded; labels sent ${counters.sent.label} of ${f.labelsPlanned} planned (${f.labelsWithheld} withheld)`,
    );
  }
  lines.push(`ground truth events: ${counters.outcomes}; drift injected: ${counters.drifts.length > 0 ? counters.drifts.join(", ") : "none"}`);
  lines.push(`behind schedule at most ${(counters.maxBehindMs / 1000).toFixed(1)} s; errors: ${counters.errorSummary()}`);
  for (const [kind, message] of counters.firstErrors) lines.push(`  first ${kind}: ${message}`);
  return lines.join("\n");
}
