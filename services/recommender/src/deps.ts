import { RedisRecsFeatureStore, RedisServedImpressions, RedisUserHistory } from "@mlsd/feature-store";
import { loadPopularity, POPULARITY_MODEL_NAME, type Popularity } from "@mlsd/model-formats/popularity";
import { ModelRegistry } from "@mlsd/model-registry";
import { AppError, breakerOptions, CircuitBreaker, clockFromConfig, httpDeps, setModelVersion, TimeBounds, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisher } from "@mlsd/service-kit/kafka";
import { connectRedis } from "@mlsd/service-kit/redis";
import type { RecommenderAppDeps } from "./app";
import { HttpRankerClient, HttpRetrievalClient, JsonHttpClient } from "./clients";
import type { RecommenderConfig } from "./config";
import { createRecommenderMetrics } from "./metrics";
import { ResultCache } from "./result-cache";

/**
 * Redis, Kafka, the popularity lists and keep-alive pools to retrieval and the ranker, each
 * registering its closer as it opens. Without popularity lists the service stays unready: it
 * would have no answer when a dependency fails.
 */
export async function createDeps(ctx: ServiceContext<RecommenderConfig>): Promise<RecommenderAppDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  let popularity: Popularity | null = null;
  const reloadPopularity = (): Popularity => {
    const loaded = loadPopularity(registry, config.MODEL_ALIAS);
    popularity = loaded;
    readiness.set("popularity", true, loaded.version);
    setModelVersion(metrics, POPULARITY_MODEL_NAME, loaded.version);
    return loaded;
  };
  try {
    reloadPopularity();
  } catch (error) {
    readiness.set("popularity", false, (error as Error).message);
    logger.error({ err: error }, "no popularity lists: train (npm run train:recs) and reload");
  }

  const clock = clockFromConfig(config);
  const breaker = (name: string) => new CircuitBreaker(name, breakerOptions(config, "BREAKER_"));
  const breakers = { redis: breaker("redis"), retrieval: breaker("retrieval"), ranker: breaker("ranker") };
  const redis = connectRedis(ctx, { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES, onRecovered: () => breakers.redis.success() });

  const kafka = createKafka("recommender", config.KAFKA_BROKERS);
  const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR });

  const retrievalHttp = new JsonHttpClient("retrieval", config.RETRIEVAL_URL);
  const rankerHttp = new JsonHttpClient("ranker", config.RANKER_URL);
  ctx.closers.add("http pools", () => {
    retrievalHttp.close();
    rankerHttp.close();
  });

  const counters = createRecommenderMetrics(metrics.registry);
  return {
    ...httpDeps(ctx),
    features: new RedisRecsFeatureStore(redis.client, { prefix: config.REDIS_PREFIX }),
    history: new RedisUserHistory(redis.client, { prefix: config.HISTORY_PREFIX }),
    served: new RedisServedImpressions(redis.client, { prefix: config.SERVED_PREFIX, ttlMs: Math.max(1_000, Math.ceil(config.CLICK_ATTRIBUTION_MS / clock.speed)) }),
    timeBounds: TimeBounds.fromConfig(clock, config),
    retrieval: new HttpRetrievalClient(retrievalHttp),
    ranker: new HttpRankerClient(rankerHttp),
    popularity: () => {
      if (!popularity) throw new AppError("UNAVAILABLE", "no popularity lists loaded");
      return popularity;
    },
    reloadPopularity,
    breakers,
    deadlines: { budgetMs: config.REQUEST_BUDGET_MS, redisMs: config.REDIS_DEADLINE_MS, retrievalMs: config.RETRIEVAL_DEADLINE_MS, rankerMs: config.RANKER_DEADLINE_MS },
    candidates: config.CANDIDATES,
    servedFeaturesSampleRate: config.SERVED_FEATURES_SAMPLE_RATE,
    historyLength: config.HISTORY_LENGTH,
    seenLimit: config.SEEN_LIMIT,
    maxPerCategory: config.MAX_PER_CATEGORY,
    coldStartCategoryWeight: config.COLD_START_CATEGORY_WEIGHT,
    events,
    ...(config.RESULT_CACHE_TTL_MS > 0 ? { resultCache: new ResultCache(config.RESULT_CACHE_TTL_MS, config.RESULT_CACHE_MAX_USERS) } : {}),
    onResultCache: (outcome) => counters.resultCache.inc({ outcome }),
    onFallback: (kind) => counters.fallbacks.inc({ kind }),
    onDependencyFailure: (dependency, reason) => counters.dependencyFailures.inc({ dependency, reason }),
    onClickHistoryFailure: () => counters.clickHistoryFailures.inc(),
    onClick: (outcome) => counters.clicks.inc({ outcome }),
    onServedNotRecorded: () => counters.servedNotRecorded.inc(),
  };
}
