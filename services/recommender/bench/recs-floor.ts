/**
 * The recommendations floor: the least a server can do and still do the recommender's work per
 * request, for bench/recs-floor-bench.ts to run beside the service. `node:http`, the body parsed
 * with JSON.parse, then the same work through the same packages: the user's state and clicked items
 * from Redis (one round trip), the cold-start list for a user with nothing to retrieve from, the
 * two-tower user encoding and the HNSW search with the seen items excluded (@mlsd/retrieval), the
 * candidates' features from Redis under the ranker's deadline and the GBDT (@mlsd/ranking), the
 * seen filter and the per-category cap, the answer recorded for click checks, and the impression
 * and served events (with the ranker's rows) through the same producer and journal (@mlsd/events).
 * No service skeleton, no zod validation of the request, no logger, no metrics, no HTTP hops, no
 * per-stage deadlines or breakers but the ranker's own.
 *
 *   node --import tsx bench/recs-floor.ts --port P --redis URL --kafka HOST:PORT --registry DIR --journal DIR
 *
 * Its settings are the recommender's defaults (RecommenderConfigSchema): candidates, history
 * length, seen limit, per-category cap, cold-start weight, key prefixes, the ranker's deadline.
 *
 * GET /readyz answers 200 once it listens, GET /served how many answers it gave (the bench divides
 * CPU by it); SIGTERM flushes the events and exits.
 */
import { makeEvent, type RankResponse, type RecommendationsRequest, type RecommendationsResponse, type RecsFallback } from "@mlsd/contracts";
import { EventProducer, KafkaRecordSender, ensureTopics } from "@mlsd/events";
import { parseAppliedOffsets, RedisRecsFeatureStore, RedisServedImpressions, RedisUserHistory } from "@mlsd/feature-store";
import { loadPopularity } from "@mlsd/model-formats/popularity";
import { ModelRegistry } from "@mlsd/model-registry";
import { loadRankerModel, rankCandidates, type RankingDeps } from "@mlsd/ranking";
import { capPerCategory } from "../src/diversity";
import { blendPopularity } from "../src/recommend";
import { RecommenderConfigSchema } from "../src/config";
import { loadRetriever } from "@mlsd/retrieval";
import { breakerOptions, CircuitBreaker, StageTimer } from "@mlsd/service-kit";
import { createKafka } from "@mlsd/service-kit/kafka";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { floorArgs, serveFloor } from "@mlsd/loadgen/floor-server";

const { redisUrl, brokers, registryDir, journal, port } = floorArgs("recs-floor.ts");
const config = RecommenderConfigSchema.parse({ REDIS_URL: redisUrl, KAFKA_BROKERS: brokers, MODEL_REGISTRY_DIR: registryDir, EVENT_JOURNAL_DIR: journal });

const registry = new ModelRegistry(registryDir);
const popularity = loadPopularity(registry, config.MODEL_ALIAS);
const versions = { retrieval: "", ranker: "" };
const retriever = await loadRetriever(registry, config.MODEL_ALIAS);
// As the recommender: no offline queue, no retries.
const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000 });
const features = new RedisRecsFeatureStore(redis, { prefix: config.REDIS_PREFIX, itemBuckets: config.ITEM_BUCKETS });
const history = new RedisUserHistory(redis, { prefix: config.HISTORY_PREFIX });
const served = new RedisServedImpressions(redis, { prefix: config.SERVED_PREFIX, ttlMs: config.CLICK_ATTRIBUTION_MS });
const model = loadRankerModel(registry, config.MODEL_ALIAS, features.config);
versions.retrieval = `retrieval@${retriever.version}`;
versions.ranker = `ranker-gbdt@${model.version}`;
const ranking: RankingDeps = {
  store: features,
  storeBreaker: new CircuitBreaker("ranker-features", breakerOptions(config, "BREAKER_")),
  featureDeadlineMs: config.RANKER_FEATURE_DEADLINE_MS,
  model: () => model,
};
const kafka = createKafka("recs-floor", brokers.split(","));
const events = new EventProducer({ sender: new KafkaRecordSender(kafka), journalDir: journal, registry: new Registry(), metricsPrefix: "recs_floor" });
await events.start();
await ensureTopics(kafka, { timeoutMs: 30_000 });
await new Promise<void>((resolve) => (redis.status === "ready" ? resolve() : redis.once("ready", () => resolve())));

interface Ranked {
  itemId: string;
  score: number;
  category: number | null;
  features?: readonly (number | null)[];
  applied?: RankResponse["userApplied"];
}

let nextId = 0;

async function recommend(request: RecommendationsRequest): Promise<RecommendationsResponse> {
  const t0 = performance.now();
  const requestId = `floor-${process.pid}-${nextId++}`;
  const eventTime = new Date().toISOString();
  const excluded = new Set(request.excludeItemIds ?? []);
  const [state, clicked] = await Promise.all([features.fetch(request.userId, []), history.read(request.userId, config.SEEN_LIMIT)]);
  const user = state.user;
  const category = request.context?.category ?? user?.profile?.homeCategory ?? null;
  const modelVersions: Record<string, string> = {};
  let ranked: Ranked[];
  let fallback: RecsFallback | null = null;
  let featureNames: readonly string[] = [];
  const userFeatures: Record<string, number> = {};
  const applied: { userApplied?: RankResponse["userApplied"]; rowsUserApplied?: RankResponse["userApplied"] } = { userApplied: parseAppliedOffsets(user?.applied) };
  if (user === null || (user.clicks === 0 && user.recent.length === 0 && clicked.length === 0)) {
    modelVersions.popularity = `recs-popularity@${popularity.version}`;
    ranked = blendPopularity(popularity, category, config.COLD_START_CATEGORY_WEIGHT);
    fallback = "cold-start";
  } else {
    userFeatures.log_clicks = Math.log1p(user.clicks);
    if (user.profile?.homeCategory != null) userFeatures.home_category = user.profile.homeCategory;
    if (user.profile?.ageBucket != null) userFeatures.age_bucket = user.profile.ageBucket;
    const device = request.context?.device;
    const found = retriever.candidates(
      { userId: request.userId, k: config.CANDIDATES, history: clicked.slice(0, config.HISTORY_LENGTH), features: userFeatures, device: device ? ["mobile", "desktop", "tablet"].indexOf(device) : null, exclude: [...excluded, ...clicked].slice(0, 1000) },
      "hnsw",
      new StageTimer(),
    );
    modelVersions.retrieval = versions.retrieval;
    const candidates = found.itemIds.map((itemId, j) => ({ itemId, retrievalScore: found.scores[j] as number }));
    const categoryOf = new Map(found.itemIds.map((id, j) => [id, found.categories[j] ?? null]));
    const rank = await rankCandidates(ranking, { userId: request.userId, candidates, k: Math.min(100, candidates.length), context: { ...request.context, time: eventTime }, withFeatures: true }, new StageTimer());
    modelVersions.ranker = versions.ranker;
    if (rank.rankedBy === "model") {
      featureNames = rank.featureNames ?? [];
      if (rank.userApplied) applied.rowsUserApplied = rank.userApplied;
      ranked = rank.items.map((i) => ({ itemId: i.itemId, score: i.score, category: categoryOf.get(i.itemId) ?? null, ...(i.features ? { features: i.features } : {}), ...(i.applied ? { applied: i.applied } : {}) }));
    } else {
      fallback = "retrieval-order";
      ranked = found.itemIds.map((itemId, j) => ({ itemId, score: found.scores[j] as number, category: categoryOf.get(itemId) ?? null }));
    }
  }
  const seen = new Set(clicked);
  const top = capPerCategory(
    ranked.filter((i) => !excluded.has(i.itemId) && !seen.has(i.itemId)),
    request.k ?? 10,
    config.MAX_PER_CATEGORY,
  );
  const items = top.map((item, position) => ({ itemId: item.itemId, position, score: item.score, category: item.category }));
  served.record(request.userId, requestId, items.map((i) => i.itemId)).catch(() => undefined);
  const key = { producer: "recs-floor", eventTime };
  for (const item of items) events.publish(makeEvent("recs.impression", { requestId, userId: request.userId, itemId: item.itemId, position: item.position, modelVersions }, key));
  const named = (row: readonly (number | null)[] | undefined) => (row ? Object.fromEntries(featureNames.map((name, j) => [name, row[j] ?? null])) : {});
  const latencyMs = performance.now() - t0;
  events.publish(
    makeEvent(
      "recs.served",
      { requestId, userId: request.userId, modelVersions, fallback, userFeatures, items: items.map((item, position) => {
          const itemApplied = top[position]?.applied;
          return { itemId: item.itemId, position, score: item.score, features: named(top[position]?.features), ...(itemApplied ? { applied: itemApplied } : {}) };
        }),
        arms: {},
        latencyMs,
        ...applied,
      },
      key,
    ),
  );
  // The service reports its stage times here; the floor keeps no stage timer.
  return { requestId, userId: request.userId, items, modelVersions, arms: {}, fallback, fallbackReason: null, timings: {} };
}

serveFloor<RecommendationsRequest>({
  port,
  path: "/v1/recommendations",
  count: "served",
  answer: recommend,
  clients: { events, redis },
});
