import type { Budgets } from "@mlsd/budgets";
import type { KnownService } from "./config";

/** One box of a pipeline: a stage a service times in `<service>_stage_duration_seconds{stage}`. */
export interface StageSpec {
  id: string;
  label: string;
  service: KnownService;
  /** The `stage` label values summed into this box (a box may merge small stages). */
  stages: readonly string[];
  /** The p99 budget of this stage in ms, from the budgets file; null when none is set. */
  budgetP99Ms: number | null;
  /** Stages of a downstream service this box waits on (retrieval's encode and ANN inside the recommender's retrieval call). */
  inner?: readonly StageSpec[];
}

export interface PipelineSpec {
  design: "recs" | "fraud";
  title: string;
  /** The service answering the client, and the route timed end to end. */
  service: KnownService;
  route: string;
  /** The budgets file's endpoint name. */
  endpoint: "recommendations" | "fraud";
  rateTarget: number | null;
  budget: { p50: number | null; p99: number | null; maxErrorRate: number | null; maxFallbackRate: number | null };
  stages: readonly StageSpec[];
}

/**
 * The two designs as their request paths. Stage names are the `timings` keys each service puts in
 * its answers and the `stage` labels of its stage histogram; a budget applies where the budgets
 * file names the stage (the feature-store reads: fraud `features`, the recommender's `user`).
 */
export function pipelines(budgets: Budgets): PipelineSpec[] {
  const stageBudget = (endpoint: string, stage: string): number | null => budgets.endpoints[endpoint]?.stages?.[stage]?.p99 ?? null;
  const endpointBudget = (endpoint: "recommendations" | "fraud") => {
    const b = budgets.endpoints[endpoint];
    return { p50: b?.latency.p50 ?? null, p99: b?.latency.p99 ?? null, maxErrorRate: b?.maxErrorRate ?? null, maxFallbackRate: b?.maxFallbackRate ?? null };
  };
  return [
    {
      design: "recs",
      title: "Recommendations: retrieval -> ranker",
      service: "recommender",
      route: "/v1/recommendations",
      endpoint: "recommendations",
      rateTarget: budgets.endpoints.recommendations?.rate ?? null,
      budget: endpointBudget("recommendations"),
      stages: [
        { id: "recs-validate", label: "validate", service: "recommender", stages: ["validate"], budgetP99Ms: null },
        { id: "recs-user", label: "user features + history (Redis)", service: "recommender", stages: ["user"], budgetP99Ms: stageBudget("recommendations", "user") },
        {
          id: "recs-retrieval",
          label: "retrieval (two-tower + HNSW)",
          service: "recommender",
          stages: ["retrieval"],
          budgetP99Ms: null,
          inner: [
            { id: "retrieval-encode", label: "user tower", service: "retrieval", stages: ["encode"], budgetP99Ms: null },
            { id: "retrieval-ann", label: "ANN search", service: "retrieval", stages: ["ann", "exact"], budgetP99Ms: null },
          ],
        },
        {
          id: "recs-rank",
          label: "ranker (GBDT)",
          service: "recommender",
          stages: ["rank"],
          budgetP99Ms: null,
          inner: [
            { id: "ranker-features", label: "item features (Redis)", service: "ranker", stages: ["features"], budgetP99Ms: stageBudget("recommendations", "ranker.features") },
            { id: "ranker-assemble", label: "assemble", service: "ranker", stages: ["assemble"], budgetP99Ms: null },
            { id: "ranker-model", label: "model", service: "ranker", stages: ["model"], budgetP99Ms: null },
            { id: "ranker-sort", label: "sort", service: "ranker", stages: ["sort"], budgetP99Ms: null },
          ],
        },
        { id: "recs-filter", label: "filter + diversify", service: "recommender", stages: ["filter", "diversify"], budgetP99Ms: null },
        { id: "recs-publish", label: "publish impression", service: "recommender", stages: ["publish"], budgetP99Ms: null },
        { id: "recs-fallback", label: "fallback: popularity", service: "recommender", stages: ["popularity"], budgetP99Ms: null },
      ],
    },
    {
      design: "fraud",
      title: "Fraud: rules -> features -> model -> decision",
      service: "fraud",
      route: "/v1/transactions/score",
      endpoint: "fraud",
      rateTarget: budgets.endpoints.fraud?.rate ?? null,
      budget: endpointBudget("fraud"),
      stages: [
        { id: "fraud-validate", label: "validate", service: "fraud", stages: ["validate"], budgetP99Ms: null },
        { id: "fraud-rules", label: "rules", service: "fraud", stages: ["rules"], budgetP99Ms: null },
        { id: "fraud-features", label: "features + velocity (Redis)", service: "fraud", stages: ["features"], budgetP99Ms: stageBudget("fraud", "features") },
        { id: "fraud-model", label: "model (GBDT) + reason codes", service: "fraud", stages: ["model"], budgetP99Ms: null },
        { id: "fraud-decision", label: "decision + publish", service: "fraud", stages: ["publish"], budgetP99Ms: null },
      ],
    },
  ];
}
