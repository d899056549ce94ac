import { Counter, Histogram, type Registry } from "prom-client";

/** The fraud service's own metrics, beside the ones every service has. */
export function createFraudMetrics(registry: Registry) {
  const registers = [registry];
  return {
    decisions: new Counter({
      name: "fraud_decisions_total",
      help: "Decisions by outcome and by what decided",
      labelNames: ["decision", "decided_by"] as const,
      registers,
    }),
    degraded: new Counter({
      name: "fraud_degraded_total",
      help: "Answers computed without the feature store, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    replays: new Counter({
      name: "fraud_replayed_total",
      help: "Transactions scored again under the same id with the same fields: the stored answer, no state changed",
      registers,
    }),
    answersNotSaved: new Counter({
      name: "fraud_answers_not_saved_total",
      help: "Answers that could not be stored for retries (a retry is then observed again)",
      registers,
    }),
    labels: new Counter({
      name: "fraud_labels_total",
      help: "Labels submitted, by outcome (accepted, or refused: unknown transaction, mismatch)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    scores: new Histogram({
      name: "fraud_score",
      help: "Model scores served (rule decisions carry no score)",
      buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registers,
    }),
  };
}
export type FraudMetrics = ReturnType<typeof createFraudMetrics>;
