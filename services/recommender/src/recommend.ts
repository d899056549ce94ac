import { makeEvent, type AppliedOffsets, type Arm, type CandidatesResponse, type RankResponse, type RecommendationsRequest, type RecommendationsResponse, type RecsFallback } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import { parseAppliedOffsets, type RecsFeatureStore, type ServedImpressionStore, type UserHistoryStore, type UserState } from "@mlsd/feature-store";
import type { Popularity, PopularItem } from "@mlsd/model-formats/popularity";
import { Deadline, type CircuitBreaker, type DeadlineResult, type StageTimer, type TimeBounds } from "@mlsd/service-kit";
import type { RankerClient, RetrievalClient } from "./clients";
import { capPerCategory, type Scored } from "./diversity";
import { ResultCache } from "./result-cache";

export type FallbackKind = RecsFallback;
export type Dependency = "redis" | "retrieval" | "ranker";
export type FailureReason = "timeout" | "error" | "circuit-open";

export interface StageDeadlines {
  /** The whole request; each stage gets the smaller of its cap and what is left. */
  budgetMs: number;
  redisMs: number;
  retrievalMs: number;
  rankerMs: number;
}

export interface RecommendDeps {
  features: RecsFeatureStore;
  history: UserHistoryStore;
  /** What each answer showed, for the attribution window: clicks are checked against it. */
  served: ServedImpressionStore;
  retrieval: RetrievalClient;
  ranker: RankerClient;
  popularity: () => Popularity;
  breakers: Record<Dependency, CircuitBreaker>;
  deadlines: StageDeadlines;
  /** Candidates asked of retrieval and handed to the ranker. */
  candidates: number;
  /** Latest clicked items sent to retrieval as the user's history. */
  historyLength: number;
  /** Clicked items read per request to filter out what the user has seen. */
  seenLimit: number;
  /** Diversity: at most this many items of one category in a response. */
  maxPerCategory: number;
  /** Cold start: weight of the category's popularity against overall popularity. */
  coldStartCategoryWeight: number;
  events: EventPublisher;
  /** The service clock: a request's own time is checked against it, and events carry its time. */
  timeBounds: TimeBounds;
  /** Share of answers whose ranker feature rows are logged in `recs.served` (training from the log reads them). */
  servedFeaturesSampleRate: number;
  onFallback?: (kind: FallbackKind) => void;
  /** Recording an answer for click checks failed (off the response path). */
  onServedNotRecorded?: (error: Error) => void;
  onDependencyFailure?: (dependency: Dependency, reason: FailureReason) => void;
  /** A per-user result cache (RESULT_CACHE_TTL_MS); unset: every request takes the two-stage path. */
  resultCache?: ResultCache;
  onResultCache?: (outcome: "hit" | "miss" | "stale") => void;
}

export type RecommendationAnswer = RecommendationsResponse;

/** A ranked item with the feature row the ranker scored, when it was asked for, and the log offsets its state had applied. */
type ServedCandidate = Scored & { features?: readonly (number | null)[]; applied?: AppliedOffsets };

const PRODUCER = "recommender";
/** The ranker returns at most this many (the contract's MAX_K); diversity picks the top k from them. */
const RANKED_POOL = 100;

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: FailureReason; message: string };

/**
 * One dependency call under its breaker and the request's deadline. Failures and timeouts come
 * back as values naming the dependency: they select a fallback, they do not fail the request.
 */
async function call<T>(deps: RecommendDeps, dependency: Dependency, deadline: Deadline, capMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<Outcome<T>> {
  const breaker = deps.breakers[dependency];
  if (!breaker.allow()) {
    deps.onDependencyFailure?.(dependency, "circuit-open");
    return { ok: false, reason: "circuit-open", message: `${dependency}: circuit open after repeated failures` };
  }
  const result: DeadlineResult<T> = await deadline.run(fn, capMs);
  if (result.ok) {
    breaker.success();
    return { ok: true, value: result.value };
  }
  breaker.failure();
  deps.onDependencyFailure?.(dependency, result.reason);
  if (result.reason === "timeout") return { ok: false, reason: "timeout", message: `${dependency}: no answer within ${Math.round(result.ms)} ms` };
  const error = result.error as Error;
  const message = error?.message ?? String(result.error);
  return { ok: false, reason: "error", message: message.startsWith(`${dependency}:`) ? message : `${dependency}: ${message}` };
}

/** Popularity blended with a category: w * (share of the category list's best) + (1 - w) * (share of the overall best). */
export function blendPopularity(popularity: Popularity, category: number | null, weight: number): Scored[] {
  const overall = popularity.lists.overall;
  const inCategory = category === null ? [] : (popularity.lists.byCategory[String(category)] ?? []);
  if (inCategory.length === 0) return overall.map(({ itemId, score, category: c }) => ({ itemId, score, category: c }));
  const topOverall = overall[0]?.score ?? 1;
  const topCategory = inCategory[0]?.score ?? 1;
  const blended = new Map<string, Scored>();
  const add = (item: PopularItem, share: number) => {
    const entry = blended.get(item.itemId) ?? { itemId: item.itemId, score: 0, category: item.category };
    entry.score += share;
    blended.set(item.itemId, entry);
  };
  for (const item of inCategory) add(item, (weight * item.score) / topCategory);
  for (const item of overall) add(item, ((1 - weight) * item.score) / topOverall);
  return [...blended.values()].sort((a, b) => b.score - a.score);
}

/**
 * The two-stage path with a fallback at every step. Order: user state and clicked items from Redis
 * (one round trip) -> candidates from retrieval, seen items excluded there, each with its category
 * -> ranker (which reads the candidates' features from Redis in one pipelined read) -> seen and
 * excluded filter -> at most `maxPerCategory` per category -> top k. Redis down: popularity. Unknown user: popularity
 * blended with their category (cold start). Retrieval down: popularity (in the user's category
 * when known). Ranker down or degraded: retrieval order.
 */
export async function recommend(deps: RecommendDeps, request: RecommendationsRequest, requestId: string, timer: StageTimer): Promise<RecommendationAnswer> {
  // The request's own time must be the service's now, within the skew: item ages and event times follow it.
  const nowMs = deps.timeBounds.check(request.context?.time, "context.time");
  const eventTime = new Date(nowMs).toISOString();
  const deadline = new Deadline(deps.deadlines.budgetMs);
  const popularity = deps.popularity();
  const versions: Record<string, string> = {};
  const arms: Record<string, Arm> = {};
  // Passed on so a shadow challenger's predictions join this answer; only an id the stages accept.
  const stageRequestId = /^[A-Za-z0-9._:-]{1,64}$/.test(requestId) ? { requestId } : {};
  const excluded = new Set(request.excludeItemIds ?? []);
  const k = request.k;
  // The dependencies' own stage timings, prefixed (`retrieval.ann`, `ranker.model`), so one answer
  // shows the whole path. Not observed in this service's histogram: those services observe them.
  const downstream: Record<string, number> = {};
  const addDownstream = (dependency: Dependency, timings: Record<string, number>) => {
    for (const [stage, ms] of Object.entries(timings)) downstream[`${dependency}.${stage}`] = ms;
  };

  let featureNames: readonly string[] = [];
  let userFeatures: Record<string, number> = {};
  // What the user's state had applied when this service read it, and when the ranker did (the rows):
  // logged so the skew check replays exactly those events.
  const applied: { userApplied?: AppliedOffsets; rowsUserApplied?: AppliedOffsets } = {};
  const cache = deps.resultCache;
  const cacheKey = cache ? ResultCache.key(request) : "";
  /** Records and logs what is served (impressions, the served answer with its ranker rows), then answers. */
  const serve = (items: RecommendationAnswer["items"], ranked: readonly (ServedCandidate | undefined)[], fallback: FallbackKind | null, reason: string | null): RecommendationAnswer => {
    // Off the response path: a click comes back a human reaction time later.
    deps.served.record(request.userId, requestId, items.map((i) => i.itemId)).catch((error: Error) => deps.onServedNotRecorded?.(error));
    timer.timeSync("publish", () => {
      const key = { producer: PRODUCER, eventTime };
      for (const item of items) {
        deps.events.publish(makeEvent("recs.impression", { requestId, userId: request.userId, itemId: item.itemId, position: item.position, modelVersions: versions }, key));
      }
      // What was served, as served: the ranker's rows for the items shown (training from the log
      // reads exactly these), or empty rows when a fallback answered.
      const named = (row: readonly (number | null)[] | undefined) => (row ? Object.fromEntries(featureNames.map((name, j) => [name, row[j] ?? null])) : {});
      deps.events.publish(
        makeEvent(
          "recs.served",
          {
            requestId,
            userId: request.userId,
            modelVersions: versions,
            fallback,
            userFeatures,
            items: items.map((item, position) => {
              const itemApplied = ranked[position]?.applied;
              return { itemId: item.itemId, position, score: item.score, features: named(ranked[position]?.features), ...(itemApplied ? { applied: itemApplied } : {}) };
            }),
            arms,
            latencyMs: timer.snapshot().total ?? null,
            ...applied,
          },
          key,
        ),
      );
    });
    return { requestId, userId: request.userId, items, modelVersions: versions, arms, fallback, fallbackReason: reason, timings: { ...timer.snapshot(), ...downstream } };
  };
  const finish = (ranked: readonly ServedCandidate[], fallback: FallbackKind | null, reason: string | null, seen: readonly string[]): RecommendationAnswer => {
    const seenSet = new Set(seen);
    const fresh = timer.timeSync("filter", () => ranked.filter((i) => !excluded.has(i.itemId) && !seenSet.has(i.itemId)));
    const top = timer.timeSync("diversify", () => capPerCategory(fresh, k, deps.maxPerCategory));
    if (fallback) deps.onFallback?.(fallback);
    const items = top.map((item, position) => ({ itemId: item.itemId, position, score: item.score, category: item.category }));
    if (cache && fallback === null) cache.set(cacheKey, nowMs, { items, modelVersions: { ...versions }, arms: { ...arms } });
    return serve(items, top, fallback, reason);
  };

  if (cache) {
    const cached = timer.timeSync("cache", () => cache.get(cacheKey, nowMs));
    deps.onResultCache?.(cached === null ? "miss" : cached === "stale" ? "stale" : "hit");
    if (cached !== null && cached !== "stale") {
      // The answer as it was computed; served again under this request's id (and logged so, without ranker rows).
      Object.assign(versions, cached.answer.modelVersions);
      Object.assign(arms, cached.answer.arms);
      return serve(
        cached.answer.items.map((i) => ({ ...i })),
        [],
        null,
        null,
      );
    }
  }
  const popular = (category: number | null, kind: "popularity" | "cold-start", reason: string, seen: readonly string[]): RecommendationAnswer => {
    versions.popularity = `recs-popularity@${popularity.version}`;
    const weight = kind === "cold-start" ? deps.coldStartCategoryWeight : 1;
    const list = timer.timeSync("popularity", () => blendPopularity(popularity, category, weight));
    const hasCategory = category !== null && (popularity.lists.byCategory[String(category)]?.length ?? 0) > 0;
    const fallback: FallbackKind = kind === "cold-start" ? "cold-start" : hasCategory ? "popularity-category" : "popularity";
    return finish(list, fallback, reason, seen);
  };

  const userRead = await timer.time("user", () =>
    call(deps, "redis", deadline, deps.deadlines.redisMs, async () => {
      const [features, clicked] = await Promise.all([deps.features.fetch(request.userId, []), deps.history.read(request.userId, deps.seenLimit)]);
      return { user: features.user, clicked };
    }),
  );
  const contextCategory = request.context?.category ?? null;
  if (!userRead.ok) {
    return popular(contextCategory, "popularity", `${userRead.message}; the seen-item filter is off`, []);
  }
  const { user, clicked } = userRead.value;
  applied.userApplied = parseAppliedOffsets(user?.applied);
  const category = contextCategory ?? user?.profile?.homeCategory ?? null;
  if (isColdStart(user, clicked)) {
    const why = user === null ? "unknown user" : "user without clicks";
    const what = category === null ? "overall popularity" : `popularity in category ${category} blended with overall popularity`;
    return popular(category, "cold-start", `${why}: ${what}`, clicked);
  }

  const exclude = [...excluded, ...clicked.filter((id) => !excluded.has(id))].slice(0, 1000);
  const features: Record<string, number> = { log_clicks: Math.log1p(user?.clicks ?? 0) };
  if (user?.profile?.homeCategory != null) features.home_category = user.profile.homeCategory;
  if (user?.profile?.ageBucket != null) features.age_bucket = user.profile.ageBucket;
  userFeatures = features;
  const context = { ...request.context, time: eventTime };
  const retrieved = await timer.time("retrieval", () =>
    call(deps, "retrieval", deadline, deps.deadlines.retrievalMs, (signal) =>
      deps.retrieval.candidates(
        { userId: request.userId, k: deps.candidates, history: clicked.slice(0, deps.historyLength), features, excludeItemIds: exclude, context, ...stageRequestId },
        signal,
        requestId,
      ),
    ),
  );
  if (!retrieved.ok) return popular(category, "popularity", retrieved.message, clicked);
  const candidates: CandidatesResponse = retrieved.value;
  versions.retrieval = `retrieval@${candidates.modelVersion}`;
  arms.retrieval = candidates.arm;
  addDownstream("retrieval", candidates.timings);
  if (candidates.candidates.length === 0) return popular(category, "popularity", "retrieval: no candidates left after exclusions", clicked);
  const itemIds = candidates.candidates.map((c) => c.itemId);
  const logFeatures = deps.servedFeaturesSampleRate >= 1 || Math.random() < deps.servedFeaturesSampleRate;

  const ranked = await timer.time("rank", () =>
    call(deps, "ranker", deadline, deps.deadlines.rankerMs, (signal) =>
      deps.ranker.rank(
        {
          userId: request.userId,
          candidates: candidates.candidates.map((c) => ({ itemId: c.itemId, retrievalScore: c.score })),
          k: Math.min(RANKED_POOL, itemIds.length),
          context,
          ...(logFeatures ? { withFeatures: true } : {}),
          ...stageRequestId,
        },
        signal,
        requestId,
      ),
    ),
  );
  // Categories come with the candidates (retrieval holds the catalogue); the ranker reads the
  // candidates' features from Redis itself, so nothing here reads them a second time.
  const categoryOf = new Map(candidates.candidates.map((c) => [c.itemId, c.category ?? null]));
  const withCategory = (itemId: string, score: number): Scored => ({ itemId, score, category: categoryOf.get(itemId) ?? null });

  if (ranked.ok) {
    versions.ranker = `ranker-gbdt@${ranked.value.modelVersion}`;
    arms.ranker = ranked.value.arm;
    addDownstream("ranker", ranked.value.timings);
  }
  if (!ranked.ok || ranked.value.rankedBy !== "model") {
    const reason = ranked.ok ? `ranker: ${ranked.value.degradedReason ?? "ranked by retrieval score"}` : ranked.message;
    return finish(
      candidates.candidates.map((c) => withCategory(c.itemId, c.score)),
      "retrieval-order",
      reason,
      clicked,
    );
  }
  const rank: RankResponse = ranked.value;
  featureNames = rank.featureNames ?? [];
  if (rank.userApplied) applied.rowsUserApplied = rank.userApplied;
  return finish(
    rank.items.map((i) => ({ ...withCategory(i.itemId, i.score), ...(i.features ? { features: i.features } : {}), ...(i.applied ? { applied: i.applied } : {}) })),
    null,
    null,
    clicked,
  );
}

/** No state in the store, or a user who has never clicked: nothing personal to retrieve from. */
function isColdStart(user: UserState | null, clicked: readonly string[]): boolean {
  return user === null || (user.clicks === 0 && user.recent.length === 0 && clicked.length === 0);
}

