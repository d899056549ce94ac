import { CachedRecsFeatureStore, RedisRecsFeatureStore, type RecsFeatureStore } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, CircuitBreaker, Closers, createLogger, createMetrics, Readiness, type Logger, type ServiceMetrics } from "@mlsd/service-kit";
import { Redis } from "ioredis";
import { Counter } from "prom-client";
import type { RankerAppDeps } from "./app";
import type { RankerConfig } from "./config";
import { loadRankerModel, type RankerModel } from "./model";

export interface RankerRuntime {
  deps: RankerAppDeps;
  logger: Logger;
  readiness: Readiness;
  closers: Closers;
}

/** Counters beside the stage histograms: why answers were degraded, and how many candidates were unknown. */
export function rankerCounters(metrics: ServiceMetrics) {
  const degraded = new Counter({
    name: "ranker_degraded_total",
    help: "Rank answers ordered by retrieval score because the feature store failed, by reason",
    labelNames: ["reason"] as const,
    registers: [metrics.registry],
  });
  const unknownItems = new Counter({
    name: "ranker_unknown_items_total",
    help: "Candidates the feature store knew nothing about (ranked with default features)",
    registers: [metrics.registry],
  });
  return { degraded, unknownItems };
}

/**
 * Connects Redis and loads the model; readiness follows both (a model that fails to load keeps
 * the service unready, Redis readiness follows the connection). Closers run in reverse.
 */
export function createRuntime(config: RankerConfig): RankerRuntime {
  const logger = createLogger({ service: "ranker", level: config.LOG_LEVEL });
  const metrics = createMetrics("ranker");
  const readiness = new Readiness(["model", "redis"]);
  const closers = new Closers();

  // Fail fast instead of queueing behind a dead connection: the deadline decides what happens next.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  const redisStore = new RedisRecsFeatureStore(redis, { prefix: config.REDIS_PREFIX, itemBuckets: config.ITEM_BUCKETS });
  // Ready once connected and the stored layout is the one this reader expects: with other item
  // buckets every item would silently look unknown.
  redis.on("ready", () => {
    redisStore.checkLayout().then(
      (problem) => {
        readiness.set("redis", problem === null, problem ?? undefined);
        if (problem) logger.error({ problem }, "feature layout mismatch");
      },
      (error: Error) => readiness.set("redis", false, error.message),
    );
  });
  redis.on("close", () => readiness.set("redis", false, "connection closed"));
  redis.on("error", (error: Error) => {
    readiness.set("redis", false, error.message);
    logger.warn({ err: error }, "redis error");
  });
  closers.add("redis", () => {
    redis.disconnect();
  });
  const store: RecsFeatureStore =
    config.ITEM_CACHE_TTL_MS > 0 ? new CachedRecsFeatureStore(redisStore, { maxItems: config.ITEM_CACHE_SIZE, ttlMs: config.ITEM_CACHE_TTL_MS }) : redisStore;

  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let model: RankerModel | null = null;
  const reloadModel = (): RankerModel => {
    const loaded = loadRankerModel(registry, config.MODEL_ALIAS, store.config);
    model = loaded;
    readiness.set("model", true, loaded.version);
    return loaded;
  };
  try {
    reloadModel();
    logger.info({ version: model!.version }, "ranker model loaded");
  } catch (error) {
    readiness.set("model", false, (error as Error).message);
    logger.error({ err: error }, "no ranker model: train one (npm run train:recs -w @mlsd/trainer) and reload");
  }

  const counters = rankerCounters(metrics);
  const deps: RankerAppDeps = {
    logger,
    metrics,
    readiness,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    store,
    storeBreaker: new CircuitBreaker("redis", { failureThreshold: config.BREAKER_FAILURES, cooldownMs: config.BREAKER_COOLDOWN_MS }),
    featureDeadlineMs: config.FEATURE_DEADLINE_MS,
    model: () => {
      if (!model) throw new AppError("UNAVAILABLE", "no ranker model loaded");
      return model;
    },
    reloadModel,
    onDegraded: (reason) => counters.degraded.inc({ reason }),
    onUnknownItems: (count) => counters.unknownItems.inc(count),
  };
  return { deps, logger, readiness, closers };
}
