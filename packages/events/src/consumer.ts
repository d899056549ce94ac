import { DEAD_LETTER_TOPIC } from "@mlsd/contracts";
import type { DeadLetterRecord } from "@mlsd/contracts";
import { Partitioners } from "kafkajs";
import type { Admin, ConsumerConfig, EachBatchPayload, Kafka, Producer } from "kafkajs";
import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import { decodeMessages } from "./dead-letter";
import type { ConsumedEvent } from "./dead-letter";
import { errorMessage, silentEventLogger } from "./logger";
import type { EventLogger } from "./logger";

export interface RunConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /**
   * The sink. Offsets are committed only after it resolves; if it throws, the same batch is retried
   * (with backoff) until it succeeds, the partition is revoked or the consumer stops.
   */
  handleBatch(events: ConsumedEvent[]): Promise<void>;
  /** Where undecodable messages go (default `dlq.events.v1`). */
  deadLetter?: { topic?: string };
  registry?: Registry;
  /** Metric names become `<metricsPrefix>_consumer_*` (default "events"). */
  metricsPrefix?: string;
  logger?: EventLogger;
  /** Where a group with no committed offset starts (default: the oldest retained message). */
  fromBeginning?: boolean;
  retry?: { initialMs?: number; maxMs?: number };
  /** How often the lag gauge is refreshed from the broker (default 5 s). */
  lagIntervalMs?: number;
  consumerConfig?: Omit<Partial<ConsumerConfig>, "groupId">;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  highWatermark: number;
  committed: number;
  lag: number;
}

export interface RunningConsumer {
  /** Current lag per partition (high watermark - committed offset), read from the broker. */
  lag(): Promise<PartitionLag[]>;
  /** Lets the batch in progress finish (and commit), then leaves the group and disconnects. */
  stop(): Promise<void>;
}

export interface StartingConsumer extends RunningConsumer {
  /**
   * Resolves once the consumer has joined its group and is fetching; rejects if connecting or
   * joining fails or `stop()` is called first. A restarted member may wait here for the group
   * to drop its dead predecessor, which is why callers that serve requests do not await it.
   */
  joined: Promise<void>;
}

interface ConsumerMetrics {
  lag: Gauge<"group" | "topic" | "partition">;
  events: Counter<"group" | "topic">;
  deadLetters: Counter<"group" | "reason">;
  handlerErrors: Counter<"group">;
  batchDuration: Histogram<"group">;
}

function metricOf<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

function createConsumerMetrics(registry: Registry, prefix: string): ConsumerMetrics {
  const registers = [registry];
  const n = (suffix: string): string => `${prefix}_consumer_${suffix}`;
  return {
    lag: metricOf(registry, n("lag"), () => new Gauge({
      name: n("lag"),
      help: "High watermark minus committed offset, per partition",
      labelNames: ["group", "topic", "partition"] as const,
      registers,
    })),
    events: metricOf(registry, n("events_total"), () => new Counter({
      name: n("events_total"),
      help: "Valid events handed to the sink and committed",
      labelNames: ["group", "topic"] as const,
      registers,
    })),
    deadLetters: metricOf(registry, n("dead_letters_total"), () => new Counter({
      name: n("dead_letters_total"),
      help: "Messages sent to the dead-letter topic, by reason",
      labelNames: ["group", "reason"] as const,
      registers,
    })),
    handlerErrors: metricOf(registry, n("handler_errors_total"), () => new Counter({
      name: n("handler_errors_total"),
      help: "Failed attempts of the sink or the dead-letter send (each is retried)",
      labelNames: ["group"] as const,
      registers,
    })),
    batchDuration: metricOf(registry, n("batch_duration_seconds"), () => new Histogram({
      name: n("batch_duration_seconds"),
      help: "Time to decode, dead-letter, handle and commit one fetched batch",
      labelNames: ["group"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function readLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const result: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const group = committed.find((c) => c.topic === topic);
    for (const end of ends) {
      const high = Number(end.high);
      const raw = Number(group?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
      // Nothing committed yet: everything retained is still to be read.
      const position = raw >= 0 ? raw : Number(end.low);
      result.push({ topic, partition: end.partition, highWatermark: high, committed: raw, lag: Math.max(0, high - position) });
    }
  }
  return result;
}

/**
 * Consumes `topics` in consumer group `groupId` with at-least-once processing: each fetched batch is
 * decoded, undecodable messages go to the dead-letter topic (with reason and source position), the
 * valid events go to `handleBatch`, and only after both have succeeded is the batch's offset
 * committed (kafkajs autoCommit off). A crash or rebalance before the commit redelivers the batch.
 */
export async function runConsumer(options: RunConsumerOptions): Promise<RunningConsumer> {
  const consumer = startConsumer(options);
  try {
    await consumer.joined;
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    throw error;
  }
  return consumer;
}

/** Like `runConsumer`, but returns at once; `joined` says when the consumer is in its group. */
export function startConsumer(options: RunConsumerOptions): StartingConsumer {
  const { kafka, groupId, topics, handleBatch } = options;
  const logger = options.logger ?? silentEventLogger;
  const deadLetterTopic = options.deadLetter?.topic ?? DEAD_LETTER_TOPIC;
  const initialBackoff = options.retry?.initialMs ?? 200;
  const maxBackoff = options.retry?.maxMs ?? 10_000;
  const metrics = options.registry ? createConsumerMetrics(options.registry, options.metricsPrefix ?? "events") : null;

  const consumer = kafka.consumer({ ...options.consumerConfig, groupId });
  const admin = kafka.admin();
  const deadLetterProducer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 5 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  consumer.on(consumer.events.CRASH, (event) => {
    logger.error({ groupId, error: errorMessage(event.payload.error), restart: event.payload.restart }, "consumer crashed");
  });

  const withRetry = async (what: string, payload: EachBatchPayload, fn: () => Promise<void>): Promise<boolean> => {
    let backoff = initialBackoff;
    for (;;) {
      try {
        await fn();
        return true;
      } catch (error) {
        metrics?.handlerErrors.inc({ group: groupId });
        logger.error(
          { groupId, topic: payload.batch.topic, partition: payload.batch.partition, error: errorMessage(error), backoffMs: backoff },
          `consumer: ${what} failed, retrying the batch`,
        );
      }
      if (!payload.isRunning() || payload.isStale()) return false;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, maxBackoff);
      if (!payload.isRunning() || payload.isStale()) return false;
      try {
        await payload.heartbeat();
      } catch {
        // A rebalance is under way: give the batch back uncommitted.
        return false;
      }
    }
  };

  const sendDeadLetters = async (records: DeadLetterRecord[]): Promise<void> => {
    await deadLetterProducer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: records.map((record) => ({ key: record.source.key, value: JSON.stringify(record) })),
    });
  };

  let stopping: Promise<void> | null = null;
  const joined = (async () => {
    await Promise.all([consumer.connect(), admin.connect(), deadLetterProducer.connect()]);
    if (stopping) throw new Error("consumer stopped before it joined");
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.isEmpty()) return;
        const started = process.hrtime.bigint();
        const { events, deadLetters } = decodeMessages(
          { topic: batch.topic, partition: batch.partition },
          batch.messages,
          groupId,
        );
        if (deadLetters.length > 0) {
          for (const record of deadLetters) {
            logger.warn(
              { groupId, reason: record.reason, message: record.message, source: record.source },
              "consumer: invalid message sent to the dead-letter topic",
            );
          }
          if (!(await withRetry("dead-letter send", payload, () => sendDeadLetters(deadLetters)))) return;
          for (const record of deadLetters) metrics?.deadLetters.inc({ group: groupId, reason: record.reason });
        }
        if (events.length > 0 && !(await withRetry("handleBatch", payload, () => handleBatch(events)))) return;
        const last = batch.lastOffset();
        payload.resolveOffset(last);
        const next = (BigInt(last) + 1n).toString();
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
        });
        metrics?.events.inc({ group: groupId, topic: batch.topic }, events.length);
        metrics?.lag.set(
          { group: groupId, topic: batch.topic, partition: String(batch.partition) },
          Math.max(0, Number(batch.highWatermark) - Number(next)),
        );
        metrics?.batchDuration.observe({ group: groupId }, Number(process.hrtime.bigint() - started) / 1e9);
        await payload.heartbeat();
      },
    });
    if (stopping) throw new Error("consumer stopped before it joined");
  })();
  // Observed here so a failed join is never an unhandled rejection; callers see it through `joined`.
  joined.catch(() => undefined);

  const refreshLag = async (): Promise<PartitionLag[]> => {
    const lags = await readLag(admin, groupId, topics);
    for (const l of lags) metrics?.lag.set({ group: groupId, topic: l.topic, partition: String(l.partition) }, l.lag);
    return lags;
  };
  const lagTimer = setInterval(() => {
    refreshLag().catch((error: unknown) => logger.warn({ groupId, error: errorMessage(error) }, "consumer: lag refresh failed"));
  }, options.lagIntervalMs ?? 5_000);
  lagTimer.unref();

  return {
    joined,
    lag: refreshLag,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(lagTimer);
        await consumer.stop().catch(() => undefined);
        await consumer.disconnect().catch(() => undefined);
        await Promise.allSettled([admin.disconnect(), deadLetterProducer.disconnect()]);
      })();
      return stopping;
    },
  };
}
