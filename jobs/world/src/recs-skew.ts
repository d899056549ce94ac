import { TOPICS } from "@mlsd/contracts";
import { compareRecsServedWithLog, recsFeaturesAsOf, sampleKey, type MemoryRecsFeatureStore, type RecsEvent, type RecsSkewComparison, type ServedRecsAnswer } from "@mlsd/feature-store";
import type { OfflineStoreReader } from "@mlsd/offline-store";
import { Gauge, type Registry } from "prom-client";
import { createRecWorld, recWorldDayToMs, simulateInteractions } from "@mlsd/synth";
import { worldCatalogue, worldSessions } from "@mlsd/trainer/src/recs/ranker-data";
import type { RecsWorldSpec } from "./calendar";

/**
 * The recommender's training-serving skew over a run: the ranker rows of the answers the
 * recommender logged (`recs.served`), against the rows recomputed from the event log (the state
 * the trainer materialised from the world's history, then, per entity, exactly the logged
 * impressions and clicks at or below the log offsets the answer's reads had applied) by the
 * feature store's own definitions.
 */

export interface RecsSkewReport extends RecsSkewComparison {
  from: string;
  to: string;
  /** Answers in the range, those the ranker scored with logged rows, and those sampled. */
  logged: number;
  ranked: number;
  sampled: number;
  /** Sampled answers left out by `maxAnswers`. */
  skipped: number;
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
  /** At most this many sampled answers are compared (the first in event time); the rest are counted as skipped. Default: all. */
  maxAnswers?: number;
}

export async function measureRecsSkew(reader: OfflineStoreReader, options: MeasureRecsSkewOptions): Promise<RecsSkewReport> {
  const rate = options.sampleRate ?? 1;
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate: must be in (0, 1], got ${rate}`);
  if (!(options.to > options.from)) throw new RangeError("to: must be after from");
  if (options.from < options.base.endMs) throw new RangeError(`from: the log continues the history from ${new Date(options.base.endMs).toISOString()}; nothing before it can be recomputed`);
  const maxAnswers = options.maxAnswers ?? Number.POSITIVE_INFINITY;
  if (!(maxAnswers >= 1)) throw new RangeError(`maxAnswers: must be at least 1, got ${maxAnswers}`);
  const served: ServedRecsAnswer[] = [];
  let logged = 0;
  let ranked = 0;
  let skipped = 0;
  for await (const e of reader.eventsOfType(TOPICS.recsServed, "recs.served", { from: options.from, to: options.to })) {
    logged++;
    const p = e.payload;
    // Fallback answers (cold start, popularity) were not ranked from the store's features.
    if (p.fallback !== null || p.items.length === 0 || p.items.some((i) => Object.keys(i.features).length === 0)) continue;
    ranked++;
    if (sampleKey(p.requestId) >= rate) continue;
    if (served.length >= maxAnswers) {
      skipped++;
      continue;
    }
    served.push({
      requestId: p.requestId,
      userId: p.userId,
      timeMs: Date.parse(e.eventTime),
      userFeatures: p.userFeatures,
      userApplied: p.userApplied,
      rowsUserApplied: p.rowsUserApplied,
      items: p.items.map((i) => ({ itemId: i.itemId, features: i.features, applied: i.applied })),
    });
  }
  // Every logged event after the history, whatever its time (a state may hold events stamped after
  // the answer), of the users and items the compared answers read: the replay needs no other.
  const users = new Set(served.map((a) => a.userId));
  const items = new Set(served.flatMap((a) => a.items.map((i) => i.itemId)));
  const events: RecsEvent[] = [];
  const range = { from: options.base.endMs };
  for (const [topic, type, kind] of [[TOPICS.recsImpressions, "recs.impression", "impression"], [TOPICS.recsClicks, "recs.click", "click"]] as const) {
    for await (const { event: e, position } of reader.recordsOfType(topic, type, range)) {
      const p = e.payload;
      if (!users.has(p.userId) && !items.has(p.itemId)) continue;
      events.push({ kind, eventId: e.eventId, userId: p.userId, itemId: p.itemId, position: p.position, timeMs: Date.parse(e.eventTime), ...(position ? { source: position } : {}) });
    }
  }
  const comparison = compareRecsServedWithLog(served, { state: options.base.state, events });
  return { from: new Date(options.from).toISOString(), to: new Date(options.to).toISOString(), logged, ranked, sampled: served.length, skipped, ...comparison };
}

/**
 * The check's result as Prometheus gauges: the mismatch rate per feature, and how many answers
 * were compared, had a log gap, or were logged without offsets. Set on every run of the check.
 */
export function recsSkewGauges(registry: Registry): { set(report: RecsSkewReport): void } {
  const rate = new Gauge({ name: "recs_skew_mismatch_rate", help: "Share of served values that differ from the offline replay of the log, per ranker feature", labelNames: ["feature"] as const, registers: [registry] });
  const answers = new Gauge({ name: "recs_skew_answers", help: "Served answers in the last skew check: compared, with a log gap, logged without offsets, sampled but skipped by the per-check bound", labelNames: ["kind"] as const, registers: [registry] });
  return {
    set(report) {
      for (const f of report.features) rate.set({ feature: f.feature }, f.mismatchRate);
      answers.set({ kind: "compared" }, report.answers);
      answers.set({ kind: "log_gap" }, report.answersWithLogGap);
      answers.set({ kind: "without_offsets" }, report.withoutOffsets);
      answers.set({ kind: "skipped" }, report.skipped);
    },
  };
}

/** The per-feature table of a report, in Markdown. */
export function renderRecsSkew(report: RecsSkewReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const lines = [
    `${report.logged} answers logged from ${report.from} to ${report.to}, ${report.ranked} ranked from the store's features, ${report.sampled} sampled (${report.rows} item rows in ${report.answers} answers compared` +
      `${report.withoutOffsets > 0 ? `; ${report.withoutOffsets} logged without applied offsets, left out` : ""}); ` +
      `${report.answersWithMismatch} with a value that differs from the replay of the log, ${report.answersWithLogGap} whose offsets the log does not reach. ` +
      "Each answer is compared with the state it read: the recommender logs, with each entity's features, the log offsets that state had applied per topic partition, " +
      "and the replay applies exactly the logged events at or below them, however far the stream lagged or led the answer.",
    "",
    "| feature | compared | mismatches | rate | served missing | offline missing |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...report.features.map((f) => `| ${f.feature} | ${f.compared} | ${f.mismatches} | ${pct(f.mismatchRate)} | ${f.servedMissing} | ${f.offlineMissing} |`),
  ];
  return lines.join("\n");
}
