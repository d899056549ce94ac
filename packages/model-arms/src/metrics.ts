import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ArmsMetrics {
  answers: Counter<"model" | "arm">;
  loadFailures: Counter<"model" | "arm" | "reason">;
  armInfo: Gauge<"model" | "arm" | "version" | "mode">;
  shadow: Counter<"model" | "outcome">;
  shadowSeconds: Histogram<"model">;
}

/** One set per service (`prefix` is the service's metric prefix); several models share it by label. */
export function createArmsMetrics(registry: Registry, prefix: string): ArmsMetrics {
  const existing = registry.getSingleMetric(`${prefix}_model_arm_answers_total`);
  if (existing) return armsMetricsOf.get(registry) as ArmsMetrics;
  const metrics: ArmsMetrics = {
    answers: new Counter({ name: `${prefix}_model_arm_answers_total`, help: "Answers by model and the arm that gave them (current, challenger)", labelNames: ["model", "arm"] as const, registers: [registry] }),
    loadFailures: new Counter({
      name: `${prefix}_model_load_failures_total`,
      help: "Model loads refused (a tampered or truncated artifact, another feature schema, a missing version); the last good model keeps serving",
      labelNames: ["model", "arm", "reason"] as const,
      registers: [registry],
    }),
    armInfo: new Gauge({ name: `${prefix}_model_arm_info`, help: "1 for each model version in service, by arm and mode (off, shadow, canary, ab)", labelNames: ["model", "arm", "version", "mode"] as const, registers: [registry] }),
    shadow: new Counter({
      name: `${prefix}_shadow_predictions_total`,
      help: "Shadow challenger predictions by outcome (scored, failed, dropped when too many were pending)",
      labelNames: ["model", "outcome"] as const,
      registers: [registry],
    }),
    shadowSeconds: new Histogram({
      name: `${prefix}_shadow_seconds`,
      help: "The shadow challenger's compute time per request, after the answer was sent",
      labelNames: ["model"] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
  };
  armsMetricsOf.set(registry, metrics);
  return metrics;
}

const armsMetricsOf = new WeakMap<Registry, ArmsMetrics>();
