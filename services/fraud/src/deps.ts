import { RedisFraudFeatureStore } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { createArmsMetrics, ModelArms, ShadowRunner } from "@mlsd/model-arms";
import { breakerOptions, CircuitBreaker, clockFromConfig, httpDeps, metricPrefix, setModelVersion, TimeBounds, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisher } from "@mlsd/service-kit/kafka";
import { connectRedis } from "@mlsd/service-kit/redis";
import type { FraudAppDeps } from "./app";
import type { FraudConfig } from "./config";
import { createFraudMetrics } from "./metrics";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { loadGbdtFraudModel, type FraudModel } from "@mlsd/fraud-model";

/**
 * The model, Redis (features) and Kafka (events out, through the journal: start-up never waits
 * for Kafka). Labels reach the features through the feature streamer, not this service. Each
 * dependency registers its closer as it opens.
 */
export async function createDeps(ctx: ServiceContext<FraudConfig>): Promise<FraudAppDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  const arms = new ModelArms<FraudModel>({
    model: FRAUD_MODEL_NAME,
    load: (ref) => loadGbdtFraudModel(registry, ref),
    currentAlias: config.MODEL_ALIAS,
    logger,
    metrics: createArmsMetrics(metrics.registry, metricPrefix(ctx.name)),
    // One feature pipeline serves both: a challenger must read the same features.
    incompatible: (current, challenger) =>
      challenger.featureSchemaHash === current.featureSchemaHash ? null : `trained on feature schema ${challenger.featureSchemaHash}, this service computes ${current.featureSchemaHash}`,
    onCurrent: (m) => {
      readiness.set("model", true, m.version);
      setModelVersion(metrics, FRAUD_MODEL_NAME, m.version);
    },
  });
  const model = await arms.loadCurrent();
  logger.info({ version: model.version, thresholds: model.thresholds }, "fraud model loaded");

  const clock = clockFromConfig(config);
  const storeBreaker = new CircuitBreaker("redis", breakerOptions(config, "FEATURE_BREAKER_"));
  const redis = connectRedis(ctx, { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, onRecovered: () => storeBreaker.success() });
  const store = new RedisFraudFeatureStore(redis.client, undefined, undefined, clock.speed);

  const kafka = createKafka("fraud", config.KAFKA_BROKERS);
  const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR });
  const shadow = new ShadowRunner({ model: FRAUD_MODEL_NAME, events, logger, metrics: createArmsMetrics(metrics.registry, metricPrefix(ctx.name)), now: () => clock.now(), producer: "fraud" });

  const fraudMetrics = createFraudMetrics(metrics.registry);
  return {
    ...httpDeps(ctx),
    store,
    storeBreaker,
    featureDeadlineMs: config.FEATURE_DEADLINE_MS,
    model: () => arms.current(),
    route: (customerId) => arms.route(customerId),
    shadow,
    arms,
    rules: { maxAmount: config.RULE_MAX_AMOUNT, blockedTerminals: new Set(config.BLOCKED_TERMINALS) },
    events,
    reasonCount: config.REASON_CODES,
    timeBounds: TimeBounds.fromConfig(clock, config),
    labelCheckDeadlineMs: config.LABEL_CHECK_DEADLINE_MS,
    onDegraded: (reason) => fraudMetrics.degraded.inc({ reason }),
    onReplay: () => fraudMetrics.replays.inc(),
    onAnswerNotSaved: () => fraudMetrics.answersNotSaved.inc(),
    onLabel: (outcome) => fraudMetrics.labels.inc({ outcome }),
    onDecision: (decision, decidedBy, score) => {
      fraudMetrics.decisions.inc({ decision, decided_by: decidedBy });
      if (score !== null) fraudMetrics.scores.observe(score);
    },
  };
}
