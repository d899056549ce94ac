import { CachedRecsFeatureStore, RedisRecsFeatureStore, type RecsFeatureStore } from "@mlsd/feature-store";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { ModelRegistry } from "@mlsd/model-registry";
import { TOPICS } from "@mlsd/contracts";
import { createArmsMetrics, ModelArms, ShadowRunner } from "@mlsd/model-arms";
import { breakerOptions, CircuitBreaker, httpDeps, metricPrefix, setModelVersion, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisherOnDemand } from "@mlsd/service-kit/kafka";
import { connectRedis } from "@mlsd/service-kit/redis";
import type { RankerAppDeps } from "./app";
import type { RankerConfig } from "./config";
import { createRankerMetrics } from "./metrics";
import { loadRankerModel, type RankerModel } from "@mlsd/ranking";

/**
 * Redis (ready once connected and the stored layout is the one this reader expects: with other
 * item buckets every item would silently look unknown) and the model (a model that fails to load
 * keeps the service unready).
 */
export async function createDeps(ctx: ServiceContext<RankerConfig>): Promise<RankerAppDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const storeBreaker = new CircuitBreaker("redis", breakerOptions(config, "BREAKER_"));
  let redisStore: RedisRecsFeatureStore | null = null;
  const redis = connectRedis(ctx, {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    verify: () => redisStore!.checkLayout(),
    onRecovered: () => storeBreaker.success(),
  });
  redisStore = new RedisRecsFeatureStore(redis.client, { prefix: config.REDIS_PREFIX, itemBuckets: config.ITEM_BUCKETS });
  const store: RecsFeatureStore =
    config.ITEM_CACHE_TTL_MS > 0 ? new CachedRecsFeatureStore(redisStore, { maxItems: config.ITEM_CACHE_SIZE, ttlMs: config.ITEM_CACHE_TTL_MS }) : redisStore;

  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  const armsMetrics = createArmsMetrics(metrics.registry, metricPrefix(ctx.name));
  const arms = new ModelArms<RankerModel>({
    model: RANKER_MODEL_NAME,
    // Each version is checked against the features this service computes (schema hash and names).
    load: (ref) => loadRankerModel(registry, ref, store.config),
    currentAlias: config.MODEL_ALIAS,
    logger,
    metrics: armsMetrics,
    onCurrent: (loaded) => {
      readiness.set("model", true, loaded.version);
      setModelVersion(metrics, RANKER_MODEL_NAME, loaded.version);
    },
  });
  try {
    logger.info({ version: (await arms.loadCurrent()).version }, "ranker model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no ranker model: train one (npm run train:recs) and reload");
  }
  const events = config.KAFKA_BROKERS.length > 0 ? startEventPublisherOnDemand(ctx, { kafka: createKafka("ranker", config.KAFKA_BROKERS), journalDir: config.EVENT_JOURNAL_DIR, topics: [TOPICS.mlShadowPredictions] }) : null;
  const shadow = new ShadowRunner({ model: RANKER_MODEL_NAME, events, logger, metrics: armsMetrics, producer: "ranker" });

  const counters = createRankerMetrics(metrics.registry);
  return {
    ...httpDeps(ctx),
    store,
    storeBreaker,
    featureDeadlineMs: config.FEATURE_DEADLINE_MS,
    model: () => arms.current(),
    route: (userId) => arms.route(userId),
    shadow,
    arms,
    onDegraded: (reason) => counters.degraded.inc({ reason }),
    onUnknownItems: (count) => counters.unknownItems.inc(count),
  };
}
