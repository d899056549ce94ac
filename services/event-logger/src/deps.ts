import type { PartitionLag } from "@mlsd/events";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import { httpDeps, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startBackgroundConsumer } from "@mlsd/service-kit/kafka";
import type { EventLoggerAppDeps } from "./app";
import type { EventLoggerConfig } from "./config";
import { createStoreSinkMetrics, StoreSink } from "./sink";

export interface EventLoggerDeps extends EventLoggerAppDeps {
  writer: OfflineStoreWriter;
  /** Stops consuming (the batch in progress finishes, is fsynced and committed). */
  stopConsuming(): Promise<void>;
}

/**
 * Opens the store (taking its writer lock), then joins the consumer group in the background:
 * consuming is this service's whole job, so it is unready until it has joined, but it answers
 * /readyz and /v1/stats meanwhile. Closers run in reverse: the consumer stops (committing what
 * the store fsynced) before the store closes.
 */
export async function createDeps(ctx: ServiceContext<EventLoggerConfig>): Promise<EventLoggerDeps> {
  const { config, logger, metrics, readiness } = ctx;
  const writer = await OfflineStoreWriter.open({
    root: config.OFFLINE_STORE_DIR,
    maxCachedPartitions: config.STORE_CACHED_PARTITIONS,
    maxPartBytes: config.STORE_MAX_PART_BYTES,
  });
  ctx.closers.add("offline-store", () => writer.close());
  readiness.set("store", true);

  const sink = new StoreSink(writer, createStoreSinkMetrics(metrics.registry));
  const consumer = startBackgroundConsumer(ctx, {
    kafka: createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS),
    groupId: config.CONSUMER_GROUP,
    topics: config.TOPICS,
    handleBatch: async (events) => {
      await sink.handleBatch(events);
    },
    metricsPrefix: "event_logger",
    lagIntervalMs: config.LAG_INTERVAL_MS,
    ensureTopics: config.ENSURE_TOPICS,
    requiredForReadiness: true,
    check: "consumer",
  });
  logger.info({ topics: config.TOPICS, group: config.CONSUMER_GROUP, store: config.OFFLINE_STORE_DIR }, "logging events to the offline store");
  return {
    ...httpDeps(ctx),
    writer,
    lag: (): Promise<PartitionLag[]> => consumer.lag(),
    stopConsuming: () => consumer.stop(),
  };
}
