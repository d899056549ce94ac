import { TOPICS } from "@mlsd/contracts";
import { ensureTopics, EventProducer, KafkaRecordSender, runConsumer, type RunningConsumer } from "@mlsd/events";
import { RedisFraudFeatureStore } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { CircuitBreaker, Closers, createLogger, createMetrics, Readiness, setModelVersion, type Logger, type ServiceMetrics } from "@mlsd/service-kit";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import { Counter, Histogram } from "prom-client";
import type { FraudAppDeps } from "./app";
import type { FraudConfig } from "./config";
import { FRAUD_MODEL_NAME, loadFraudModel } from "./gbdt-model";
import { labelApplier } from "./labels";
import type { FraudModel } from "./model";

export interface FraudRuntime {
  deps: FraudAppDeps;
  closers: Closers;
  labels: RunningConsumer;
  beforeDrain: () => Promise<void>;
}

/**
 * Connects everything the fraud service needs, registering a closer for each in start order so
 * shutdown can undo them in reverse.
 */
export async function createDeps(config: FraudConfig, logger: Logger = createLogger({ service: "fraud", level: config.LOG_LEVEL })): Promise<FraudRuntime> {
  const metrics: ServiceMetrics = createMetrics("fraud");
  const readiness = new Readiness(["model", "redis", "kafka-producer"]);
  const closers = new Closers();

  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let model: FraudModel = loadFraudModel(registry, config.MODEL_ALIAS);
  readiness.set("model", true, model.version);
  setModelVersion(metrics, FRAUD_MODEL_NAME, model.version);
  logger.info({ version: model.version, thresholds: model.thresholds }, "fraud model loaded");

  // No offline queue and no retries: while Redis is down a command fails at once and the request
  // is answered degraded, instead of waiting in a queue past its deadline.
  const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  redis.on("ready", () => readiness.set("redis", true));
  redis.on("end", () => readiness.set("redis", false, "disconnected"));
  redis.on("close", () => readiness.set("redis", false, "connection closed"));
  redis.on("error", (error: Error) => logger.warn({ err: error.message }, "redis error"));
  closers.add("redis", () => redis.disconnect());
  const store = new RedisFraudFeatureStore(redis);

  const kafka = new Kafka({ clientId: "fraud", brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  try {
    await ensureTopics(kafka, { timeoutMs: 15_000 });
  } catch (error) {
    // Not fatal: events spill to the journal until Kafka (and its topics) are there.
    logger.warn({ err: (error as Error).message }, "could not ensure Kafka topics");
  }
  const producer = new EventProducer({
    sender: new KafkaRecordSender(kafka),
    journalDir: config.EVENT_JOURNAL_DIR,
    registry: metrics.registry,
    metricsPrefix: "fraud",
    logger,
  });
  await producer.start();
  readiness.set("kafka-producer", true);
  closers.add("event producer (flush)", async () => {
    const result = await producer.close();
    logger.info({ ...result }, "event producer closed");
  });

  const labels = await runConsumer({
    kafka,
    groupId: "fraud-online-labels",
    topics: [TOPICS.fraudLabels],
    handleBatch: labelApplier(store),
    registry: metrics.registry,
    metricsPrefix: "fraud_labels",
    logger,
  });
  closers.add("label consumer", () => labels.stop());

  const decisions = new Counter({
    name: "fraud_decisions_total",
    help: "Decisions by outcome and by what decided",
    labelNames: ["decision", "decided_by"] as const,
    registers: [metrics.registry],
  });
  const degraded = new Counter({
    name: "fraud_degraded_total",
    help: "Answers computed without the feature store, by reason",
    labelNames: ["reason"] as const,
    registers: [metrics.registry],
  });

  const scores = new Histogram({
    name: "fraud_score",
    help: "Model scores served (rule decisions carry no score)",
    buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
    registers: [metrics.registry],
  });

  const deps: FraudAppDeps = {
    logger,
    metrics,
    readiness,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    store,
    storeBreaker: new CircuitBreaker("redis", { failureThreshold: config.FEATURE_BREAKER_FAILURES, cooldownMs: config.FEATURE_BREAKER_COOLDOWN_MS }),
    featureDeadlineMs: config.FEATURE_DEADLINE_MS,
    model: () => model,
    reloadModel: () => {
      model = loadFraudModel(registry, config.MODEL_ALIAS);
      readiness.set("model", true, model.version);
      setModelVersion(metrics, FRAUD_MODEL_NAME, model.version);
      return model;
    },
    rules: { maxAmount: config.RULE_MAX_AMOUNT, blockedTerminals: new Set(config.BLOCKED_TERMINALS) },
    events: producer,
    reasonCount: config.REASON_CODES,
    onDegraded: (reason) => degraded.inc({ reason }),
    onDecision: (decision, decidedBy, score) => {
      decisions.inc({ decision, decided_by: decidedBy });
      if (score !== null) scores.observe(score);
    },
  };
  return { deps, closers, labels, beforeDrain: () => labels.stop() };
}
