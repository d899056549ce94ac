import { Counter, type Registry } from "prom-client";

/** Counters beside the stage histograms: why answers were degraded, and how many candidates were unknown. */
export function createRankerMetrics(registry: Registry) {
  return {
    degraded: new Counter({
      name: "ranker_degraded_total",
      help: "Rank answers ordered by retrieval score because the feature store failed, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    unknownItems: new Counter({
      name: "ranker_unknown_items_total",
      help: "Candidates the feature store knew nothing about (ranked with default features)",
      registers: [registry],
    }),
  };
}
