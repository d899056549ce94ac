import type { RankRequest, RankResponse } from "@mlsd/contracts";
import { assembleRankerRows, rankerContext, type RecsFeatureStore, type RecsFetchResult } from "@mlsd/feature-store";
import { withDeadline, type CircuitBreaker, type StageTimer } from "@mlsd/service-kit";
import type { RankerModel } from "./model";

export type DegradedReason = "timeout" | "error" | "circuit-open";

export interface RankingDeps {
  store: RecsFeatureStore;
  /** Trips after repeated Redis failures so requests stop paying the feature deadline. */
  storeBreaker: CircuitBreaker;
  featureDeadlineMs: number;
  model: () => RankerModel;
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
  const model = deps.model();
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
  if (fetched) {
    const features = fetched;
    rows = timer.timeSync("assemble", () => assembleRankerRows(features.user, features.items, retrievalScores, context, deps.store.config));
    const assembled = rows;
    scores = timer.timeSync("model", () => model.score(assembled, n));
    for (const item of features.items) if (item === null) unknownItems++;
    if (unknownItems > 0) deps.onUnknownItems?.(unknownItems);
  }

  const top = timer.timeSync("sort", () => {
    const order = Array.from({ length: n }, (_, i) => i);
    // Ties go to the better retrieval score, then to the caller's order: the answer is deterministic.
    order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || (retrievalScores[b] as number) - (retrievalScores[a] as number) || a - b);
    return order.slice(0, Math.min(request.k, n));
  });

  const width = model.featureNames.length;
  const withFeatures = request.withFeatures === true && rows !== null;
  const rowOf = (i: number) => Array.from((rows as Float64Array).subarray(i * width, (i + 1) * width), (v) => (Number.isNaN(v) ? null : v));
  return {
    userId: request.userId,
    items: top.map((i) => ({ itemId: itemIds[i] as string, score: scores[i] as number, retrievalScore: retrievalScores[i] as number, ...(withFeatures ? { features: rowOf(i) } : {}) })),
    ...(withFeatures ? { featureNames: [...model.featureNames] } : {}),
    rankedBy: fetched ? "model" : "retrieval-score",
    modelVersion: model.version,
    degraded: degradedReason !== null,
    degradedReason,
    unknownItems,
    unknownUser: fetched ? fetched.user === null : false,
    timings: timer.snapshot(),
  };
}
