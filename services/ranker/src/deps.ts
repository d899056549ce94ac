import { CachedRecsFeatureStore, RedisRecsFeatureStore, type RecsFeatureStore } from "@mlsd/feature-store";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, breakerOptions, CircuitBreaker, httpDeps, setModelVersion, type ServiceContext } from "@mlsd/service-kit";
import { connectRedis } from "@mlsd/service-kit/redis";
import type { RankerAppDeps } from "./app";
import type { RankerConfig } from "./config";
import { createRankerMetrics } from "./metrics";
import { loadRankerModel, type RankerModel } from "./model";

/**
 * Redis (ready once connected and the stored layout is the one this reader expects: with other
 * item buckets every item would silently look unknown) and the model (a model that fails to load
 * keeps the service unready).
 */
export function createDeps(ctx: ServiceContext<RankerConfig>): RankerAppDeps {
  const { config, logger, metrics, readiness } = ctx;
  const storeBreaker = new CircuitBreaker("redis", breakerOptions(config, "BREAKER_"));
  let redisStore: RedisRecsFeatureStore | null = null;
  const redis = connectRedis(ctx, {
    url: config.REDIS_URL,
    verify: () => redisStore!.checkLayout(),
    onRecovered: () => storeBreaker.success(),
  });
  redisStore = new RedisRecsFeatureStore(redis.client, { prefix: config.REDIS_PREFIX, itemBuckets: config.ITEM_BUCKETS });
  const store: RecsFeatureStore =
    config.ITEM_CACHE_TTL_MS > 0 ? new CachedRecsFeatureStore(redisStore, { maxItems: config.ITEM_CACHE_SIZE, ttlMs: config.ITEM_CACHE_TTL_MS }) : redisStore;

  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let model: RankerModel | null = null;
  const reloadModel = (): RankerModel => {
    const loaded = loadRankerModel(registry, config.MODEL_ALIAS, store.config);
    model = loaded;
    readiness.set("model", true, loaded.version);
    setModelVersion(metrics, RANKER_MODEL_NAME, loaded.version);
    return loaded;
  };
  try {
    logger.info({ version: reloadModel().version }, "ranker model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no ranker model: train one (npm run train:recs) and reload");
  }

  const counters = createRankerMetrics(metrics.registry);
  return {
    ...httpDeps(ctx),
    store,
    storeBreaker,
    featureDeadlineMs: config.FEATURE_DEADLINE_MS,
    model: () => {
      if (!model) throw new AppError("UNAVAILABLE", "no ranker model loaded");
      return model;
    },
    reloadModel,
    onDegraded: (reason) => counters.degraded.inc({ reason }),
    onUnknownItems: (count) => counters.unknownItems.inc(count),
  };
}
