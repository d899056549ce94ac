import { RedisRecsFeatureStore, RedisServedImpressions, RedisUserHistory } from "@mlsd/feature-store";
import { loadPopularity, POPULARITY_MODEL_NAME, type Popularity } from "@mlsd/model-formats/popularity";
import { ModelRegistry } from "@mlsd/model-registry";
import { loadRankerModel, type RankerModel } from "@mlsd/ranking";
import { describeLoaded, loadRetriever, type Retriever } from "@mlsd/retrieval";
import { AppError, breakerOptions, CircuitBreaker, clockFromConfig, httpDeps, setModelVersion, TimeBounds, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startEventPublisher } from "@mlsd/service-kit/kafka";
import { connectRedis } from "@mlsd/service-kit/redis";
import type { RecommenderAppDeps } from "./app";
import { HttpRankerClient, HttpRetrievalClient, JsonHttpClient, type RankerClient, type RetrievalClient } from "./clients";
import type { RecommenderConfig } from "./config";
import { InProcessRankerClient, InProcessRetrievalClient } from "./in-process";
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
  const redis = connectRedis(ctx, {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    // In-process, this process reads the candidates' features as the ranker does: with other item buckets every item would look unknown.
    ...(config.PIPELINE === "in-process" ? { verify: () => features.checkLayout() } : {}),
    onRecovered: () => breakers.redis.success(),
  });
  const features = new RedisRecsFeatureStore(redis.client, { prefix: config.REDIS_PREFIX, itemBuckets: config.ITEM_BUCKETS });

  const kafka = createKafka("recommender", config.KAFKA_BROKERS);
  const events = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR });

  const stages = config.PIPELINE === "in-process" ? await inProcessStages(ctx, registry, features) : httpStages(ctx);

  const counters = createRecommenderMetrics(metrics.registry);
  return {
    ...httpDeps(ctx),
    features,
    history: new RedisUserHistory(redis.client, { prefix: config.HISTORY_PREFIX }),
    served: new RedisServedImpressions(redis.client, { prefix: config.SERVED_PREFIX, ttlMs: Math.max(1_000, Math.ceil(config.CLICK_ATTRIBUTION_MS / clock.speed)) }),
    timeBounds: TimeBounds.fromConfig(clock, config),
    ...stages,
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

/** Keep-alive pools to the retrieval and ranker services. */
function httpStages(ctx: ServiceContext<RecommenderConfig>): { retrieval: RetrievalClient; ranker: RankerClient } {
  const retrievalHttp = new JsonHttpClient("retrieval", ctx.config.RETRIEVAL_URL);
  const rankerHttp = new JsonHttpClient("ranker", ctx.config.RANKER_URL);
  ctx.closers.add("http pools", () => {
    retrievalHttp.close();
    rankerHttp.close();
  });
  return { retrieval: new HttpRetrievalClient(retrievalHttp), ranker: new HttpRankerClient(rankerHttp) };
}

/**
 * Retrieval and ranking in this process (PIPELINE=in-process): the current retrieval model (HNSW)
 * and ranker of the registry, loaded once at start (a new version needs a restart; the services'
 * model arms and shadows are the HTTP mode's), the ranker reading the candidates' features through
 * this process's Redis under its own deadline and breaker. Until both load, the service is unready.
 */
async function inProcessStages(ctx: ServiceContext<RecommenderConfig>, registry: ModelRegistry, store: RedisRecsFeatureStore): Promise<{ retrieval: RetrievalClient; ranker: RankerClient }> {
  const { config, logger, readiness } = ctx;
  let retriever: Retriever | null = null;
  let model: RankerModel | null = null;
  readiness.set("retrieval-model", false, "loading");
  readiness.set("ranker-model", false, "loading");
  try {
    retriever = await loadRetriever(registry, config.MODEL_ALIAS, config.SEARCH_EF !== undefined ? { ef: config.SEARCH_EF } : {});
    readiness.set("retrieval-model", true, describeLoaded(retriever, "hnsw"));
  } catch (error) {
    readiness.set("retrieval-model", false, (error as Error).message);
    logger.error({ err: error }, "no retrieval model: train one (npm run train:recs) and restart");
  }
  try {
    model = loadRankerModel(registry, config.MODEL_ALIAS, store.config);
    readiness.set("ranker-model", true, model.version);
  } catch (error) {
    readiness.set("ranker-model", false, (error as Error).message);
    logger.error({ err: error }, "no ranker model: train one (npm run train:recs) and restart");
  }
  const loaded = <T>(what: string, value: T | null): T => {
    if (!value) throw new AppError("UNAVAILABLE", `no ${what} loaded`);
    return value;
  };
  return {
    retrieval: new InProcessRetrievalClient(() => loaded("retrieval model", retriever)),
    ranker: new InProcessRankerClient({
      store,
      storeBreaker: new CircuitBreaker("ranker-features", breakerOptions(config, "BREAKER_")),
      featureDeadlineMs: config.RANKER_FEATURE_DEADLINE_MS,
      model: () => loaded("ranker model", model),
    }),
  };
}
