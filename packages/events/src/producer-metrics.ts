import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";

export const DROP_REASONS = [
  /** publish() after close(). */
  "closed",
  /** Not an envelope of a known event type with a string key. */
  "invalid_event",
  /** Larger than `maxEventBytes` (the broker would refuse it). */
  "too_large",
  /** The in-memory queue was at its bound: the disk spill could not keep up with publish(). */
  "queue_full",
  /** The journal was at its size bound. */
  "journal_full",
  /** Writing the journal failed (disk error). */
  "journal_error",
  /** A journal line that could not be decoded on replay. */
  "journal_corrupt",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface ProducerGaugeSource {
  queueDepth(): number;
  queueBytes(): number;
  journalPending(): number;
  journalBytes(): number;
  kafkaUp(): boolean;
}

export interface ProducerMetrics {
  published: Counter;
  sent: Counter<"topic">;
  spilled: Counter;
  replayed: Counter;
  dropped: Counter<"reason">;
  sendDuration: Histogram;
}

const METRIC_PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `<prefix>_events_*`, registered in the service's registry. */
export function createProducerMetrics(registry: Registry, prefix: string, source: ProducerGaugeSource): ProducerMetrics {
  if (!METRIC_PREFIX.test(prefix)) throw new Error(`metricsPrefix "${prefix}" must match ${METRIC_PREFIX.source}`);
  const name = (suffix: string): string => `${prefix}_events_${suffix}`;
  const registers = [registry];
  const gauge = (suffix: string, help: string, read: () => number): void => {
    new Gauge({
      name: name(suffix),
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge("queue_depth", "Events waiting in the in-memory queue", source.queueDepth);
  gauge("queue_bytes", "Bytes of events waiting in the in-memory queue", source.queueBytes);
  gauge("journal_pending", "Events in the disk journal not yet acknowledged by Kafka", source.journalPending);
  gauge("journal_bytes", "Bytes of live journal segments on disk", source.journalBytes);
  gauge("kafka_up", "1 while the last send to Kafka succeeded", () => (source.kafkaUp() ? 1 : 0));
  const dropped = new Counter({
    name: name("dropped_total"),
    help: "Events given up on, by reason; every drop is also logged",
    labelNames: ["reason"] as const,
    registers,
  });
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  return {
    published: new Counter({ name: name("published_total"), help: "Events accepted by publish()", registers }),
    sent: new Counter({
      name: name("sent_total"),
      help: "Events acknowledged by Kafka (all in-sync replicas), directly or from the journal",
      labelNames: ["topic"] as const,
      registers,
    }),
    spilled: new Counter({ name: name("spilled_total"), help: "Events written to the disk journal", registers }),
    replayed: new Counter({
      name: name("replayed_total"),
      help: "Events acknowledged by Kafka after a stay in the journal",
      registers,
    }),
    dropped,
    sendDuration: new Histogram({
      name: name("send_duration_seconds"),
      help: "Time from handing a batch to Kafka to its acknowledgement (or failure)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}
