import { RECS_DEVICES, type Arm, type CandidatesRequest, type CandidatesResponse } from "@mlsd/contracts";
import type { StageTimer } from "@mlsd/service-kit";
import type { CandidateQuery, Candidates, Retriever, SearchMode } from "./retriever";

/** The retriever's query for a `POST /v1/candidates` body. */
export function candidateQuery(request: Pick<CandidatesRequest, "userId" | "k" | "history" | "features" | "context" | "excludeItemIds">): CandidateQuery {
  return {
    userId: request.userId,
    k: request.k,
    ...(request.history ? { history: request.history } : {}),
    ...(request.features ? { features: request.features } : {}),
    device: request.context?.device ? RECS_DEVICES.indexOf(request.context.device) : null,
    ...(request.excludeItemIds ? { exclude: request.excludeItemIds } : {}),
  };
}

/** A search's result as the retrieval stage answers it, over HTTP or in-process: same fields, same timings keys. */
export function candidatesAnswer(userId: string, retriever: Retriever, arm: Arm, found: Candidates, timer: StageTimer): CandidatesResponse {
  return {
    userId,
    candidates: found.itemIds.map((itemId, j) => ({ itemId, score: found.scores[j] as number, category: found.categories[j] ?? null })),
    modelVersion: retriever.version,
    arm,
    source: found.source,
    degraded: found.degradedReason !== null,
    degradedReason: found.degradedReason,
    userKnown: found.userKnown,
    historyUsed: found.historyUsed,
    ignoredFeatures: found.ignoredFeatures,
    timings: timer.snapshot(),
  };
}

/** The retrieval stage for one request: encode, search, answer. Throws FeatureValueError on a feature the model cannot take. */
export function retrieveCandidates(retriever: Retriever, request: CandidatesRequest, mode: SearchMode, timer: StageTimer, arm: Arm = "current"): CandidatesResponse {
  return candidatesAnswer(request.userId, retriever, arm, retriever.candidates(candidateQuery(request), mode, timer), timer);
}
