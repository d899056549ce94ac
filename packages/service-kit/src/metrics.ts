import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

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
  /** `<service>_model_info{model,version} 1` for each model in service; see `setModelVersion`. */
  readonly modelInfo: Gauge<"model" | "version">;
  /** Requests refused at admission (503) because the in-flight bound was reached. */
  readonly shed: Counter<"route">;
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
  const modelInfo = new Gauge({
    name: `${prefix}_model_info`,
    help: "The model version in service (value 1), one series per model",
    labelNames: ["model", "version"] as const,
    registers: [registry],
  });
  const shed = new Counter({
    name: `${prefix}_http_shed_total`,
    help: "Requests refused with 503 at admission because the in-flight bound was reached",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  return { service, registry, httpDuration, stageDuration, modelInfo, shed };
}

const servedVersions = new WeakMap<ServiceMetrics, Map<string, string>>();

/** Records which version of a model serves now, replacing the series of the version before. */
export function setModelVersion(metrics: ServiceMetrics, model: string, version: string): void {
  let versions = servedVersions.get(metrics);
  if (!versions) servedVersions.set(metrics, (versions = new Map()));
  const previous = versions.get(model);
  if (previous !== undefined) metrics.modelInfo.remove({ model, version: previous });
  versions.set(model, version);
  metrics.modelInfo.set({ model, version }, 1);
}
