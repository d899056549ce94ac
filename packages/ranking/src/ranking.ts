import type { RankRequest, RankResponse } from "@mlsd/contracts";
import { assembleRankerRows, parseAppliedOffsets, rankerContext, type RecsFeatureStore, type RecsFetchResult } from "@mlsd/feature-store";
import type { Routed, ShadowRunner } from "@mlsd/model-arms";
import { withDeadline, type CircuitBreaker, type StageTimer } from "@mlsd/service-kit";
import type { RankerModel } from "./model";

export type DegradedReason = "timeout" | "error" | "circuit-open";

export interface RankingDeps {
  store: RecsFeatureStore;
  /** Trips after repeated Redis failures so requests stop paying the feature deadline. */
  storeBreaker: CircuitBreaker;
  featureDeadlineMs: number;
  model: () => RankerModel;
  /** Which model ranks for a user (current, or a canary / A-B challenger) and the shadow to run; default: `model()` alone. */
  route?: (userId: string) => Routed<RankerModel>;
  shadow?: ShadowRunner | null;
  /** Wall clock for requests that do not say when they happen. */
  now?: () => number;
  onDegraded?: (reason: DegradedReason) => void;
  onUnknownItems?: (count: number) => void;
}

/**
 * Features (one pipelined Redis read under a deadline), then the model, then the top k. When the
 * store fails or is late, the candidates are ordered by the retrieval scores the request carries,
 * and the answer says so: a model fed nothing but defaults would order them worse than that.
 */
export async function rankCandidates(deps: RankingDeps, request: RankRequest, timer: StageTimer): Promise<RankResponse> {
  const routed = deps.route ? deps.route(request.userId) : { arm: "current" as const, model: deps.model(), shadow: null };
  const model = routed.model;
  const { candidates } = request;
  const n = candidates.length;
  const timeMs = request.context?.time ? Date.parse(request.context.time) : (deps.now ?? Date.now)();
  const context = rankerContext({ timeMs, hour: request.context?.hour, device: request.context?.device });
  const itemIds = candidates.map((c) => c.itemId);
  const retrievalScores = Float64Array.from(candidates, (c) => c.retrievalScore);

  let fetched: RecsFetchResult | null = null;
  let degradedReason: string | null = null;
  if (deps.storeBreaker.allow()) {
    const result = await timer.time("features", () => withDeadline(deps.featureDeadlineMs, () => deps.store.fetch(request.userId, itemIds)));
    if (result.ok) {
      deps.storeBreaker.success();
      fetched = result.value;
    } else {
      deps.storeBreaker.failure();
      deps.onDegraded?.(result.reason);
      degradedReason =
        result.reason === "timeout"
          ? `feature store did not answer within ${deps.featureDeadlineMs} ms; ranked by retrieval score`
          : `feature store unavailable (${(result.error as Error)?.message ?? String(result.error)}); ranked by retrieval score`;
    }
  } else {
    deps.onDegraded?.("circuit-open");
    degradedReason = "feature store circuit open after repeated failures; ranked by retrieval score";
  }

  let scores: Float64Array = retrievalScores;
  let unknownItems = 0;
  let rows: Float64Array | null = null;
  let modelMs = 0;
  if (fetched) {
    const features = fetched;
    rows = timer.timeSync("assemble", () => assembleRankerRows(features.user, features.items, retrievalScores, context, deps.store.config));
    const assembled = rows;
    const m0 = performance.now();
    scores = timer.timeSync("model", () => model.score(assembled, n));
    modelMs = performance.now() - m0;
    for (const item of features.items) if (item === null) unknownItems++;
    if (unknownItems > 0) deps.onUnknownItems?.(unknownItems);
  }

  const top = timer.timeSync("sort", () => {
    const order = Array.from({ length: n }, (_, i) => i);
    // Ties go to the better retrieval score, then to the caller's order: the answer is deterministic.
    order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || (retrievalScores[b] as number) - (retrievalScores[a] as number) || a - b);
    return order.slice(0, Math.min(request.k, n));
  });

  // The shadow ranks the same rows after the answer; the items it is judged on are the ones served.
  if (routed.shadow && deps.shadow && rows !== null && request.requestId) {
    const shadow = routed.shadow;
    const assembled = rows;
    const served = top.map((i) => ({ itemId: itemIds[i] as string, serving: scores[i] as number, index: i }));
    deps.shadow.schedule({
      requestId: request.requestId,
      entityId: request.userId,
      servingVersion: model.version,
      shadowVersion: shadow.version,
      servingMs: modelMs,
      predict: () => {
        const shadowScores = shadow.score(assembled, n);
        return { kind: "ranking", items: served.map((s) => ({ itemId: s.itemId, serving: s.serving, shadow: shadowScores[s.index] as number })) };
      },
    });
  }

  const width = model.featureNames.length;
  const withFeatures = request.withFeatures === true && rows !== null;
  const rowOf = (i: number) => Array.from((rows as Float64Array).subarray(i * width, (i + 1) * width), (v) => (Number.isNaN(v) ? null : v));
  return {
    userId: request.userId,
    // With the rows, what each state had applied of the event streams: the skew check replays exactly that.
    items: top.map((i) => ({
      itemId: itemIds[i] as string,
      score: scores[i] as number,
      retrievalScore: retrievalScores[i] as number,
      ...(withFeatures ? { features: rowOf(i), applied: parseAppliedOffsets(fetched?.items[i]?.applied) } : {}),
    })),
    ...(withFeatures ? { featureNames: [...model.featureNames], userApplied: parseAppliedOffsets(fetched?.user?.applied) } : {}),
    rankedBy: fetched ? "model" : "retrieval-score",
    modelVersion: model.version,
    arm: routed.arm,
    degraded: degradedReason !== null,
    degradedReason,
    unknownItems,
    unknownUser: fetched ? fetched.user === null : false,
    timings: timer.snapshot(),
  };
}
