import { ensureTopics, runConsumer } from "@mlsd/events";
import type { PartitionLag, RunningConsumer } from "@mlsd/events";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import { Closers, createMetrics, Readiness } from "@mlsd/service-kit";
import type { Logger, ServiceMetrics } from "@mlsd/service-kit";
import { Kafka, logLevel } from "kafkajs";
import type { EventLoggerConfig } from "./config";
import { createStoreSinkMetrics, StoreSink } from "./sink";

export interface EventLoggerDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  closers: Closers;
  writer: OfflineStoreWriter;
  /** Current consumer lag per partition; an empty list before the consumer runs. */
  lag(): Promise<PartitionLag[]>;
  /** Stops consuming (the batch in progress finishes and commits). */
  stopConsuming(): Promise<void>;
}

export type DepsConfig = Pick<
  EventLoggerConfig,
  "KAFKA_BROKERS" | "KAFKA_CLIENT_ID" | "CONSUMER_GROUP" | "TOPICS" | "OFFLINE_STORE_DIR" | "STORE_CACHED_PARTITIONS" | "STORE_MAX_PART_BYTES" | "ENSURE_TOPICS" | "LAG_INTERVAL_MS"
>;

export function createKafka(config: Pick<EventLoggerConfig, "KAFKA_BROKERS" | "KAFKA_CLIENT_ID">): Kafka {
  return new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}

/**
 * Opens the store (taking its writer lock), then joins the consumer group. Closers run in reverse:
 * the consumer stops (committing what the store fsynced) before the store closes.
 */
export async function createDeps(config: DepsConfig, logger: Logger, options: { metrics?: ServiceMetrics } = {}): Promise<EventLoggerDeps> {
  const metrics = options.metrics ?? createMetrics("event-logger");
  const readiness = new Readiness(["store", "consumer"]);
  const closers = new Closers();
  try {
    const writer = await OfflineStoreWriter.open({
      root: config.OFFLINE_STORE_DIR,
      maxCachedPartitions: config.STORE_CACHED_PARTITIONS,
      maxPartBytes: config.STORE_MAX_PART_BYTES,
    });
    closers.add("offline-store", () => writer.close());
    readiness.set("store", true);

    const kafka = createKafka(config);
    if (config.ENSURE_TOPICS) await ensureTopics(kafka, { topics: config.TOPICS });
    const sink = new StoreSink(writer, createStoreSinkMetrics(metrics.registry));
    const consumer: RunningConsumer = await runConsumer({
      kafka,
      groupId: config.CONSUMER_GROUP,
      topics: config.TOPICS,
      handleBatch: async (events) => {
        await sink.handleBatch(events);
      },
      registry: metrics.registry,
      metricsPrefix: "event_logger",
      logger,
      lagIntervalMs: config.LAG_INTERVAL_MS,
    });
    closers.add("consumer", () => consumer.stop());
    readiness.set("consumer", true);
    return {
      logger,
      metrics,
      readiness,
      closers,
      writer,
      lag: () => consumer.lag(),
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
