import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { TOPICS } from "@mlsd/contracts";
import type { AnyEvent } from "@mlsd/contracts";
import { startKafka } from "@mlsd/testkit";
import type { KafkaHandle } from "@mlsd/testkit";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConsumer } from "./consumer";
import type { ConsumedEvent } from "./dead-letter";
import { EventProducer } from "./producer";
import { EVENTS_CLIENTS } from "./client-names";
import type { EventsClient } from "./client-names";
import { PlatformaticRecordSender } from "./platformatic-sender";
import { KafkaRecordSender } from "./sender";
import type { RecordSender } from "./sender";
import { transactionEvents, waitUntil } from "./testing";
import { ensureTopics } from "./topics-admin";

let handle: KafkaHandle;
let kafka: Kafka;

beforeAll(async () => {
  handle = await startKafka({ dedicated: true });
  kafka = new Kafka({
    clientId: "events-outage",
    brokers: handle.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  await ensureTopics(kafka, { topics: [TOPICS.fraudTransactions], partitions: 3 });
});
afterAll(() => handle.stop());

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

// Short timeouts for both clients, as for the kafkajs client above: a dead broker is noticed fast.
const SENDERS: Record<EventsClient, () => RecordSender> = {
  kafkajs: () => new KafkaRecordSender(kafka),
  platformatic: () =>
    new PlatformaticRecordSender({ brokers: handle.brokers, clientId: "events-outage", connectTimeoutMs: 1_000, requestTimeoutMs: 5_000, ackTimeoutMs: 5_000 }),
};

describe.each(EVENTS_CLIENTS)("EventProducer on %s across a Kafka outage", (client) => {
  it("spills while the broker is down, replays when it returns, and the consumer group gets every event", async () => {
    const dir = await mkdtemp(join(tmpdir(), "events-outage-"));
    const seen: ConsumedEvent[] = [];
    const consumer = await runConsumer({
      kafka,
      groupId: `outage-${client}`,
      topics: [TOPICS.fraudTransactions],
      handleBatch: async (events) => {
        seen.push(...events);
      },
    });
    const producer = new EventProducer({
      sender: SENDERS[client](),
      journalDir: dir,
      registry: new Registry(),
      metricsPrefix: "outage",
      backoff: { initialMs: 100, maxMs: 1_000 },
      journal: { fsyncIntervalMs: 50 },
    });
    await producer.start();

    const published: AnyEvent[] = [];
    const publishMicros: number[] = [];
    let next = 0;
    const publishSome = (count: number): void => {
      for (const event of transactionEvents(count, 40, next)) {
        const started = performance.now();
        producer.publish(event);
        publishMicros.push((performance.now() - started) * 1_000);
        published.push(event);
      }
      next += count;
    };
    const publishPaced = async (count: number, gapMs = 10): Promise<void> => {
      for (let sent = 0; sent < count; sent += 100) {
        publishSome(100);
        await pause(gapMs);
      }
    };

    try {
      await publishPaced(2_000);
      await waitUntil(() => producer.stats().sent === 2_000, 30_000, "the first events to be acknowledged");

      await handle.stop();
      await publishPaced(3_000);
      await waitUntil(() => !producer.stats().kafkaUp && producer.stats().journalPending > 0, 30_000, "the spill");
      const duringOutage = producer.stats();
      expect(duringOutage.spilled).toBeGreaterThan(0);

      // Keep publishing while the broker restarts.
      const restarting = handle.start();
      let settled = false;
      const done = (): void => {
        settled = true;
      };
      restarting.then(done, done);
      const deadline = Date.now() + 120_000;
      while (!settled && Date.now() < deadline) await publishPaced(100, 40);
      await restarting;
      await publishPaced(1_000);

      expect((await producer.flush(60_000)).delivered).toBe(true);
      const stats = producer.stats();
      expect(stats.published).toBe(published.length);
      expect(stats.sent).toBe(published.length);
      expect(stats.replayed).toBeGreaterThan(0);
      expect(Object.values(stats.dropped).every((n) => n === 0)).toBe(true);

      const ids = new Set(published.map((e) => e.eventId));
      // The topic is shared with the other client's run on this broker: count only this run's events.
      const mine = (): ConsumedEvent[] => seen.filter((c) => ids.has(c.event.eventId));
      await waitUntil(() => new Set(mine().map((c) => c.event.eventId)).size >= ids.size, 120_000, "every event at the consumer");
      const consumed = mine();
      const consumedIds = consumed.map((c) => c.event.eventId);
      expect(new Set(consumedIds)).toEqual(ids);

      // First deliveries of each key arrive in publish order (duplicates, if any, come later).
      const order = new Map(published.map((e, i) => [e.eventId, i]));
      const firstSeen = new Set<string>();
      const lastByKey = new Map<string, number>();
      for (const c of consumed) {
        if (firstSeen.has(c.event.eventId)) continue;
        firstSeen.add(c.event.eventId);
        const index = order.get(c.event.eventId)!;
        expect(index).toBeGreaterThan(lastByKey.get(c.event.key) ?? -1);
        lastByKey.set(c.event.key, index);
      }

      // A duplicate at the same offset is a consumer redelivery; at another offset, a second copy in the log.
      const copies = new Map<string, Set<string>>();
      for (const c of consumed) copies.set(c.event.eventId, (copies.get(c.event.eventId) ?? new Set()).add(`${c.partition}/${c.offset}`));
      const inLog = [...copies.values()].reduce((sum, offsets) => sum + offsets.size - 1, 0);
      const sorted = [...publishMicros].sort((a, b) => a - b);
      console.log(
        `outage (${client}): published ${published.length}, spilled ${stats.spilled}, replayed ${stats.replayed}, ` +
          `consumed ${consumedIds.length} (duplicates ${consumedIds.length - ids.size}, of which second copies in the log ${inLog}); publish() p50 ` +
          `${quantile(sorted, 0.5).toFixed(1)} us, p99 ${quantile(sorted, 0.99).toFixed(1)} us, max ${sorted.at(-1)?.toFixed(1)} us`,
      );
    } finally {
      await producer.close(10_000);
      await consumer.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
