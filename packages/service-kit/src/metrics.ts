import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * Latency buckets in seconds, dense below 25 ms where the budgets live (fraud p99 5 ms,
 * feature fetch 2 ms, recommendations 25 ms).
 */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05,
  0.075, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export interface ServiceMetrics {
  readonly service: string;
  readonly registry: Registry;
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  readonly stageDuration: Histogram<"stage">;
}

/** Metric names follow `<service>_<subsystem>_<name>_<unit>`; a service name may not hold dashes. */
export function metricPrefix(service: string): string {
  return service.replace(/[^a-zA-Z0-9_]/g, "_");
}

export function createMetrics(service: string, options: { defaultMetrics?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  const prefix = metricPrefix(service);
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: "HTTP request duration by route template and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: `${prefix}_stage_duration_seconds`,
    help: "Duration of each stage of the request path",
    labelNames: ["stage"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return { service, registry, httpDuration, stageDuration };
}
