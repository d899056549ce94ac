import type { ConsumedEvent } from "@mlsd/events";
import type { OfflineStoreWriter, WriteResult } from "@mlsd/offline-store";
import { Counter, Histogram } from "prom-client";
import type { Registry } from "prom-client";

export interface StoreSinkMetrics {
  written: Counter<"topic">;
  duplicates: Counter<"topic">;
  writeDuration: Histogram;
}

export function createStoreSinkMetrics(registry: Registry, prefix = "event_logger"): StoreSinkMetrics {
  return {
    written: new Counter({
      name: `${prefix}_store_events_written_total`,
      help: "Events appended (and fsynced) to the offline store",
      labelNames: ["topic"] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: `${prefix}_store_duplicates_skipped_total`,
      help: "Redelivered events whose id the store already held",
      labelNames: ["topic"] as const,
      registers: [registry],
    }),
    writeDuration: new Histogram({
      name: `${prefix}_store_write_duration_seconds`,
      help: "Time to append and fsync one consumed batch",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

/**
 * The consumer's sink: a batch is acknowledged (and its offsets committed by runConsumer) only
 * after the store has fsynced it, so a crash at any point redelivers, never loses.
 */
export class StoreSink {
  constructor(
    private readonly writer: OfflineStoreWriter,
    private readonly metrics: StoreSinkMetrics | null = null,
  ) {}

  async handleBatch(events: readonly ConsumedEvent[]): Promise<WriteResult> {
    const started = performance.now();
    const result = await this.writer.write(events);
    this.metrics?.writeDuration.observe((performance.now() - started) / 1000);
    for (const [topic, counts] of Object.entries(result.byTopic)) {
      if (counts.written > 0) this.metrics?.written.inc({ topic }, counts.written);
      if (counts.duplicates > 0) this.metrics?.duplicates.inc({ topic }, counts.duplicates);
    }
    return result;
  }
}
