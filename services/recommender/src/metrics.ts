import { Counter, type Registry } from "prom-client";

/** The recommender's own metrics, beside the ones every service has. */
export function createRecommenderMetrics(registry: Registry) {
  const registers = [registry];
  return {
    fallbacks: new Counter({ name: "recommender_fallbacks_total", help: "Answers served by a fallback, by kind", labelNames: ["kind"] as const, registers }),
    dependencyFailures: new Counter({
      name: "recommender_dependency_failures_total",
      help: "Dependency calls that failed, timed out or were skipped by an open breaker",
      labelNames: ["dependency", "reason"] as const,
      registers,
    }),
    clicks: new Counter({ name: "recommender_clicks_total", help: "Clicks reported, by outcome (accepted, or refused: unknown answer, item not served there)", labelNames: ["outcome"] as const, registers }),
    resultCache: new Counter({ name: "recommender_result_cache_total", help: "Result cache lookups by outcome (hit, miss, stale: expired and dropped)", labelNames: ["outcome"] as const, registers }),
    servedNotRecorded: new Counter({ name: "recommender_served_not_recorded_total", help: "Answers whose items could not be recorded for click checks", registers }),
    clickHistoryFailures: new Counter({ name: "recommender_click_history_failures_total", help: "Clicks published to Kafka whose Redis history update failed", registers }),
  };
}
