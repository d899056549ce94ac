import fs from "node:fs";
import path from "node:path";
import { TOPICS } from "@mlsd/contracts";
import { systemClock, type Clock } from "@mlsd/loadgen";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { ModelRegistry } from "@mlsd/model-registry";
import { OfflineStoreReader } from "@mlsd/offline-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDrift, type WorldDrift } from "./drift";
import { RECS_SKEW_ITEM_FEATURES, RECS_SKEW_USER_FEATURES } from "@mlsd/feature-store";
import { WorldCounters } from "./counters";
import { readLoopTimeline, renderLoopReport, type LoopTimeline } from "./loop-report";
import { startWorldMonitoring, type WorldMonitoring } from "./monitoring";
import { Registry } from "prom-client";
import { measureRecsSkew, recsHistoryState, recsSkewGauges, renderRecsSkew, type RecsSkewReport } from "./recs-skew";
import { FRAUD, RECS, SPEED, START, startSystem, type System } from "./system.test-helper";
import { DAY_MS } from "./timeline";
import { runWorld, type WorldRunResult } from "./world";

/**
 * The loop, end to end on real Redis and Kafka: the world's traffic is served and logged, the event
 * logger writes the offline store, a card-testing wave injected at day 10 makes the drift monitor
 * alarm and ask for a retrain, the retrain controller runs the trainer from the log (its own
 * process, `trainer fraud --from-log --json`), and the candidate is judged against the model in
 * service on the following window (PROMOTION=if-better; the rollout path has its own test in
 * services/rollout-controller). The drift stays in force after the retrain, so any further alarm
 * falls in the debounce: one drift, one retrain episode. Meanwhile the recommender logs the ranker
 * rows it served, and they are compared with a recomputation from the log.
 *
 * With LOOP_REPORT=<file> the run writes its timeline there (`npm run loop:report -w @mlsd/world`).
 */

const run = `loop-${Date.now().toString(36)}`;
/**
 * Late enough that the retrain, a label horizon (7 days) before it and after the event logger's lag
 * (up to a world day and a half under the wave on a loaded machine), still finds two days of
 * logged, labelled decisions after the world's start.
 */
const DRIFT_AT_DAYS = 10;
/** The world stops this long (world time) after the retrain decision, so a second alarm would have time to come. */
const AFTER_DECISION_MS = 1.5 * DAY_MS;
/** A bound only: on a loaded machine the request and the training can take many world days (a world day is 5 s real). */
const LAST_DAY = 24;
const RETRAIN = { DESIGNS: "fraud", PROMOTION: "if-better", TRAIN_DAYS: "2", GAP_DAYS: "0", EVAL_DAYS: "1", LABEL_HORIZON_DAYS: "7", DEBOUNCE_HOURS: String(7 * 24) };

let system: System;
let result: WorldRunResult;
let timeline: LoopTimeline;
let skew: RecsSkewReport;
let decidedAtWorldMs: number | null = null;
let loggedServed = 0;
let monitoring: WorldMonitoring;
/** The last scrape of the world's /metrics while it ran that followed a published skew check, and how many checks were published then. */
let liveScrape: { text: string; published: number; worldMs: number } | null = null;
let scrapes = 0;
const liveCheckLines: string[] = [];

async function countEvents(reader: OfflineStoreReader, topic: string, type: Parameters<OfflineStoreReader["eventsOfType"]>[1]): Promise<number> {
  let n = 0;
  for await (const _ of reader.eventsOfType(topic, type)) n++;
  return n;
}

beforeAll(async () => {
  const drift = parseDrift(`card-testing@+${DRIFT_AT_DAYS}d,cards=20`, START) as Extract<WorldDrift, { kind: "card-testing" }>;
  system = await startSystem({ run, drifts: [drift], horizonDays: LAST_DAY, loop: { retrain: RETRAIN } });
  const controller = (system.retrain as NonNullable<System["retrain"]>).deps.controller;
  const stop = new AbortController();
  const watcher = setInterval(() => {
    const decided = controller.recent().some((d) => d.decision !== "debounced");
    if (decided && decidedAtWorldMs === null) decidedAtWorldMs = system.clock.now();
    if (decidedAtWorldMs !== null && system.clock.now() >= decidedAtWorldMs + AFTER_DECISION_MS) stop.abort();
  }, 200);
  const timer: Clock = { now: () => Date.now(), setTimer: systemClock.setTimer };
  // The world's own endpoint, as the CLI runs it: its counters and the periodic skew check on the
  // offline store (every 10 s real, a world day behind the clock), scraped while the world runs.
  const counters = new WorldCounters();
  monitoring = await startWorldMonitoring({
    port: 0,
    counters: () => counters,
    skew: { offlineStoreDir: system.offlineStoreDir, spec: RECS, everyMs: 10_000, sampleRate: 0.5, maxAnswers: 200, settleMs: 5_000 * SPEED },
    worldNow: () => system.clock.now(),
    timer,
    log: (line) => {
      console.info(line);
      if (/: \d+ answers \(\d+ item rows\) compared/.test(line)) liveCheckLines.push(line);
    },
  });
  let running = true;
  const scraper = (async () => {
    while (running) {
      const text = await (await fetch((monitoring.server as NonNullable<WorldMonitoring["server"]>).url)).text();
      scrapes++;
      const published = Number(/^recs_skew_checks_total\{[^}]*outcome="published"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
      if (running && published > 0) liveScrape = { text, published, worldMs: system.clock.now() };
      await new Promise((r) => setTimeout(r, 2_000));
    }
  })();
  try {
    result = await runWorld({ clock: system.clock, timer, send: system.transport.send, outcomes: system.outcomes.publisher, recs: system.recs, fraud: system.cardHolders, drifts: [drift], startMs: START, endMs: START + LAST_DAY * DAY_MS, maxInFlight: 64, signal: stop.signal, counters });
  } finally {
    running = false;
    clearInterval(watcher);
    await scraper;
    await monitoring.close();
    await system.closeWorld();
  }
  await controller.idle();

  // The event logger catches up with Kafka: every answer the world got, and every retrain decision.
  const reader = new OfflineStoreReader(system.offlineStoreDir);
  const until = Date.now() + 60_000;
  for (;;) {
    loggedServed = await countEvents(reader, TOPICS.recsServed, "recs.served");
    const decisions = await countEvents(reader, TOPICS.mlRetrainDecisions, "ml.retrain-decision");
    if ((loggedServed >= result.counters.recs.answers && decisions >= controller.recent().length) || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // The logger may still be writing the last impressions and clicks the stream applied: measured again until the log reaches every offset read.
  const base = recsHistoryState(RECS);
  for (;;) {
    skew = await measureRecsSkew(reader, { base, from: START, to: result.worldToMs + 1, sampleRate: 0.5 });
    if (skew.answersWithLogGap === 0 || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  timeline = await readLoopTimeline(reader, system.registryDir);

  const out = process.env.LOOP_REPORT;
  if (out) {
    const setup = [
      `the world: recommendation world ${RECS.preset} (seed ${RECS.seed}, ${RECS.numUsers} users, ${RECS.numItems} items) and fraud world (seed ${FRAUD.seed}, ${FRAUD.customers} customers, ${FRAUD.terminals} terminals, ${FRAUD.days} days of history), ` +
        `small models trained on them, every service in-process on real Redis and Kafka, one clock at ${SPEED}x (a world day every ${(DAY_MS / SPEED / 1000).toFixed(0)} s real)`,
      `the run: ${((result.worldToMs - START) / DAY_MS).toFixed(2)} world days in ${(result.realMs / 1000).toFixed(0)} s real; ${result.counters.recs.answers} recommendations, ${result.counters.sent.click} clicks, ${result.counters.fraud.answers} scored transactions, ${result.counters.sent.label} labels`,
      `drift monitor: windows of a world week (${Math.round(7 * system.cardHolders.perDay.transactions)} decisions); retrain controller: ${Object.entries(RETRAIN).map(([k, v]) => `${k}=${v}`).join(" ")}, trainer run as its own process`,
    ];
    const command = "npm run loop:report -w @mlsd/world   # jobs/world/src/loop.int.test.ts with LOOP_REPORT=docs/reports/loop.md";
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    const liveChecks = { lines: liveCheckLines, outcomes: { ...(monitoring.checker?.outcomes ?? {}) } };
    fs.writeFileSync(path.resolve(out), renderLoopReport({ timeline, command, setup, skew, liveChecks }));
  }
}, 600_000);

afterAll(async () => {
  await system?.stop();
});

describe("the loop: world -> served events -> offline store -> retrain from the log -> candidate vs current", () => {
  it("serves the world's traffic and logs every answer to the offline store", () => {
    const c = result.counters;
    console.info(result.summary);
    expect(c.errorSummary()).toBe("none");
    expect(c.ok.recommend).toBe(c.sent.recommend);
    expect(c.recs.answers).toBeGreaterThan(200);
    expect(c.ok.score).toBe(c.sent.score);
    expect(loggedServed).toBe(c.recs.answers);
  });

  it("retrains once on the drift monitor's request: one episode, any later request debounced", () => {
    console.info(renderLoopReport({ timeline, command: "(this test)", setup: [], skew: null }));
    expect(timeline.drift?.atMs).toBe(START + DRIFT_AT_DAYS * DAY_MS);
    const fraudRequests = timeline.requests.filter((r) => r.model === FRAUD_MODEL_NAME && r.reason === "drift");
    expect(fraudRequests.length).toBeGreaterThanOrEqual(1);
    // The alarm comes after the drift, on features it moves.
    expect(fraudRequests[0]!.alarmMs).toBeGreaterThan(START + DRIFT_AT_DAYS * DAY_MS);
    expect(fraudRequests[0]!.breached.length).toBeGreaterThan(0);
    const episodes = timeline.decisions.filter((d) => d.decision !== "debounced");
    expect(episodes).toHaveLength(1);
    expect(episodes[0]).toMatchObject({ model: FRAUD_MODEL_NAME, trigger: "drift", metric: "cost" });
    expect(["promoted", "held"]).toContain(episodes[0]!.decision);
    // Every other request of the run was the same episode.
    expect(timeline.decisions.filter((d) => d.decision === "debounced")).toHaveLength(fraudRequests.length - 1);
  });

  it("reports the candidate's metrics on the next window next to the model in service's, on the same rows", () => {
    const decision = timeline.decisions.find((d) => d.decision !== "debounced")!;
    expect(Number.isFinite(decision.candidateMetric)).toBe(true);
    expect(Number.isFinite(decision.baselineMetric)).toBe(true);
    const comparison = timeline.candidates.get(decision.candidateVersion as string) as { candidate: { rocAuc: number; cost: number }; baseline: { version: string; rocAuc: number; cost: number }; rows: { train: number; evaluation: number; evaluationFrauds: number }; windows: { evaluation: [string, string]; asOf: string } };
    expect(comparison.candidate.cost).toBe(decision.candidateMetric);
    expect(comparison.baseline.cost).toBe(decision.baselineMetric);
    // As of the newest logged label (the event logger lags the clock under the wave): about a world day of rows.
    expect(comparison.rows.train).toBeGreaterThan(200);
    expect(comparison.rows.evaluation).toBeGreaterThan(200);
    expect(comparison.rows.evaluationFrauds).toBeGreaterThan(0);
    for (const score of [comparison.candidate.rocAuc, comparison.baseline.rocAuc]) expect(score).toBeGreaterThan(0.5);
    // The evaluation window ends a label horizon before the retrain, and after the training window.
    expect(Date.parse(comparison.windows.asOf) - Date.parse(comparison.windows.evaluation[1])).toBe(7 * DAY_MS);
    const registry = new ModelRegistry(system.registryDir);
    expect(comparison.baseline.version).toBe(decision.baselineVersion);
    // if-better: the candidate became current only if it cost less.
    const current = registry.resolve(FRAUD_MODEL_NAME, "current");
    expect(current).toBe(decision.decision === "promoted" ? decision.candidateVersion : decision.baselineVersion);
    expect(decision.decision === "promoted").toBe((decision.candidateMetric as number) < (decision.baselineMetric as number));
  });

  it("exports the world's counters and the periodic skew check at /metrics while the world runs: 0 mismatches on every feature", () => {
    console.info(`world /metrics: ${scrapes} scrapes; the last after a published check: ${liveScrape?.published ?? 0} checks published, world time ${liveScrape ? new Date(liveScrape.worldMs).toISOString() : "-"}; checks run: ${JSON.stringify(monitoring.checker?.outcomes)}`);
    expect(liveScrape).not.toBeNull();
    const text = (liveScrape as NonNullable<typeof liveScrape>).text;
    const value = (name: string, label: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(label));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    for (const feature of [...RECS_SKEW_ITEM_FEATURES, ...RECS_SKEW_USER_FEATURES]) expect([feature, value("recs_skew_mismatch_rate", `feature="${feature}"`)]).toEqual([feature, 0]);
    // The check compared answers, every one of which the log reached.
    expect(value("recs_skew_answers", 'kind="compared"')).toBeGreaterThan(0);
    expect(value("recs_skew_answers", 'kind="log_gap"')).toBe(0);
    // The world's own counters, live: it was sending and being answered.
    expect(value("world_requests_total", 'endpoint="recommend",outcome="ok"')).toBeGreaterThan(0);
    expect(value("world_requests_total", 'endpoint="score",outcome="ok"')).toBeGreaterThan(0);
    expect(value("world_recs_events_total", 'event="clicks"')).toBeGreaterThan(0);
  });

  it("serves recommendation features that an offline recomputation from the log reproduces exactly, every feature", async () => {
    console.info(renderRecsSkew(skew));
    expect(skew.sampled).toBeGreaterThan(50);
    expect(skew.rows).toBeGreaterThan(500);
    // Every answer logged the offsets its reads had applied, and the log holds every event they name.
    expect([skew.answers, skew.withoutOffsets, skew.answersWithLogGap, skew.eventsWithoutSource]).toEqual([skew.sampled, 0, 0, 0]);
    // The counters every user's partition and both topics feed (item_log_impressions, item_ctr, user_ctr, ...) included:
    // the replay applies, per entity, exactly the events at or below the logged offsets, so nothing is left to the stream's lag.
    for (const f of skew.features) expect([f.feature, f.compared > 0, f.mismatches]).toEqual([f.feature, true, 0]);
    expect(skew.answersWithMismatch).toBe(0);
    // The result as the gauges a scrape reads.
    const registry = new Registry();
    recsSkewGauges(registry).set(skew);
    const text = await registry.metrics();
    for (const f of skew.features) expect(text).toContain(`recs_skew_mismatch_rate{feature="${f.feature}"} 0`);
    expect(text).toContain(`recs_skew_answers{kind="compared"} ${skew.answers}`);
  });
});
