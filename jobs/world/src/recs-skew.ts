import { TOPICS } from "@mlsd/contracts";
import { compareRecsServedWithLog, recsFeaturesAsOf, sampleKey, type MemoryRecsFeatureStore, type RecsEvent, type RecsSkewComparison, type ServedRecsAnswer } from "@mlsd/feature-store";
import type { OfflineStoreReader } from "@mlsd/offline-store";
import { createRecWorld, recWorldDayToMs, simulateInteractions } from "@mlsd/synth";
import { worldCatalogue, worldSessions } from "@mlsd/trainer/src/recs/ranker-data";
import type { RecsWorldSpec } from "./calendar";

/**
 * The recommender's training-serving skew over a run: the ranker rows of the answers the
 * recommender logged (`recs.served`), against the rows recomputed from the event log (the state
 * the trainer materialised from the world's history, then every logged impression and click before
 * each answer) by the feature store's own definitions.
 */

export interface RecsSkewReport extends RecsSkewComparison {
  from: string;
  to: string;
  /** Answers in the range, those the ranker scored with logged rows, and those sampled. */
  logged: number;
  ranked: number;
  sampled: number;
  maxLagMs: number;
}

/**
 * The online store's state where the world's history ends, as the trainer materialised it: the same
 * world (preset, size, seed), its simulated sessions, replayed up to the end of its last day.
 */
export function recsHistoryState(spec: RecsWorldSpec): { state: MemoryRecsFeatureStore; endMs: number } {
  const world = createRecWorld({ preset: spec.preset, seed: spec.seed, ...(spec.numUsers ? { numUsers: spec.numUsers } : {}), ...(spec.numItems ? { numItems: spec.numItems } : {}) });
  const impressions = simulateInteractions(world, { seed: spec.seed + 1, sessionsPerUser: spec.sessionsPerUser, slateSize: spec.slateSize });
  const endMs = recWorldDayToMs(world.options.days, spec.originMs);
  // The trainer materialises "as of" one millisecond past the end, so the last day is in.
  const state = recsFeaturesAsOf(worldSessions(world, impressions, spec.originMs), endMs + 1, { catalogue: worldCatalogue(world, spec.originMs) });
  return { state, endMs };
}

export interface MeasureRecsSkewOptions {
  /** The state the log continues from and where it starts (recsHistoryState). */
  base: { state: MemoryRecsFeatureStore; endMs: number };
  /** Answers with from <= time < to are compared. */
  from: number;
  to: number;
  /** Share of answers compared, by a hash of the request id (stable across runs). Default 1. */
  sampleRate?: number;
  /** See compareRecsServedWithLog: how far back a served value may be found as a stale state. Default 0. */
  maxLagMs?: number;
}

export async function measureRecsSkew(reader: OfflineStoreReader, options: MeasureRecsSkewOptions): Promise<RecsSkewReport> {
  const rate = options.sampleRate ?? 1;
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate: must be in (0, 1], got ${rate}`);
  if (!(options.to > options.from)) throw new RangeError("to: must be after from");
  if (options.from < options.base.endMs) throw new RangeError(`from: the log continues the history from ${new Date(options.base.endMs).toISOString()}; nothing before it can be recomputed`);
  const served: ServedRecsAnswer[] = [];
  let logged = 0;
  let ranked = 0;
  for await (const e of reader.eventsOfType(TOPICS.recsServed, "recs.served", { from: options.from, to: options.to })) {
    logged++;
    const p = e.payload;
    // Fallback answers (cold start, popularity) were not ranked from the store's features.
    if (p.fallback !== null || p.items.length === 0 || p.items.some((i) => Object.keys(i.features).length === 0)) continue;
    ranked++;
    if (sampleKey(p.requestId) >= rate) continue;
    served.push({ requestId: p.requestId, userId: p.userId, timeMs: Date.parse(e.eventTime), userFeatures: p.userFeatures, items: p.items.map((i) => ({ itemId: i.itemId, features: i.features })) });
  }
  const events: RecsEvent[] = [];
  const range = { from: options.base.endMs, to: options.to };
  for await (const e of reader.eventsOfType(TOPICS.recsImpressions, "recs.impression", range)) {
    events.push({ kind: "impression", eventId: e.eventId, userId: e.payload.userId, itemId: e.payload.itemId, position: e.payload.position, timeMs: Date.parse(e.eventTime) });
  }
  for await (const e of reader.eventsOfType(TOPICS.recsClicks, "recs.click", range)) {
    events.push({ kind: "click", eventId: e.eventId, userId: e.payload.userId, itemId: e.payload.itemId, position: e.payload.position, timeMs: Date.parse(e.eventTime) });
  }
  const maxLagMs = options.maxLagMs ?? 0;
  const comparison = compareRecsServedWithLog(served, { state: options.base.state, events, maxLagMs });
  return { from: new Date(options.from).toISOString(), to: new Date(options.to).toISOString(), logged, ranked, sampled: served.length, maxLagMs, ...comparison };
}

/** The per-feature table of a report, in Markdown. */
export function renderRecsSkew(report: RecsSkewReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const lines = [
    `${report.logged} answers logged from ${report.from} to ${report.to}, ${report.ranked} ranked from the store's features, ${report.sampled} sampled (${report.rows} item rows); ` +
      `${report.answersWithMismatch} with a value that differs from the log at the answer's time, ${report.answersWithUnexplained} with one no state of the log within ${(report.maxLagMs / 60_000).toFixed(0)} world minutes of the answer explains. ` +
      "Stale: the value the log had before the answer (the stream had not applied the latest events); ahead: a value it had only after (a later answer's events already applied).",
    "",
    "| feature | compared | mismatches | rate | stale | ahead | unexplained | max staleness / lead (world min) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...report.features.map((f) => `| ${f.feature} | ${f.compared} | ${f.mismatches} | ${pct(f.mismatchRate)} | ${f.stale} | ${f.ahead} | ${f.unexplained} | ${(f.maxStalenessMs / 60_000).toFixed(1)} / ${(f.maxAheadMs / 60_000).toFixed(1)} |`),
  ];
  return lines.join("\n");
}
