import type { RetrainRequestEvent } from "@mlsd/contracts";
import { TOPICS } from "@mlsd/contracts";
import { loadDriftReference } from "@mlsd/model-formats/drift-reference";
import { ModelRegistry } from "@mlsd/model-registry";
import { httpDeps, type Logger, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startBackgroundConsumer, startEventPublisher } from "@mlsd/service-kit/kafka";
import { WebhookAlertSink, type AlertSink } from "./alerts";
import type { DriftMonitorAppDeps } from "./app";
import type { DriftMonitorConfig } from "./config";
import { createDriftMonitorMetrics, type DriftMonitorMetrics } from "./metrics";
import { LiveReferenceBuilder } from "./live-reference";
import { DriftMonitor, type DriftReport, type LoadedReference } from "./monitor";
import { MONITORED_STREAMS } from "./streams";

export type MonitorConfig = Pick<
  DriftMonitorConfig,
  | "MONITOR"
  | "MODEL_NAME"
  | "COUNT_WINDOW_SIZE"
  | "COUNT_EVALUATE_EVERY"
  | "TIME_WINDOW_SECONDS"
  | "TIME_EVALUATE_EVERY"
  | "PSI_THRESHOLD"
  | "ALPHA"
  | "SUSTAIN"
  | "CLEAR_AFTER"
  | "LABEL_HORIZON_MS"
  | "PERFORMANCE_BUCKET_MS"
  | "PERFORMANCE_MAX_BUCKETS"
  | "PERFORMANCE_MAX_PENDING"
>;

export interface MonitorParts {
  logger: Logger;
  metrics: DriftMonitorMetrics | null;
  reference: LoadedReference;
  retrain: { publish(event: RetrainRequestEvent): void } | null;
  alerts: AlertSink | null;
}

/** The model a monitor watches: MODEL_NAME, or the stream's own model. */
export function monitoredModel(config: Pick<DriftMonitorConfig, "MONITOR" | "MODEL_NAME">): string {
  return config.MODEL_NAME ?? MONITORED_STREAMS[config.MONITOR].defaultModel;
}

/** The monitor as configured by the environment. */
export function createMonitor(config: MonitorConfig, deps: MonitorParts): DriftMonitor {
  return new DriftMonitor({
    model: monitoredModel(config),
    stream: MONITORED_STREAMS[config.MONITOR],
    reference: deps.reference,
    countWindow: { size: config.COUNT_WINDOW_SIZE, evaluateEvery: config.COUNT_EVALUATE_EVERY },
    timeWindow: { seconds: config.TIME_WINDOW_SECONDS, evaluateEvery: config.TIME_EVALUATE_EVERY },
    detector: { psiThreshold: config.PSI_THRESHOLD, alpha: config.ALPHA, sustain: config.SUSTAIN, clearAfter: config.CLEAR_AFTER },
    performance: {
      horizonMs: config.LABEL_HORIZON_MS,
      bucketMs: config.PERFORMANCE_BUCKET_MS,
      maxBuckets: config.PERFORMANCE_MAX_BUCKETS,
      maxPending: config.PERFORMANCE_MAX_PENDING,
    },
    logger: deps.logger,
    metrics: deps.metrics,
    alerts: deps.alerts,
    retrain: deps.retrain,
  });
}

export interface DriftMonitorDeps extends DriftMonitorAppDeps {
  monitor: WatchedModel;
  stopConsuming(): Promise<void>;
}

/** The report while a live baseline is still being collected. */
export interface WarmingUpReport {
  model: string;
  reference: null;
  warmingUp: { collected: number; needed: number };
}

/**
 * The monitor of one model, or, while its live baseline is being collected, the builder: events go
 * to whichever is there, and the monitor takes over once the baseline is complete.
 */
export class WatchedModel {
  private monitor: DriftMonitor | null;
  private builder: LiveReferenceBuilder | null;

  constructor(
    private readonly make: (reference: LoadedReference) => DriftMonitor,
    private readonly stream: (typeof MONITORED_STREAMS)[keyof typeof MONITORED_STREAMS],
    private readonly model: string,
    initial: LoadedReference | LiveReferenceBuilder,
  ) {
    this.monitor = initial instanceof LiveReferenceBuilder ? null : make(initial);
    this.builder = initial instanceof LiveReferenceBuilder ? initial : null;
  }

  get referenceId(): string | null {
    return this.monitor?.referenceId ?? null;
  }

  get active(): DriftMonitor | null {
    return this.monitor;
  }

  handle(events: Parameters<DriftMonitor["handle"]>[0]): void {
    if (this.monitor) {
      this.monitor.handle(events);
      return;
    }
    const builder = this.builder as LiveReferenceBuilder;
    for (let i = 0; i < events.length; i++) {
      for (const o of this.stream.observe(events[i] as (typeof events)[number])) {
        if (o.kind !== "prediction") continue;
        const reference = builder.add(o.features, o.score);
        if (reference) {
          this.monitor = this.make(reference);
          this.builder = null;
          // The rest of the batch is the monitor's.
          this.monitor.handle(events.slice(i + 1));
          return;
        }
      }
    }
  }

  report(): DriftReport | WarmingUpReport {
    if (this.monitor) return this.monitor.report();
    const b = this.builder as LiveReferenceBuilder;
    return { model: this.model, reference: null, warmingUp: { collected: b.collected, needed: b.size } };
  }

  setReference(reference: LoadedReference): void {
    if (this.monitor) this.monitor.setReference(reference);
    else {
      this.monitor = this.make(reference);
      this.builder = null;
    }
  }
}

/**
 * Loads the reference (the service is useless without one: start-up fails naming the problem),
 * starts the retrain-request producer, then joins the consumer group in the background (required
 * for readiness: watching is this service's whole job). Closers run in reverse: consumer, then
 * webhook flush, then producer flush.
 */
export async function createDeps(ctx: ServiceContext<DriftMonitorConfig>): Promise<DriftMonitorDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const stream = MONITORED_STREAMS[config.MONITOR];
  const model = monitoredModel(config);
  const registry = new ModelRegistry(config.MODEL_REGISTRY_DIR);
  const source = config.REFERENCE ?? (stream.name === "recs" ? "live" : "registry");
  const initial = source === "live" ? new LiveReferenceBuilder(model, config.LIVE_REFERENCE_SIZE) : loadDriftReference(registry, model, config.MODEL_ALIAS);
  readiness.set("reference", true, initial instanceof LiveReferenceBuilder ? `live: from the first ${config.LIVE_REFERENCE_SIZE} predictions served` : initial.id);

  const kafka = createKafka(config.KAFKA_CLIENT_ID ?? `drift-monitor-${stream.name}`, config.KAFKA_BROKERS);
  const producer = await startEventPublisher(ctx, { kafka, journalDir: config.EVENT_JOURNAL_DIR, metricsPrefix: "drift_monitor", topics: [TOPICS.mlRetrainRequests] });
  const driftMetrics = createDriftMonitorMetrics(metrics.registry);
  let alerts: WebhookAlertSink | null = null;
  if (config.ALERT_WEBHOOK_URL) {
    const sink = new WebhookAlertSink({
      url: config.ALERT_WEBHOOK_URL,
      timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS,
      retries: config.ALERT_WEBHOOK_RETRIES,
      logger,
      onOutcome: (outcome) => driftMetrics.webhook.inc({ outcome }),
    });
    ctx.closers.add("alert-webhook", () => sink.flush(5_000));
    alerts = sink;
  }
  const monitor = new WatchedModel((reference) => createMonitor(config, { logger, metrics: driftMetrics, reference, retrain: producer, alerts }), stream, model, initial);
  const consumer = startBackgroundConsumer(ctx, {
    kafka,
    groupId: config.CONSUMER_GROUP ?? `drift-monitor-${stream.name}`,
    topics: [...stream.topics],
    handleBatch: async (events) => monitor.handle(events.map((c) => c.event)),
    metricsPrefix: "drift_monitor",
    consumerConfig: { maxBytesPerPartition: config.CONSUMER_MAX_BYTES_PER_PARTITION },
    ensureTopics: config.ENSURE_TOPICS,
    requiredForReadiness: true,
    check: "consumer",
  });
  logger.info({ monitor: stream.name, reference: monitor.referenceId ?? `live (${config.LIVE_REFERENCE_SIZE} predictions)`, webhook: config.ALERT_WEBHOOK_URL ?? null }, "watching served predictions for drift");
  return {
    ...httpDeps(ctx),
    monitor,
    reloadReference: async () => {
      const next = loadDriftReference(registry, model, config.MODEL_ALIAS);
      const switched = next.id !== monitor.referenceId;
      if (switched) monitor.setReference(next);
      readiness.set("reference", true, next.id);
      return { reference: next.id, switched };
    },
    stopConsuming: () => consumer.stop(),
  };
}
