import { BaseConfigSchema, eventJournalConfig, kafkaConfig, ensureTopicsConfig } from "@mlsd/service-kit";
import { DEFAULT_PSI_BANDS } from "@mlsd/drift";
import { z } from "zod";
import { MONITORED_STREAMS, type MonitoredStreamName } from "./streams";

const HOUR_MS = 3_600_000;

export const DriftMonitorConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8086),
  ...kafkaConfig,
  /** Which design's events to watch: each names its topics and the model it watches by default. */
  MONITOR: z.enum(Object.keys(MONITORED_STREAMS) as [MonitoredStreamName, ...MonitoredStreamName[]]).default("fraud"),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  /** Default: `drift-monitor-<MONITOR>`, so one monitor per design shares no offsets with another. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  /** The registry model whose drift reference is the baseline; default: the stream's model. */
  MODEL_NAME: z.string().min(1).optional(),
  MODEL_ALIAS: z.string().min(1).default("current"),
  /**
   * Where the baseline comes from: the training reference stored with the model (`registry`), or
   * the model's own first LIVE_REFERENCE_SIZE served predictions (`live`). Default: registry for
   * fraud, live for recs (the ranker trains on a logging policy's slates, not on what it serves).
   */
  REFERENCE: z.enum(["registry", "live"]).optional(),
  LIVE_REFERENCE_SIZE: z.coerce.number().int().min(100).default(2_000),
  /** Where the retrain-request producer keeps events while Kafka is unreachable. */
  ...eventJournalConfig("drift-monitor"),
  /** Last N decisions. */
  COUNT_WINDOW_SIZE: z.coerce.number().int().min(100).default(5_000),
  COUNT_EVALUATE_EVERY: z.coerce.number().int().positive().default(500),
  /** Last T seconds of decisions by event time. */
  TIME_WINDOW_SECONDS: z.coerce.number().positive().default(3_600),
  TIME_EVALUATE_EVERY: z.coerce.number().int().positive().default(500),
  /**
   * No window is evaluated on fewer events. A stream with seasons (hours of the day, weekdays, as
   * a simulated world's transactions have) needs windows spanning whole seasons: set the count
   * window to a week of events and this near it, or a part-filled window alarms on the season.
   */
  MIN_WINDOW_EVENTS: z.coerce.number().int().positive().default(100),
  /** Effect size (PSI) a feature needs to alert, on top of significance. */
  PSI_THRESHOLD: z.coerce.number().positive().default(DEFAULT_PSI_BANDS.moderate),
  /** Family-wise false-alarm rate per evaluation across features. */
  ALPHA: z.coerce.number().gt(0).lt(1).default(0.05),
  /** Consecutive evaluations before an alert starts / stops. */
  SUSTAIN: z.coerce.number().int().positive().default(3),
  CLEAR_AFTER: z.coerce.number().int().positive().default(3),
  /** Labels arriving later than this after the decision are not joined; unlabelled decisions count as legitimate then. */
  LABEL_HORIZON_MS: z.coerce.number().int().positive().default(7 * 24 * HOUR_MS),
  /** Delayed-label metrics are reported per bucket of decision time. */
  PERFORMANCE_BUCKET_MS: z.coerce.number().int().positive().default(24 * HOUR_MS),
  PERFORMANCE_MAX_BUCKETS: z.coerce.number().int().positive().default(30),
  /** Decisions kept for the label join; beyond it the oldest are dropped (counted). */
  PERFORMANCE_MAX_PENDING: z.coerce.number().int().positive().default(1_000_000),
  /**
   * Per-partition fetch size. Small fetches keep the partitions' event times in step while the
   * group catches up on a backlog; large ones let one partition run ahead by more than the time
   * window, and the time window then drops the other partitions' events as late.
   */
  CONSUMER_MAX_BYTES_PER_PARTITION: z.coerce.number().int().positive().default(256 * 1024),
  ALERT_WEBHOOK_URL: z.string().url().optional(),
  ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  ALERT_WEBHOOK_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  ...ensureTopicsConfig,
});
export type DriftMonitorConfig = z.infer<typeof DriftMonitorConfigSchema>;

/** The skew command's settings from the environment (its range comes from flags). */
export const SkewConfigSchema = z.object({
  OFFLINE_STORE_DIR: z.string().min(1).default(".data/offline-store"),
});
