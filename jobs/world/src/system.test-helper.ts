import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TOPICS, WORLD_TOPICS } from "@mlsd/contracts";
import { driftMonitorService } from "@mlsd/drift-monitor-service";
import { eventLoggerService } from "@mlsd/event-logger-service";
import { ensureTopics } from "@mlsd/events";
import { featureStreamerService } from "@mlsd/feature-streamer-service";
import { fraudService } from "@mlsd/fraud-service";
import { rankerService } from "@mlsd/ranker-service";
import { recommenderService } from "@mlsd/recommender-service";
import { retrainControllerService } from "@mlsd/retrain-controller-service";
import { retrievalService } from "@mlsd/retrieval-service";
import { ScaledClock, startService, type StartedServiceOf } from "@mlsd/service-kit";
import { createRecWorld, DEFAULT_CLICK_MODEL, REC_WORLD_ORIGIN_MS, type FraudWorldInput } from "@mlsd/synth";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { trainFraud } from "@mlsd/trainer/src/fraud/pipeline";
import { trainRecs } from "@mlsd/trainer/src/recs/pipeline";
import { Kafka, logLevel } from "kafkajs";
import { alignedFraudStartDate, recsHistoryEndMs, recsPresetSpec, type RecsWorldSpec } from "./calendar";
import { CardHolders } from "./card-holders";
import type { WorldDrift } from "./drift";
import { kafkaOutcomes, type OutcomeSink } from "./outcomes";
import { RecsUsers } from "./recs-users";
import { DAY_MS } from "./timeline";
import { httpTransport } from "./transport";

/**
 * The running system for the integration tests of the world (world.int.test.ts, loop.int.test.ts):
 * small models trained by the trainer on the same worlds, every service started in-process on real
 * Redis and Kafka, all on one scaled clock, and the world's users and card holders ready to run.
 */

export const CLICK_TOKEN = "click-writer-token-world-int";
export const LABEL_TOKEN = "label-writer-token-world-int";
/** A world day every 5 s real. */
export const SPEED = 17_280;
export const RECS: RecsWorldSpec = { ...recsPresetSpec("small", 3), numUsers: 300, numItems: 1_000, sessionsPerUser: 4 };
export const START = recsHistoryEndMs(RECS);
/**
 * 90 days: the trainer's split takes its rows from the last 49 days, and they must come after the
 * longest feature window (30 days, shifted back 7 for terminals) is full, or the model and its drift
 * reference learn from half-empty windows that live traffic never shows.
 */
export const FRAUD: FraudWorldInput = { customers: 200, terminals: 1000, days: 90, seed: 3, startDate: alignedFraudStartDate(90, START) };

export interface SystemOptions {
  /** Prefix of consumer groups and client ids. */
  run: string;
  /** The fraud drifts the card holders inject. */
  drifts: readonly Extract<WorldDrift, { kind: "card-testing" | "terminal-wave" }>[];
  /** World days the card holders transact for (default 14). */
  horizonDays?: number;
  /** Also start the event logger (offline store) and the retrain controller with these settings. */
  loop?: { retrain: Record<string, string> };
}

export interface System {
  tmp: string;
  registryDir: string;
  offlineStoreDir: string;
  redis: RedisHandle;
  kafka: KafkaHandle;
  clock: ScaledClock;
  cardHolders: CardHolders;
  recs: RecsUsers;
  transport: ReturnType<typeof httpTransport>;
  outcomes: OutcomeSink;
  monitor: StartedServiceOf<typeof driftMonitorService>;
  streamer: StartedServiceOf<typeof featureStreamerService>;
  recommender: StartedServiceOf<typeof recommenderService>;
  logger: StartedServiceOf<typeof eventLoggerService> | null;
  retrain: StartedServiceOf<typeof retrainControllerService> | null;
  /** Closes the world's connections and flushes its ground truth to Kafka (once). */
  closeWorld(): Promise<void>;
  /** Stops every service (in reverse start order), Redis and Kafka, and removes the temporary files. */
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const { run } = options;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "world-int-"));
  const registryDir = path.join(tmp, "registry");
  const offlineStoreDir = path.join(tmp, "offline-store");
  const started: { shutdown(reason: string): Promise<unknown> }[] = [];
  // Dedicated: the fraud service's keys have no prefix setting, and the monitor reads its topics from the beginning.
  const [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), startKafka({ dedicated: true })]);
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

  const cardHolders = new CardHolders({ world: FRAUD, horizonDays: options.horizonDays ?? 14, drift: options.drifts, seed: 5 });
  const week = Math.round(7 * cardHolders.perDay.transactions);
  // Every process gets the same clock: the world's start a few seconds from now.
  const originMs = Date.now() + 4_000;
  const clockEnv = { CLOCK_START: new Date(START).toISOString(), CLOCK_ORIGIN_MS: String(originMs), CLOCK_SPEED: String(SPEED) };
  const brokers = kafka.brokers.join(",");
  const common = { PORT: "0", LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: registryDir };
  const start = async <T extends { shutdown(reason: string): Promise<unknown> }>(service: Promise<T>): Promise<T> => {
    const s = await service;
    started.push(s);
    return s;
  };
  const logger = options.loop
    ? await start(startService(eventLoggerService, { ...common, KAFKA_BROKERS: brokers, CONSUMER_GROUP: `event-logger-${run}`, OFFLINE_STORE_DIR: offlineStoreDir, LAG_INTERVAL_MS: "1000" }))
    : null;
  const monitor = await start(
    startService(driftMonitorService, {
      ...common,
      KAFKA_BROKERS: brokers,
      CONSUMER_GROUP: `drift-monitor-${run}`,
      EVENT_JOURNAL_DIR: path.join(tmp, "journal-drift"),
      COUNT_WINDOW_SIZE: String(week),
      COUNT_EVALUATE_EVERY: "250",
      TIME_WINDOW_SECONDS: String((7 * DAY_MS) / 1000),
      TIME_EVALUATE_EVERY: "250",
      MIN_WINDOW_EVENTS: String(Math.round(0.9 * week)),
    }),
  );
  const retrain = options.loop
    ? await start(
        startService(retrainControllerService, {
          ...common,
          ...clockEnv,
          KAFKA_BROKERS: brokers,
          CONSUMER_GROUP: `retrain-controller-${run}`,
          EVENT_JOURNAL_DIR: path.join(tmp, "journal-retrain"),
          OFFLINE_STORE_DIR: offlineStoreDir,
          ...options.loop.retrain,
        }),
      )
    : null;
  const fraud = await start(
    startService(fraudService, {
      ...common,
      ...clockEnv,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: brokers,
      EVENT_JOURNAL_DIR: path.join(tmp, "journal-fraud"),
      LABEL_WRITER_TOKEN: LABEL_TOKEN,
      // One process holds every service here: generous deadlines, so answers come from the model with its features.
      FEATURE_DEADLINE_MS: "2000",
      LABEL_CHECK_DEADLINE_MS: "2000",
    }),
  );
  // Labels (and impressions, clicks) reach the features in Redis through the feature streamer.
  const streamer = await start(startService(featureStreamerService, { ...common, REDIS_URL: redis.url, KAFKA_BROKERS: brokers, CONSUMER_GROUP: `feature-streamer-${run}`, CLOCK_SPEED: String(SPEED) }));
  const retrieval = await start(startService(retrievalService, { ...common }));
  const ranker = await start(startService(rankerService, { ...common, REDIS_URL: redis.url, FEATURE_DEADLINE_MS: "1000" }));
  const recommender = await start(
    startService(recommenderService, {
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
    }),
  );

  const kafkaClient = new Kafka({ clientId: `world-int-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafkaClient, { topics: [...WORLD_TOPICS, TOPICS.fraudDecisions, TOPICS.fraudLabels] });
  const outcomes = await kafkaOutcomes(kafka.brokers, path.join(tmp, "journal-world"), () => undefined);
  const clock = new ScaledClock(START, originMs, SPEED);
  const transport = httpTransport({ recommenderUrl: `http://127.0.0.1:${recommender.port}`, fraudUrl: `http://127.0.0.1:${fraud.port}`, clickToken: CLICK_TOKEN, labelToken: LABEL_TOKEN }, 64);
  const recs = new RecsUsers(
    {
      world: createRecWorld({ preset: RECS.preset, seed: RECS.seed, numUsers: RECS.numUsers, numItems: RECS.numItems }),
      sessionsPerUser: RECS.sessionsPerUser,
      slateSize: RECS.slateSize,
      clickModel: DEFAULT_CLICK_MODEL,
      originMs: REC_WORLD_ORIGIN_MS,
      seed: 5,
    },
    START,
  );

  let stopped = false;
  let worldClosed: Promise<void> | null = null;
  const closeWorld = () =>
    (worldClosed ??= (async () => {
      transport.close();
      await outcomes.close(10_000);
    })());
  return {
    tmp,
    registryDir,
    offlineStoreDir,
    redis,
    kafka,
    clock,
    cardHolders,
    recs,
    transport,
    outcomes,
    monitor,
    streamer,
    recommender,
    logger,
    retrain,
    closeWorld,
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeWorld();
      for (const s of started.reverse()) await s.shutdown("test over");
      await redis.stop();
      await kafka.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
