import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEAD_LETTER_TOPIC, DeadLetterRecordSchema, EXAMPLE_PAYLOADS, TOPICS, makeEvent } from "@mlsd/contracts";
import type { AnyEvent, DeadLetterRecord, EventEnvelope } from "@mlsd/contracts";
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
import { describeRecordSenderContract } from "./sender.contract";
import type { StoredRecord } from "./sender.contract";
import { transactionEvents, waitUntil } from "./testing";
import { ensureTopics } from "./topics-admin";

let handle: KafkaHandle;
let kafka: Kafka;
const run = `${process.pid}-${Date.now()}`;

beforeAll(async () => {
  handle = await startKafka();
  kafka = new Kafka({ clientId: "events-int", brokers: handle.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, { partitions: 3 });
});
afterAll(() => handle.stop());

function clickEvents(count: number, users: number): EventEnvelope<"recs.click">[] {
  return Array.from({ length: count }, (_, i) =>
    makeEvent(
      "recs.click",
      { ...EXAMPLE_PAYLOADS["recs.click"], requestId: `req-${i}`, userId: `u-${i % users}`, position: i % 10 },
      { producer: "int-test" },
    ),
  );
}

/** Collects what a consumer group hands its sink, keyed by event id. */
function collector() {
  const seen: ConsumedEvent[] = [];
  return {
    seen,
    handleBatch: async (events: ConsumedEvent[]): Promise<void> => {
      seen.push(...events);
    },
    of: (ids: Set<string>): ConsumedEvent[] => seen.filter((c) => ids.has(c.event.eventId)),
  };
}

/** Reads every record of `topic` from the beginning, with its partition, until `count` are there. */
async function readTopic(topic: string, count: number): Promise<StoredRecord[]> {
  const consumer = kafka.consumer({ groupId: `read-${topic}` });
  const stored: StoredRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      stored.push({ topic, partition, key: message.key?.toString() ?? "", value: message.value ?? Buffer.alloc(0) });
    },
  });
  await waitUntil(() => stored.length >= count, 60_000, `${count} records on ${topic}`);
  await consumer.disconnect();
  return stored;
}

const SENDERS: Record<EventsClient, () => RecordSender> = {
  kafkajs: () => new KafkaRecordSender(kafka),
  platformatic: () => new PlatformaticRecordSender({ brokers: handle.brokers, clientId: "events-int" }),
};

let harnesses = 0;
for (const client of EVENTS_CLIENTS) {
  describeRecordSenderContract(`Kafka via ${client}`, async () => {
    const n = ++harnesses;
    const topics: [string, string] = [`test.contract-a-${run}-${n}.v1`, `test.contract-b-${run}-${n}.v1`];
    await ensureTopics(kafka, { topics, partitions: 3 });
    const sender = SENDERS[client]();
    return { sender, topics, readBack: readTopic, close: () => sender.disconnect() };
  });
}

describe("RecordSenders on one topic", () => {
  it("put each key on the same partition whichever client sent it (the Java client's murmur2)", async () => {
    const topic = `test.partitions-${run}.v1`;
    await ensureTopics(kafka, { topics: [topic], partitions: 6 });
    const keys = Array.from({ length: 40 }, (_, i) => `c-${i * 7919}`);
    for (const client of EVENTS_CLIENTS) {
      const sender = SENDERS[client]();
      await sender.send(keys.map((key) => ({ topic, key, value: Buffer.from(JSON.stringify({ client })) })));
      await sender.disconnect();
    }
    const stored = await readTopic(topic, keys.length * EVENTS_CLIENTS.length);
    const partitionsOf = new Map<string, Set<number>>();
    for (const r of stored) partitionsOf.set(r.key, (partitionsOf.get(r.key) ?? new Set()).add(r.partition));
    expect([...partitionsOf.values()].every((p) => p.size === 1)).toBe(true);
    // The keys spread over the partitions, so agreeing is not the trivial all-on-one-partition case.
    expect(new Set(stored.map((r) => r.partition)).size).toBeGreaterThan(3);
  });
});

describe("EventProducer to runConsumer through Kafka", () => {
  it.each(EVENTS_CLIENTS)("on %s: delivers every event exactly once per id, each key in publish order", async (client) => {
    const dir = await mkdtemp(join(tmpdir(), "events-int-"));
    const registry = new Registry();
    const producer = new EventProducer({
      sender: SENDERS[client](),
      journalDir: dir,
      registry,
      metricsPrefix: "int",
    });
    await producer.start();
    const transactions = transactionEvents(3_000, 50);
    const clicks = clickEvents(1_000, 20);
    const published: AnyEvent[] = [];
    for (let i = 0; i < transactions.length; i++) {
      published.push(transactions[i]!);
      producer.publish(transactions[i]!);
      if (i % 3 === 0 && clicks[i / 3] !== undefined) {
        published.push(clicks[i / 3]!);
        producer.publish(clicks[i / 3]!);
      }
    }
    expect(await producer.close(30_000)).toEqual({ delivered: true, inJournal: 0, inMemory: 0 });
    expect(producer.stats()).toMatchObject({ sent: 4_000, spilled: 0, dropped: { queue_full: 0 } });

    const ids = new Set(published.map((e) => e.eventId));
    const sink = collector();
    const consumerRegistry = new Registry();
    const consumer = await runConsumer({
      kafka,
      groupId: `e2e-${client}-${run}`,
      topics: [TOPICS.fraudTransactions, TOPICS.recsClicks],
      handleBatch: sink.handleBatch,
      registry: consumerRegistry,
      metricsPrefix: "int",
    });
    try {
      await waitUntil(() => sink.of(ids).length >= ids.size, 90_000, "every published event");
      const mine = sink.of(ids);
      expect(mine).toHaveLength(ids.size);
      expect(new Set(mine.map((c) => c.event.eventId)).size).toBe(ids.size);
      // Per key, the consumer sees publish order.
      const publishedOrder = new Map(published.map((e, i) => [e.eventId, i]));
      const lastByKey = new Map<string, number>();
      for (const consumed of mine) {
        const index = publishedOrder.get(consumed.event.eventId)!;
        const key = `${consumed.topic}/${consumed.event.key}`;
        expect(index).toBeGreaterThan(lastByKey.get(key) ?? -1);
        lastByKey.set(key, index);
      }
      expect(mine.find((c) => c.event.type === "fraud.transaction")?.topic).toBe("fraud.transactions.v1");
      await waitUntil(async () => (await consumer.lag()).every((l) => l.lag === 0), 30_000, "lag 0");
      const lag = await consumer.lag();
      // One lag entry per partition of both topics. How many partitions they have depends on who
      // created them first on a shared broker (auto-create: 3, ensureTopics: 6), so ask the broker.
      const admin = kafka.admin();
      await admin.connect();
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [TOPICS.fraudTransactions, TOPICS.recsClicks] });
      await admin.disconnect();
      const expected = metadata.flatMap((t) => t.partitions.map((p) => `${t.name}/${p.partitionId}`)).sort();
      expect(expected.length).toBeGreaterThanOrEqual(6);
      expect(lag.map((l) => `${l.topic}/${l.partition}`).sort()).toEqual(expected);
      const gauge = await consumerRegistry.getSingleMetric("int_consumer_lag")?.get();
      expect(gauge?.values.length).toBe(expected.length);
      expect(gauge?.values.every((v) => v.value === 0)).toBe(true);
    } finally {
      await consumer.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("sends malformed messages to the dead-letter topic with the reason and keeps consuming", async () => {
    const topic = `test.dlq-source-${run}.v1`;
    await ensureTopics(kafka, { topics: [topic], partitions: 1 });
    const raw = kafka.producer();
    await raw.connect();
    const before = makeEvent("recs.click", { ...EXAMPLE_PAYLOADS["recs.click"], requestId: "before" }, { producer: "int" });
    const after = makeEvent("recs.click", { ...EXAMPLE_PAYLOADS["recs.click"], requestId: "after" }, { producer: "int" });
    const badPayload = { ...before, eventId: "0b0a8f1e-34a6-4c55-9b5e-1d2c3e4f5a6b", payload: { ...before.payload, userId: "" } };
    await raw.send({
      topic,
      messages: [
        { key: "u-42", value: JSON.stringify(before) },
        { key: "u-42", value: "{not json" },
        { key: "u-42", value: JSON.stringify(badPayload) },
        { key: "u-42", value: JSON.stringify(after) },
      ],
    });
    await raw.disconnect();

    const sink = collector();
    const registry = new Registry();
    const groupId = `dlq-${run}`;
    const consumer = await runConsumer({ kafka, groupId, topics: [topic], handleBatch: sink.handleBatch, registry, metricsPrefix: "int" });
    const dead: DeadLetterRecord[] = [];
    const dlqReader = kafka.consumer({ groupId: `dlq-reader-${run}` });
    await dlqReader.connect();
    await dlqReader.subscribe({ topic: DEAD_LETTER_TOPIC, fromBeginning: true });
    await dlqReader.run({
      eachMessage: async ({ message }) => {
        const record = DeadLetterRecordSchema.parse(JSON.parse(message.value?.toString() ?? ""));
        if (record.source.topic === topic) dead.push(record);
      },
    });
    try {
      await waitUntil(() => sink.seen.length >= 2 && dead.length >= 2, 60_000, "events and dead letters");
      expect(sink.seen.map((c) => c.event.eventId)).toEqual([before.eventId, after.eventId]);
      expect(dead.map((d) => [d.reason, d.source.offset])).toEqual([
        ["invalid_json", "1"],
        ["invalid_payload", "2"],
      ]);
      expect(dead[0]).toMatchObject({
        originalValue: "{not json",
        consumerGroup: groupId,
        source: { topic, partition: 0, key: "u-42" },
      });
      expect(dead[1]?.issues.map((i) => i.path)).toEqual(["payload.userId"]);
      expect(JSON.parse(dead[1]!.originalValue!)).toEqual(badPayload);
      const counted = await registry.getSingleMetric("int_consumer_dead_letters_total")?.get();
      expect(counted?.values.map((v) => [v.labels.reason, v.value]).sort()).toEqual([
        ["invalid_json", 1],
        ["invalid_payload", 1],
      ]);
      await waitUntil(async () => (await consumer.lag()).every((l) => l.lag === 0), 30_000, "lag 0");
    } finally {
      await dlqReader.disconnect();
      await consumer.stop();
    }
  });

  it("commits only after the sink succeeds: a failing sink's events are redelivered to the group", async () => {
    const topic = `test.redeliver-${run}.v1`;
    await ensureTopics(kafka, { topics: [topic], partitions: 2 });
    const raw = kafka.producer();
    await raw.connect();
    const events = clickEvents(40, 8);
    await raw.send({ topic, messages: events.map((e) => ({ key: e.key, value: JSON.stringify(e) })) });
    await raw.disconnect();
    const groupId = `redeliver-${run}`;
    const registry = new Registry();

    let attempts = 0;
    const failing = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      registry,
      metricsPrefix: "int",
      retry: { initialMs: 20, maxMs: 50 },
      handleBatch: async () => {
        attempts++;
        throw new Error("sink down");
      },
    });
    await waitUntil(() => attempts >= 3, 60_000, "retries of the failing sink");
    await failing.stop();
    const errors = await registry.getSingleMetric("int_consumer_handler_errors_total")?.get();
    expect(errors?.values[0]?.value).toBeGreaterThanOrEqual(3);

    const sink = collector();
    let failuresLeft = 2;
    const healthy = await runConsumer({
      kafka,
      groupId,
      topics: [topic],
      retry: { initialMs: 20, maxMs: 50 },
      handleBatch: async (batch) => {
        if (failuresLeft-- > 0) throw new Error("transient");
        await sink.handleBatch(batch);
      },
    });
    try {
      const ids = new Set(events.map((e) => e.eventId));
      await waitUntil(() => new Set(sink.of(ids).map((c) => c.event.eventId)).size === ids.size, 60_000, "redelivery");
      await waitUntil(async () => (await healthy.lag()).every((l) => l.lag === 0), 30_000, "lag 0");
      expect(new Set(sink.seen.map((c) => c.event.eventId))).toEqual(ids);
    } finally {
      await healthy.stop();
    }
  });
});
