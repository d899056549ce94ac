import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TOPICS, WORLD_TOPICS } from "@mlsd/contracts";
import { driftMonitorService } from "@mlsd/drift-monitor-service";
import { ensureTopics } from "@mlsd/events";
import { featureStreamerService } from "@mlsd/feature-streamer-service";
import { fraudService } from "@mlsd/fraud-service";
import { systemClock, type Clock } from "@mlsd/loadgen";
import { rankerService } from "@mlsd/ranker-service";
import { recommenderService } from "@mlsd/recommender-service";
import { retrievalService } from "@mlsd/retrieval-service";
import { ScaledClock, startService, type StartedServiceOf } from "@mlsd/service-kit";
import { createRecWorld, DEFAULT_CLICK_MODEL, REC_WORLD_ORIGIN_MS, type FraudWorldInput } from "@mlsd/synth";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { trainFraud } from "@mlsd/trainer/src/fraud/pipeline";
import { trainRecs } from "@mlsd/trainer/src/recs/pipeline";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alignedFraudStartDate, recsHistoryEndMs, recsPresetSpec } from "./calendar";
import { CardHolders } from "./card-holders";
import { parseDrift, type WorldDrift } from "./drift";
import { kafkaOutcomes, type OutcomeSink } from "./outcomes";
import { RecsUsers } from "./recs-users";
import { DAY_MS } from "./timeline";
import { httpTransport } from "./transport";
import { runWorld, type WorldRunResult } from "./world";

/**
 * The world against the real services on real Redis and Kafka, all sharing one scaled clock: small
 * models are trained by the trainer on the same worlds, the world continues them at their own
 * rates, and the drift monitor watches the fraud decisions with windows of a whole world week.
 * Normal traffic must raise no alarm; a card-testing wave injected at day 9 must.
 */

const run = Date.now().toString(36);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "world-int-"));
const registryDir = path.join(tmp, "registry");
const CLICK_TOKEN = "click-writer-token-world-int";
const LABEL_TOKEN = "label-writer-token-world-int";
/** A world day every 5 s real. */
const SPEED = 17_280;
const RECS = { ...recsPresetSpec("small", 3), numUsers: 300, numItems: 1_000, sessionsPerUser: 4 };
const START = recsHistoryEndMs(RECS);
/**
 * 90 days: the trainer's split takes its rows from the last 49 days, and they must come after the
 * longest feature window (30 days, shifted back 7 for terminals) is full, or the model and its drift
 * reference learn from half-empty windows that live traffic never shows.
 */
const FRAUD: FraudWorldInput = { customers: 200, terminals: 1000, days: 90, seed: 3, startDate: alignedFraudStartDate(90, START) };
const DRIFT_AT = "+9d";

let redis: RedisHandle;
let kafka: KafkaHandle;
let fraud: StartedServiceOf<typeof fraudService>;
let retrieval: StartedServiceOf<typeof retrievalService>;
let ranker: StartedServiceOf<typeof rankerService>;
let recommender: StartedServiceOf<typeof recommenderService>;
let monitor: StartedServiceOf<typeof driftMonitorService>;
let streamer: StartedServiceOf<typeof featureStreamerService>;
let consumer: Consumer;
let outcomes: OutcomeSink;
const worldEvents = new Map<string, number>();
let result: WorldRunResult;
/** The fraud monitor's report (its reference comes from training, so it never warms up). */
function fraudReport() {
  const report = monitor.deps.monitor.report();
  if (!("windows" in report)) throw new Error("the fraud drift monitor should start from the model's training reference");
  return report;
}
let beforeDrift: ReturnType<typeof fraudReport> | null = null;
let alarmAtWorldMs: number | null = null;
let clock: ScaledClock;
let cardHolders: CardHolders;

beforeAll(async () => {
  // Dedicated: the fraud service's keys have no prefix setting, and the monitor reads its topics from the beginning.
  [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), startKafka({ dedicated: true })]);
  await trainFraud({
    source: { kind: "synthetic", world: FRAUD },
    // One candidate: the test needs a model in service, not the protocol's search.
    protocol: { folds: 2 },
    gbdt: { numRounds: 60, maxDepth: 6, learningRate: 0.1, positiveWeight: "sqrt-balance" },
    registryDir,
    reportDir: path.join(tmp, "reports"),
    materializeRedisUrl: redis.url,
    quiet: true,
    log: () => undefined,
  });
  await trainRecs({
    source: { kind: "synthetic", preset: RECS.preset, seed: RECS.seed, world: { numUsers: RECS.numUsers, numItems: RECS.numItems }, sessionsPerUser: RECS.sessionsPerUser },
    twoTower: { epochs: 1 },
    registryDir,
    reportDir: path.join(tmp, "reports"),
    redisUrl: redis.url,
    quiet: true,
    log: () => undefined,
  });

  const drift = parseDrift(`card-testing@${DRIFT_AT},cards=20`, START) as Extract<WorldDrift, { kind: "card-testing" }>;
  cardHolders = new CardHolders({ world: FRAUD, horizonDays: 14, drift: [drift], seed: 5 });
  const week = Math.round(7 * cardHolders.perDay.transactions);
  // Every process gets the same clock: the world's start a few seconds from now.
  const originMs = Date.now() + 4_000;
  const clockEnv = { CLOCK_START: new Date(START).toISOString(), CLOCK_ORIGIN_MS: String(originMs), CLOCK_SPEED: String(SPEED) };
  const brokers = kafka.brokers.join(",");
  const common = { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: registryDir };
  monitor = await startService(driftMonitorService, {
    ...common,
    KAFKA_BROKERS: brokers,
    CONSUMER_GROUP: `drift-monitor-${run}`,
    EVENT_JOURNAL_DIR: path.join(tmp, "journal-drift"),
    COUNT_WINDOW_SIZE: String(week),
    COUNT_EVALUATE_EVERY: "250",
    TIME_WINDOW_SECONDS: String((7 * DAY_MS) / 1000),
    TIME_EVALUATE_EVERY: "250",
    MIN_WINDOW_EVENTS: String(Math.round(0.9 * week)),
  });
  fraud = await startService(fraudService, {
    ...common,
    ...clockEnv,
    REDIS_URL: redis.url,
    KAFKA_BROKERS: brokers,
    EVENT_JOURNAL_DIR: path.join(tmp, "journal-fraud"),
    LABEL_WRITER_TOKEN: LABEL_TOKEN,
    // One process holds every service here: generous deadlines, so answers come from the model with its features.
    FEATURE_DEADLINE_MS: "2000",
    LABEL_CHECK_DEADLINE_MS: "2000",
  });
  // Labels (and impressions, clicks) reach the features in Redis through the feature streamer.
  streamer = await startService(featureStreamerService, { ...common, REDIS_URL: redis.url, KAFKA_BROKERS: brokers, CONSUMER_GROUP: `feature-streamer-${run}`, CLOCK_SPEED: String(SPEED) });
  retrieval = await startService(retrievalService, { ...common });
  ranker = await startService(rankerService, { ...common, REDIS_URL: redis.url, FEATURE_DEADLINE_MS: "1000" });
  recommender = await startService(recommenderService, {
    ...common,
    ...clockEnv,
    REDIS_URL: redis.url,
    KAFKA_BROKERS: brokers,
    EVENT_JOURNAL_DIR: path.join(tmp, "journal-recommender"),
    RETRIEVAL_URL: `http://127.0.0.1:${retrieval.port}`,
    RANKER_URL: `http://127.0.0.1:${ranker.port}`,
    CLICK_WRITER_TOKEN: CLICK_TOKEN,
    // Two world days (10 s real): at 17,280x a second of queueing on a shared machine is almost
    // five world hours, far past the default 30-minute window.
    CLICK_ATTRIBUTION_MS: String(2 * DAY_MS),
    REQUEST_BUDGET_MS: "5000",
    REDIS_DEADLINE_MS: "2000",
    RETRIEVAL_DEADLINE_MS: "2000",
    RANKER_DEADLINE_MS: "2000",
  });

  const kafkaClient = new Kafka({ clientId: `world-int-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafkaClient, { topics: [...WORLD_TOPICS, TOPICS.fraudDecisions, TOPICS.fraudLabels] });
  consumer = kafkaClient.consumer({ groupId: `world-int-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...WORLD_TOPICS], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic }) => void worldEvents.set(topic, (worldEvents.get(topic) ?? 0) + 1) });
  outcomes = await kafkaOutcomes(kafka.brokers, path.join(tmp, "journal-world"), () => undefined);

  clock = new ScaledClock(START, originMs, SPEED);
  const transport = httpTransport({ recommenderUrl: `http://127.0.0.1:${recommender.port}`, fraudUrl: `http://127.0.0.1:${fraud.port}`, clickToken: CLICK_TOKEN, labelToken: LABEL_TOKEN }, 64);
  const recs = new RecsUsers({ world: createRecWorld({ preset: RECS.preset, seed: RECS.seed, numUsers: RECS.numUsers, numItems: RECS.numItems }), sessionsPerUser: RECS.sessionsPerUser, slateSize: RECS.slateSize, clickModel: DEFAULT_CLICK_MODEL, originMs: REC_WORLD_ORIGIN_MS, seed: 5 }, START);
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
    result = await runWorld({ clock, timer, send: transport.send, outcomes: outcomes.publisher, recs, fraud: cardHolders, drifts: [drift], startMs: START, endMs: START + 13 * DAY_MS, maxInFlight: 64, signal: stop.signal });
  } finally {
    clearInterval(watcher);
    transport.close();
  }
  await outcomes.close(10_000);
}, 600_000);

afterAll(async () => {
  await consumer?.disconnect();
  await recommender?.shutdown("test over");
  await ranker?.shutdown("test over");
  await retrieval?.shutdown("test over");
  await fraud?.shutdown("test over");
  await streamer?.shutdown("test over");
  await monitor?.shutdown("test over");
  await redis?.stop();
  await kafka?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
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
