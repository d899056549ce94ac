import type { Clock } from "@mlsd/loadgen";
import { TOPICS } from "@mlsd/contracts";
import { HOUR_MS, OfflineStoreReader } from "@mlsd/offline-store";
import type { Registry } from "prom-client";
import type { RecsWorldSpec } from "./calendar";
import type { WorldCounters } from "./counters";
import { startMetricsServer, worldCounterMetrics, worldRegistry, type MetricsServer } from "./metrics";
import { measureRecsSkew, recsHistoryState } from "./recs-skew";
import { RecsSkewChecker, skewSummary } from "./skew-check";

/** The periodic skew check's settings (the CLI's --skew-* flags). */
export interface SkewCheckSettings {
  /** The event logger's offline store. */
  offlineStoreDir: string;
  /** The recommendation world the models were trained on: the log continues its history. */
  spec: RecsWorldSpec;
  everyMs: number;
  sampleRate: number;
  maxAnswers: number;
  /** World ms a window stays behind the clock (the event logger's lag). */
  settleMs: number;
}

export interface WorldMonitoringOptions {
  /** The metrics port (0: a free one); null: no endpoint. */
  port: number | null;
  counters: () => WorldCounters | null;
  /** null: no skew check. */
  skew: SkewCheckSettings | null;
  /** The services' clock, world ms. */
  worldNow: () => number;
  timer: Clock;
  log: (line: string) => void;
}

export interface WorldMonitoring {
  registry: Registry;
  server: MetricsServer | null;
  checker: RecsSkewChecker | null;
  /**
   * One last check over what the run left (waiting out log gaps up to `patienceMs`), then stops the
   * schedule: the line the summary prints.
   */
  finish(patienceMs?: number): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * What the world exports while it runs: its counters and the recommender's skew check on the
 * offline store, at GET /metrics. The check's base state (the history replayed as the trainer
 * materialised it) is computed once here, before the traffic starts.
 */
export async function startWorldMonitoring(options: WorldMonitoringOptions): Promise<WorldMonitoring> {
  const registry = worldRegistry();
  worldCounterMetrics(registry, options.counters);
  let checker: RecsSkewChecker | null = null;
  const skew = options.skew;
  if (skew) {
    const base = recsHistoryState(skew.spec);
    const reader = new OfflineStoreReader(skew.offlineStoreDir);
    checker = new RecsSkewChecker({
      measure: (window) => measureRecsSkew(reader, { base, ...window, sampleRate: skew.sampleRate, maxAnswers: skew.maxAnswers }),
      worldNow: options.worldNow,
      logReached: () => logReached(reader),
      timer: options.timer,
      everyMs: skew.everyMs,
      fromMs: base.endMs,
      settleMs: skew.settleMs,
      registry,
      log: options.log,
    });
    checker.start();
  }
  const server = options.port === null ? null : await startMetricsServer(registry, options.port);
  let closed = false;
  return {
    registry,
    server,
    checker,
    async finish(patienceMs = 10_000) {
      if (!checker) return null;
      await checker.stop();
      const until = options.timer.now() + patienceMs;
      for (;;) {
        const result = await checker.check();
        if (result.outcome !== "retry" || options.timer.now() >= until) break;
        await new Promise((resolve) => options.timer.setTimer(1_000, () => resolve(undefined)));
      }
      const last = checker.last;
      const runs = Object.entries(checker.outcomes).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
      return last ? `recs skew, last check (world ${new Date(last.window.from).toISOString()} -> ${new Date(last.window.to).toISOString()}): ${skewSummary(last.report)}; checks: ${runs}` : `recs skew: no check compared an answer (checks: ${runs || "none"})`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await checker?.stop();
      await server?.close();
    },
  };
}

/** The newest event time of a topic in the offline store (world ms; null: none): its latest partition-hour with an event. */
export async function newestEventTime(reader: OfflineStoreReader, topic: string): Promise<number | null> {
  const partitions = await reader.partitions(topic);
  for (let i = partitions.length - 1; i >= 0; i--) {
    const p = partitions[i] as (typeof partitions)[number];
    let newest: number | null = null;
    for await (const e of reader.events(topic, { from: p.startMs, to: p.startMs + HOUR_MS, order: "arrival" })) {
      const t = Date.parse(e.eventTime);
      if (newest === null || t > newest) newest = t;
    }
    if (newest !== null) return newest;
  }
  return null;
}

/**
 * How far the log goes for the skew check: the newest logged answer, or less when the event logger
 * has written the impressions or clicks (the events an answer's reads applied) less far; a topic
 * with nothing logged yet does not hold the others back (a read with events missing is caught as a
 * log gap and checked again).
 */
export async function logReached(reader: OfflineStoreReader): Promise<number | null> {
  const served = await newestEventTime(reader, TOPICS.recsServed);
  if (served === null) return null;
  let reached = served;
  for (const topic of [TOPICS.recsImpressions, TOPICS.recsClicks]) {
    const t = await newestEventTime(reader, topic);
    if (t !== null && t < reached) reached = t;
  }
  return reached;
}
