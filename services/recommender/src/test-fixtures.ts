import type { AnyEvent, CandidatesRequestInput, CandidatesResponse, RankRequestInput, RankResponse } from "@mlsd/contracts";
import { MemoryRecsFeatureStore, MemoryServedImpressions, MemoryUserHistory, type RecsFeatureStore } from "@mlsd/feature-store";
import { buildPopularityLists, type Popularity } from "@mlsd/model-formats/popularity";
import { CircuitBreaker, createLogger, createMetrics, ManualClock, Readiness, TimeBounds, TokenAuthenticator } from "@mlsd/service-kit";
import type { RecommenderAppDeps } from "./app";
import type { RankerClient, RetrievalClient } from "./clients";

/** The click writer's token in the unit tests. */
export const CLICK_TOKEN = "click-writer-token-0123";

/** Items i0..i59; item i is in category i % 4 and scores 60 - i with retrieval. */
export const CATALOGUE_SIZE = 60;
export const categoryOf = (i: number) => i % 4;
const T0 = Date.UTC(2024, 0, 20);

/** A retrieval twin: every item by its fixed score, exclusions honoured, calls recorded. */
export class FakeRetrieval implements RetrievalClient {
  calls: CandidatesRequestInput[] = [];
  behaviour: "ok" | "fail" | "hang" = "ok";
  /** Whether answers carry each item's category (a model trained without a catalogue would not). */
  withCategories = true;

  async candidates(body: CandidatesRequestInput, signal: AbortSignal): Promise<CandidatesResponse> {
    this.calls.push(body);
    if (this.behaviour === "fail") throw new Error("connect ECONNREFUSED 127.0.0.1:8082");
    if (this.behaviour === "hang") await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    const exclude = new Set(body.excludeItemIds ?? []);
    const candidates = Array.from({ length: CATALOGUE_SIZE }, (_, i) => ({ itemId: `i${i}`, score: (CATALOGUE_SIZE - i) / CATALOGUE_SIZE, category: this.withCategories ? categoryOf(i) : null }))
      .filter((c) => !exclude.has(c.itemId))
      .slice(0, body.k ?? 200);
    return { userId: body.userId, candidates, modelVersion: "tt-1", arm: "current", source: "hnsw", degraded: false, degradedReason: null, userKnown: true, historyUsed: 2, ignoredFeatures: [], timings: { total: 0.1 } };
  }
}

/** A ranker twin: reverses the retrieval order (so its hand is visible), or fails, or degrades. */
export class FakeRanker implements RankerClient {
  calls: RankRequestInput[] = [];
  behaviour: "ok" | "fail" | "degraded" = "ok";
  /** Replaces the reversal: the order the "model" puts the candidates in. */
  reorder: ((candidates: RankRequestInput["candidates"]) => RankRequestInput["candidates"]) | null = null;

  async rank(body: RankRequestInput): Promise<RankResponse> {
    this.calls.push(body);
    if (this.behaviour === "fail") throw new Error("ranker: answered 503 UNAVAILABLE no ranker model loaded");
    const degraded = this.behaviour === "degraded";
    const order = degraded ? body.candidates : this.reorder ? this.reorder(body.candidates) : [...body.candidates].reverse();
    const withFeatures = body.withFeatures === true && !degraded;
    const items = order.slice(0, body.k ?? 10).map((c, j) => ({ itemId: c.itemId, score: degraded ? c.retrievalScore : 100 - j, retrievalScore: c.retrievalScore, ...(withFeatures ? { features: [c.retrievalScore, j], applied: { i0: 100 + j } } : {}) }));
    return {
      userId: body.userId,
      items,
      rankedBy: degraded ? "retrieval-score" : "model",
      modelVersion: "gbdt-7",
      arm: "current",
      degraded,
      degradedReason: degraded ? "feature store did not answer within 5 ms; ranked by retrieval score" : null,
      unknownItems: 0,
      unknownUser: false,
      ...(withFeatures ? { featureNames: ["retrieval_score", "rank"], userApplied: { i1: 9, c1: 9 } } : {}),
      timings: { total: 0.1 },
    };
  }
}

/** Popularity: item i scores 100 - i, so i0 is the most popular overall and i0, i4, ... lead category 0. */
export function testPopularity(): Popularity {
  return {
    version: "pop-1",
    lists: buildPopularityLists({
      scores: Array.from({ length: CATALOGUE_SIZE }, (_, i) => 100 - i),
      categories: Array.from({ length: CATALOGUE_SIZE }, (_, i) => categoryOf(i)),
      itemId: (i) => `i${i}`,
      description: "test popularity",
    }),
  };
}

/** Profiles for every item and for u1 (home category 2) and u-new (home category 3, never clicked); u1 clicked i3 and i7. */
export async function seededStores(): Promise<{ features: MemoryRecsFeatureStore; history: MemoryUserHistory }> {
  const features = new MemoryRecsFeatureStore();
  await features.writeProfiles({
    users: [
      ["u1", { signupMs: T0 - 90 * 86_400_000, homeCategory: 2, ageBucket: 3 }],
      ["u-new", { signupMs: T0, homeCategory: 3, ageBucket: 1 }],
    ],
    items: Array.from({ length: CATALOGUE_SIZE }, (_, i) => [`i${i}`, { category: categoryOf(i), tags: [i % 5], releaseMs: T0 - i * 86_400_000 }] as const),
  });
  const history = new MemoryUserHistory();
  for (const [offset, itemId] of ["i3", "i7"].entries()) {
    await features.apply([
      { kind: "impression", eventId: `${itemId}-imp`, userId: "u1", itemId, position: 0, timeMs: T0, source: { partition: 1, offset } },
      { kind: "click", eventId: `${itemId}-clk`, userId: "u1", itemId, position: 0, timeMs: T0, source: { partition: 1, offset } },
    ]);
    await history.append("u1", itemId);
  }
  return { features, history };
}

export interface TestSetup {
  deps: RecommenderAppDeps;
  events: AnyEvent[];
  retrieval: FakeRetrieval;
  ranker: FakeRanker;
  features: RecsFeatureStore;
  history: MemoryUserHistory;
  clock: ManualClock;
}

export async function testDeps(overrides: Partial<RecommenderAppDeps> = {}): Promise<TestSetup> {
  const { features, history } = await seededStores();
  const events: AnyEvent[] = [];
  const retrieval = new FakeRetrieval();
  const ranker = new FakeRanker();
  const popularity = testPopularity();
  const breaker = (name: string) => new CircuitBreaker(name, { failureRate: 1, minimumCalls: 3, windowSize: 3, cooldownMs: 60_000 });
  // The service clock at 2024-01-20 10:00:30 UTC; clicks may be 2 s ahead of it.
  const clock = new ManualClock(Date.UTC(2024, 0, 20, 10, 0, 30));
  const deps: RecommenderAppDeps = {
    logger: createLogger({ service: "recommender", level: "silent" }),
    metrics: createMetrics("recommender", { defaultMetrics: false }),
    readiness: new Readiness(),
    auth: new TokenAuthenticator({ clicks: CLICK_TOKEN }),
    features,
    history,
    served: new MemoryServedImpressions(30 * 60_000, () => clock.now()),
    timeBounds: new TimeBounds(clock, 2_000, 30 * 86_400_000),
    retrieval,
    ranker,
    popularity: () => popularity,
    breakers: { redis: breaker("redis"), retrieval: breaker("retrieval"), ranker: breaker("ranker") },
    deadlines: { budgetMs: 500, redisMs: 50, retrievalMs: 50, rankerMs: 50 },
    candidates: 40,
    servedFeaturesSampleRate: 1,
    historyLength: 20,
    seenLimit: 500,
    maxPerCategory: 3,
    coldStartCategoryWeight: 0.7,
    events: { publish: (e) => events.push(e) },
    ...overrides,
  };
  return { deps, events, retrieval, ranker, features: deps.features, history, clock };
}
