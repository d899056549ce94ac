import { ensureTopics, EventProducer, KafkaRecordSender } from "@mlsd/events";
import { RedisRecsFeatureStore } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, CircuitBreaker, Closers, createLogger, createMetrics, Readiness, type Logger } from "@mlsd/service-kit";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { Counter } from "prom-client";
import type { RecommenderAppDeps } from "./app";
import { HttpRankerClient, HttpRetrievalClient, JsonHttpClient } from "./clients";
import type { RecommenderConfig } from "./config";
import { RedisUserHistory } from "./history";
import { loadPopularity, type Popularity } from "./popularity";

export interface RecommenderRuntime {
  deps: RecommenderAppDeps;
  logger: Logger;
  closers: Closers;
}

/**
 * Connects Redis and Kafka, loads the popularity lists and opens keep-alive pools to retrieval
 * and the ranker, registering a closer for each in start order. Without popularity lists the
 * service stays unready: it would have no answer when a dependency fails.
 */
export async function createRuntime(config: RecommenderConfig, logger: Logger = createLogger({ service: "recommender", level: config.LOG_LEVEL })): Promise<RecommenderRuntime> {
  const metrics = createMetrics("recommender");
  const readiness = new Readiness(["popularity", "redis", "kafka-producer"]);
  const closers = new Closers();

  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let popularity: Popularity | null = null;
  const reloadPopularity = (): Popularity => {
    const loaded = loadPopularity(registry, config.POPULARITY_ALIAS);
    popularity = loaded;
    readiness.set("popularity", true, loaded.version);
    return loaded;
  };
  try {
    reloadPopularity();
  } catch (error) {
    readiness.set("popularity", false, (error as Error).message);
    logger.error({ err: error }, "no popularity lists: train (npm run train:recs -w @mlsd/trainer) and reload");
  }

  // No offline queue and no retries: while Redis is down a command fails at once and the request
  // is answered from popularity, instead of waiting in a queue past its deadline.
  const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  redis.on("ready", () => readiness.set("redis", true));
  redis.on("close", () => readiness.set("redis", false, "connection closed"));
  redis.on("error", (error: Error) => logger.warn({ err: error.message }, "redis error"));
  closers.add("redis", () => redis.disconnect());

  const kafka = new Kafka({ clientId: "recommender", brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  try {
    await ensureTopics(kafka, { timeoutMs: 15_000 });
  } catch (error) {
    // Not fatal: events spill to the journal until Kafka (and its topics) are there.
    logger.warn({ err: (error as Error).message }, "could not ensure Kafka topics");
  }
  const producer = new EventProducer({ sender: new KafkaRecordSender(kafka), journalDir: config.EVENT_JOURNAL_DIR, registry: metrics.registry, metricsPrefix: "recommender", logger });
  await producer.start();
  readiness.set("kafka-producer", true);
  closers.add("event producer (flush)", async () => {
    const result = await producer.close();
    logger.info({ ...result }, "event producer closed");
  });

  const retrievalHttp = new JsonHttpClient("retrieval", config.RETRIEVAL_URL);
  const rankerHttp = new JsonHttpClient("ranker", config.RANKER_URL);
  closers.add("http pools", () => {
    retrievalHttp.close();
    rankerHttp.close();
  });

  const fallbacks = new Counter({ name: "recommender_fallbacks_total", help: "Answers served by a fallback, by kind", labelNames: ["kind"] as const, registers: [metrics.registry] });
  const failures = new Counter({
    name: "recommender_dependency_failures_total",
    help: "Dependency calls that failed, timed out or were skipped by an open breaker",
    labelNames: ["dependency", "reason"] as const,
    registers: [metrics.registry],
  });
  const clickHistory = new Counter({ name: "recommender_click_history_failures_total", help: "Clicks published to Kafka whose Redis history update failed", registers: [metrics.registry] });
  const breaker = (name: string) => new CircuitBreaker(name, { failureThreshold: config.BREAKER_FAILURES, cooldownMs: config.BREAKER_COOLDOWN_MS });

  const deps: RecommenderAppDeps = {
    logger,
    metrics,
    readiness,
    features: new RedisRecsFeatureStore(redis, { prefix: config.REDIS_PREFIX }),
    history: new RedisUserHistory(redis, { prefix: config.HISTORY_PREFIX }),
    retrieval: new HttpRetrievalClient(retrievalHttp),
    ranker: new HttpRankerClient(rankerHttp),
    popularity: () => {
      if (!popularity) throw new AppError("UNAVAILABLE", "no popularity lists loaded");
      return popularity;
    },
    reloadPopularity,
    breakers: { redis: breaker("redis"), retrieval: breaker("retrieval"), ranker: breaker("ranker") },
    deadlines: { budgetMs: config.REQUEST_BUDGET_MS, redisMs: config.REDIS_DEADLINE_MS, retrievalMs: config.RETRIEVAL_DEADLINE_MS, rankerMs: config.RANKER_DEADLINE_MS },
    candidates: config.CANDIDATES,
    historyLength: config.HISTORY_LENGTH,
    seenLimit: config.SEEN_LIMIT,
    maxPerCategory: config.MAX_PER_CATEGORY,
    coldStartCategoryWeight: config.COLD_START_CATEGORY_WEIGHT,
    events: producer,
    onFallback: (kind) => fallbacks.inc({ kind }),
    onDependencyFailure: (dependency, reason) => failures.inc({ dependency, reason }),
    onClickHistoryFailure: () => clickHistory.inc(),
  };
  return { deps, logger, closers };
}
