import { TOPICS } from "@mlsd/contracts";
import type { RetrainRequestEvent } from "@mlsd/contracts";
import { ensureTopics, EventProducer, KafkaRecordSender, runConsumer } from "@mlsd/events";
import { Closers, createMetrics, Readiness } from "@mlsd/service-kit";
import type { Logger, ServiceMetrics } from "@mlsd/service-kit";
import { Kafka, logLevel } from "kafkajs";
import { WebhookAlertSink } from "./alerts";
import type { AlertSink } from "./alerts";
import type { DriftMonitorConfig } from "./config";
import { createDriftMonitorMetrics } from "./metrics";
import type { DriftMonitorMetrics } from "./metrics";
import { DriftMonitor } from "./monitor";
import type { LoadedReference } from "./monitor";
import { loadReference } from "./reference";

export const MONITORED_TOPICS = [TOPICS.fraudDecisions, TOPICS.fraudLabels];

export interface DriftMonitorDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  closers: Closers;
  monitor: DriftMonitor;
  /** Re-reads the alias from the registry and switches the reference if the version changed. */
  reloadReference(): Promise<{ reference: string; switched: boolean }>;
  stopConsuming(): Promise<void>;
}

export type DepsConfig = Omit<DriftMonitorConfig, "PORT" | "HOST" | "LOG_LEVEL" | "SHUTDOWN_TIMEOUT_MS" | "BODY_LIMIT_BYTES">;
export type MonitorConfig = Pick<
  DriftMonitorConfig,
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

/** The monitor as configured by the environment. */
export function createMonitor(config: MonitorConfig, deps: MonitorParts): DriftMonitor {
  return new DriftMonitor({
    model: config.MODEL_NAME,
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

/**
 * Loads the reference (the service is useless without one: start-up fails naming the problem),
 * starts the retrain-request producer, then joins the consumer group. Closers run in reverse:
 * consumer, then webhook flush, then producer flush.
 */
export async function createDeps(config: DepsConfig, logger: Logger, options: { metrics?: ServiceMetrics } = {}): Promise<DriftMonitorDeps> {
  const metrics = options.metrics ?? createMetrics("drift-monitor");
  const readiness = new Readiness(["reference", "consumer"]);
  const closers = new Closers();
  try {
    const reference = await loadReference(config.MODEL_REGISTRY_DIR, config.MODEL_NAME, config.MODEL_ALIAS);
    readiness.set("reference", true, reference.id);
    const kafka = new Kafka({
      clientId: config.KAFKA_CLIENT_ID,
      brokers: config.KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    if (config.ENSURE_TOPICS) await ensureTopics(kafka, { topics: [...MONITORED_TOPICS, TOPICS.mlRetrainRequests] });
    const producer = new EventProducer({
      sender: new KafkaRecordSender(kafka),
      journalDir: config.EVENT_JOURNAL_DIR,
      registry: metrics.registry,
      metricsPrefix: "drift_monitor",
      logger,
    });
    await producer.start();
    closers.add("retrain-producer", async () => {
      await producer.close();
    });
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
      closers.add("alert-webhook", () => sink.flush(5_000));
      alerts = sink;
    }
    const monitor = createMonitor(config, { logger, metrics: driftMetrics, reference, retrain: producer, alerts });
    const consumer = await runConsumer({
      kafka,
      groupId: config.CONSUMER_GROUP,
      topics: MONITORED_TOPICS,
      handleBatch: async (events) => {
        monitor.handle(events.map((c) => c.event));
      },
      registry: metrics.registry,
      metricsPrefix: "drift_monitor",
      logger,
      consumerConfig: { maxBytesPerPartition: config.CONSUMER_MAX_BYTES_PER_PARTITION },
    });
    closers.add("consumer", () => consumer.stop());
    readiness.set("consumer", true);
    return {
      logger,
      metrics,
      readiness,
      closers,
      monitor,
      reloadReference: async () => {
        const next = await loadReference(config.MODEL_REGISTRY_DIR, config.MODEL_NAME, config.MODEL_ALIAS);
        const switched = next.id !== monitor.referenceId;
        if (switched) monitor.setReference(next);
        readiness.set("reference", true, next.id);
        return { reference: next.id, switched };
      },
      stopConsuming: async () => {
        readiness.set("consumer", false, "stopped");
        await consumer.stop();
      },
    };
  } catch (error) {
    await closers.closeAll(logger);
    throw error;
  }
}
