import { randomUUID } from "node:crypto";
import { decodeMessages } from "@mlsd/events";
import type { EventLogger } from "@mlsd/events";
import type { OfflineStoreWriter } from "@mlsd/offline-store";
import type { Kafka } from "kafkajs";

export interface ReplayOptions {
  kafka: Kafka;
  writer: OfflineStoreWriter;
  topic: string;
  /** Kafka record timestamps (producer send time), [from, to). */
  fromMs: number;
  toMs: number;
  logger?: EventLogger;
  /** Gives up (and reports what it did) after this long. Default 10 minutes. */
  timeoutMs?: number;
}

export interface ReplayResult {
  topic: string;
  /** Offsets read per partition, [start, end). */
  partitions: { partition: number; start: string; end: string }[];
  messages: number;
  written: number;
  duplicates: number;
  /** Messages that are not valid events (they reached the dead-letter topic when first consumed). */
  invalid: number;
  complete: boolean;
}

export class ReplayError extends Error {
  override readonly name = "ReplayError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * Re-reads the messages a topic received in [from, to) (by Kafka timestamp; offsets located with
 * fetchTopicOffsetsByTimestamp) into the offline store. Idempotent: the store skips ids it holds,
 * so a replay over a range already logged writes nothing new. Uses a throwaway consumer group
 * whose offsets are set before it joins, and deletes the group afterwards.
 */
export async function replayRange(options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, writer, topic, fromMs, toMs } = options;
  if (!Number.isFinite(fromMs)) throw new ReplayError("from", "must be a date");
  if (!Number.isFinite(toMs) || toMs <= fromMs) throw new ReplayError("to", "must be a date after from");
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `event-logger-replay-${randomUUID()}`;
  const result: ReplayResult = { topic, partitions: [], messages: 0, written: 0, duplicates: 0, invalid: 0, complete: false };
  try {
    const starts = await admin.fetchTopicOffsetsByTimestamp(topic, fromMs);
    const ends = await admin.fetchTopicOffsetsByTimestamp(topic, toMs);
    const remaining = new Map<number, bigint>();
    for (const start of starts) {
      const end = ends.find((e) => e.partition === start.partition)?.offset ?? start.offset;
      result.partitions.push({ partition: start.partition, start: start.offset, end });
      if (BigInt(end) > BigInt(start.offset)) remaining.set(start.partition, BigInt(end));
    }
    if (remaining.size === 0) {
      result.complete = true;
      return result;
    }
    await admin.setOffsets({ groupId, topic, partitions: starts.map(({ partition, offset }) => ({ partition, offset })) });

    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, isRunning }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined || !isRunning()) return;
          const inRange = batch.messages.filter((m) => BigInt(m.offset) < end);
          const { events, deadLetters } = decodeMessages({ topic, partition: batch.partition }, inRange, groupId);
          const written = await writer.write(events);
          result.messages += inRange.length;
          result.written += written.written;
          result.duplicates += written.duplicates;
          result.invalid += deadLetters.length;
          const last = batch.messages.at(-1);
          if (last !== undefined && BigInt(last.offset) + 1n >= end) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) finish();
          }
        },
      });
      const timeout = options.timeoutMs ?? 600_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
      clearTimeout(timer);
      result.complete = remaining.size === 0;
      if (!result.complete) options.logger?.warn({ topic, pending: [...remaining.keys()] }, "replay: timed out before the end of the range");
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
    options.logger?.info({ ...result, partitions: result.partitions.length }, "replay: done");
    return result;
  } finally {
    await admin.disconnect();
  }
}
