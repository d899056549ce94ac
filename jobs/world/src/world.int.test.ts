import { TOPICS, WORLD_TOPICS } from "@mlsd/contracts";
import { systemClock, type Clock } from "@mlsd/loadgen";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDrift, type WorldDrift } from "./drift";
import { START, startSystem, type System } from "./system.test-helper";
import { DAY_MS } from "./timeline";
import { runWorld, type WorldRunResult } from "./world";

/**
 * The world against the real services on real Redis and Kafka, all sharing one scaled clock: small
 * models are trained by the trainer on the same worlds, the world continues them at their own
 * rates, and the drift monitor watches the fraud decisions with windows of a whole world week.
 * Normal traffic must raise no alarm; a card-testing wave injected at day 9 must.
 */

const run = Date.now().toString(36);
const DRIFT_AT = "+9d";

let system: System;
let consumer: Consumer;
const worldEvents = new Map<string, number>();
let result: WorldRunResult;
/** The fraud monitor's report (its reference comes from training, so it never warms up). */
function fraudReport() {
  const report = system.monitor.deps.monitor.report();
  if (!("windows" in report)) throw new Error("the fraud drift monitor should start from the model's training reference");
  return report;
}
let beforeDrift: ReturnType<typeof fraudReport> | null = null;
let alarmAtWorldMs: number | null = null;

beforeAll(async () => {
  const drift = parseDrift(`card-testing@${DRIFT_AT},cards=20`, START) as Extract<WorldDrift, { kind: "card-testing" }>;
  system = await startSystem({ run, drifts: [drift] });
  const kafkaClient = new Kafka({ clientId: `world-int-${run}`, brokers: system.kafka.brokers, logLevel: logLevel.NOTHING });
  consumer = kafkaClient.consumer({ groupId: `world-int-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...WORLD_TOPICS], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic }) => void worldEvents.set(topic, (worldEvents.get(topic) ?? 0) + 1) });

  const stop = new AbortController();
  // Watch the monitor beside the world, in the event time it has reached (it may lag the world on a
  // busy machine): its last judgement of traffic before the drift, and when it alarms.
  const watcher = setInterval(() => {
    const report = fraudReport();
    const reached = Math.max(...report.windows.map((w) => (w.lastEvaluation ? Date.parse(w.lastEvaluation.time) : Number.NEGATIVE_INFINITY)));
    if (reached < drift.at) beforeDrift = report;
    if (report.episode.active && alarmAtWorldMs === null) {
      alarmAtWorldMs = reached;
      stop.abort();
    }
  }, 100);
  const timer: Clock = { now: () => Date.now(), setTimer: systemClock.setTimer };
  try {
    result = await runWorld({ clock: system.clock, timer, send: system.transport.send, outcomes: system.outcomes.publisher, recs: system.recs, fraud: system.cardHolders, drifts: [drift], startMs: START, endMs: START + 13 * DAY_MS, maxInFlight: 64, signal: stop.signal });
  } finally {
    clearInterval(watcher);
    await system.closeWorld();
  }
}, 600_000);

afterAll(async () => {
  await consumer?.disconnect();
  await system?.stop();
});

describe("the world against the running services (real Redis and Kafka, one scaled clock)", () => {
  it("gets every request answered: recommendations, clicks, transactions and labels, with no refusal", () => {
    const c = result.counters;
    console.info(result.summary);
    expect(c.errorSummary()).toBe("none");
    expect(c.sent.recommend).toBeGreaterThan(200);
    expect(c.ok.recommend).toBe(c.sent.recommend);
    expect(c.sent.click).toBeGreaterThan(20);
    expect(c.ok.click).toBe(c.sent.click);
    expect(c.sent.score).toBeGreaterThan(3_000);
    expect(c.ok.score).toBe(c.sent.score);
    // Labels start a week in (the world's 7-day delay).
    expect(c.sent.label).toBeGreaterThan(300);
    expect(c.ok.label).toBe(c.sent.label);
    // The models answered; the fallbacks that did are for users without clicks (cold start).
    expect((c.recs.fallbacks - (c.fallbacks.get("cold-start") ?? 0)) / c.recs.answers).toBeLessThan(0.05);
    expect(c.fraud.degraded / c.fraud.answers).toBeLessThan(0.01);
  });

  it("raises no drift alarm on the world's normal traffic, once its windows span a week", () => {
    expect(beforeDrift).not.toBeNull();
    const report = beforeDrift!;
    for (const w of report.windows) expect(w.evaluations, w.window).toBeGreaterThanOrEqual(2);
    expect(report.recentAlerts).toEqual([]);
    expect(report.episode.episodes).toBe(0);
  });

  it("alarms after a card-testing wave is injected, on the features it moves", () => {
    expect(alarmAtWorldMs).not.toBeNull();
    const report = fraudReport();
    expect(report.episode.episodes).toBeGreaterThanOrEqual(1);
    const psi = (r: typeof report) => r.windows.map((w) => `${w.window} (${w.windowSize}): ` + w.features.filter((f) => f.psi > 0.02).map((f) => `${f.feature} ${f.psi.toFixed(3)}${f.conditionMet ? "*" : ""}`).join(", ")).join("\n");
    console.info(`before the drift:\n${psi(beforeDrift!)}\nafter:\n${psi(report)}`);
    const alerted = new Set(report.recentAlerts.filter((a) => a.type === "start").map((a) => a.feature));
    console.info(`drift alarm at ${new Date(alarmAtWorldMs as number).toISOString()} on ${[...alerted].join(", ")}`);
    expect([...alerted].some((f) => /NB_TX_(10MIN|1HOUR)|TX_AMOUNT/.test(f))).toBe(true);
    // Within two world days of the injection, in the monitor's event time: the wave has to fill a
    // share of a week-long window, for three evaluations in a row.
    expect(alarmAtWorldMs as number).toBeGreaterThan(START + 9 * DAY_MS);
    expect((alarmAtWorldMs as number) - (START + 9 * DAY_MS)).toBeLessThan(2 * DAY_MS);
  });

  it("publishes the ground truth of every answer to Kafka", async () => {
    const c = result.counters;
    const end = Date.now() + 30_000;
    while ((worldEvents.get(TOPICS.worldFraudOutcomes) ?? 0) < c.fraud.answers && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(worldEvents.get(TOPICS.worldFraudOutcomes)).toBe(c.fraud.answers);
    expect(worldEvents.get(TOPICS.worldRecsOutcomes)).toBe(c.recs.answers);
  });
});
