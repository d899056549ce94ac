import type { CandidatesRequestInput, CandidatesResponse, RankRequestInput, RankResponse } from "@mlsd/contracts";
import { rankCandidates, type RankingDeps } from "@mlsd/ranking";
import { retrieveCandidates, type Retriever, type SearchMode } from "@mlsd/retrieval";
import { StageTimer } from "@mlsd/service-kit";
import type { RankerClient, RetrievalClient } from "./clients";

/**
 * The stage's own timer, as the service's would be: `validate` is recorded (0 ms: nothing crosses a
 * wire, so nothing is parsed or checked) so the answer's timings have the HTTP mode's keys.
 */
function stageTimer(): StageTimer {
  const timer = new StageTimer();
  timer.record("validate", 0);
  return timer;
}

/** Retrieval as a library: the retrieval service's code on the model this process loaded, no HTTP hop. */
export class InProcessRetrievalClient implements RetrievalClient {
  constructor(
    private readonly retriever: () => Retriever,
    private readonly search: SearchMode = "hnsw",
  ) {}

  async candidates(body: CandidatesRequestInput): Promise<CandidatesResponse> {
    // The recommender always sets k; the contract's default stands in when a caller does not.
    return retrieveCandidates(this.retriever(), { ...body, k: body.k ?? 200 }, this.search, stageTimer());
  }
}

/** The ranker as a library: the ranker service's code (features from Redis under its deadline, the GBDT), no HTTP hop. */
export class InProcessRankerClient implements RankerClient {
  constructor(private readonly deps: RankingDeps) {}

  rank(body: RankRequestInput): Promise<RankResponse> {
    return rankCandidates(this.deps, { ...body, k: body.k ?? 10 }, stageTimer());
  }
}
