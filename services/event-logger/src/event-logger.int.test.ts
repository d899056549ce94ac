import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEAD_LETTER_TOPIC, DeadLetterRecordSchema, EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import type { AnyEvent, DeadLetterRecord } from "@mlsd/contracts";
import { ensureTopics, EventProducer, KafkaRecordSender, runConsumer } from "@mlsd/events";
import { OfflineStoreReader, OfflineStoreWriter } from "@mlsd/offline-store";
import { buildService, silentLogger, type ServiceInstanceOf } from "@mlsd/service-kit";
import { startKafka } from "@mlsd/testkit";
import type { KafkaHandle } from "@mlsd/testkit";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventLoggerService } from "./service";
import { replayRange } from "./replay-range";
import { StoreSink } from "./sink";

const LOGGED = [TOPICS.fraudTransactions, TOPICS.fraudDecisions];

let handle: KafkaHandle;
let kafka: Kafka;
let root: string;
let journalDir: string;
const started = Date.now();

beforeAll(async () => {
  handle = await startKafka({ dedicated: true });
  kafka = new Kafka({
    clientId: "event-logger-int",
    brokers: handle.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  await ensureTopics(kafka, { topics: [...LOGGED, DEAD_LETTER_TOPIC], partitions: 3 });
  root = await mkdtemp(join(tmpdir(), "event-logger-store-"));
  journalDir = await mkdtemp(join(tmpdir(), "event-logger-journal-"));
});
afterAll(async () => {
  await handle?.stop();
  await rm(root, { recursive: true, force: true });
  await rm(journalDir, { recursive: true, force: true });
});

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(50);
  }
}

/** The event logger as its main.ts would build it, minus the HTTP listener. */
function startLogger(group: string): Promise<ServiceInstanceOf<typeof eventLoggerService>> {
  return buildService(
    eventLoggerService,
    {
      PORT: "0",
      KAFKA_BROKERS: handle.brokers.join(","),
      KAFKA_CLIENT_ID: `event-logger-${group}`,
      CONSUMER_GROUP: group,
      TOPICS: LOGGED.join(","),
      OFFLINE_STORE_DIR: root,
      ENSURE_TOPICS: "false",
      LAG_INTERVAL_MS: "1000",
    },
    { logger: silentLogger },
  );
}

let seq = 0;
/** A transaction and its decision, numbered in the transaction id, at the current time. */
function pair(): AnyEvent[] {
  const n = seq++;
  const time = new Date().toISOString();
  const base = { transactionId: `tx-${n}`, customerId: `c-${n % 50}`, terminalId: `t-${n % 20}` };
  return [
    makeEvent("fraud.transaction", { ...base, amount: (n % 1000) / 10, time }, { producer: "int", eventTime: time }),
    makeEvent("fraud.decision", { ...EXAMPLE_PAYLOADS["fraud.decision"], ...base, score: (n % 100) / 100 }, { producer: "int", eventTime: time }),
  ];
}

/** Every line in the store, counted by event id. */
async function storedIdCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(".ndjson")) {
        for (const line of (await readFile(path, "utf8")).split("\n")) {
          if (line.length === 0) continue;
          const id = (JSON.parse(line) as { eventId: string }).eventId;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    }
  };
  await walk(root);
  return counts;
}

const published: AnyEvent[] = [];

describe("event logger against a real broker", () => {
  it("stores every event exactly once although the broker stops mid-stream", { timeout: 400_000 }, async () => {
    const service = await startLogger("event-logger");
    const deps = service.deps;
    const producer = new EventProducer({
      sender: new KafkaRecordSender(kafka),
      journalDir,
      registry: new Registry(),
      metricsPrefix: "int",
      backoff: { initialMs: 100, maxMs: 1_000 },
      journal: { fsyncIntervalMs: 50 },
    });
    await producer.start();
    const publishPaced = async (pairs: number): Promise<void> => {
      for (let i = 0; i < pairs; i += 50) {
        for (let k = 0; k < 50; k++) {
          for (const event of pair()) {
            producer.publish(event);
            published.push(event);
          }
        }
        await pause(10);
      }
    };
    try {
      await publishPaced(1_000);
      await waitUntil(() => deps.writer.stats().written >= 1_000, 60_000, "the first events in the store");

      await handle.stop();
      await publishPaced(1_000);
      await waitUntil(() => producer.stats().journalPending > 0, 30_000, "the producer to spill");
      await handle.start();
      await publishPaced(1_000);
      expect((await producer.flush(120_000)).delivered).toBe(true);
      expect(producer.stats().spilled).toBeGreaterThan(0);
      expect(Object.values(producer.stats().dropped).every((n) => n === 0)).toBe(true);

      await waitUntil(() => deps.writer.stats().written >= published.length, 240_000, "every event in the store");
      const counts = await storedIdCounts();
      expect(counts.size).toBe(published.length);
      expect(new Set(counts.keys())).toEqual(new Set(published.map((e) => e.eventId)));
      expect([...counts.values()].every((c) => c === 1)).toBe(true);
      const reader = new OfflineStoreReader(root);
      expect(await reader.readAll(TOPICS.fraudDecisions)).toHaveLength(published.length / 2);
    } finally {
      await producer.close(10_000);
      await service.close();
    }
  });

  it("creates no duplicate when a group re-reads everything, a batch is redelivered uncommitted, or a range is replayed", { timeout: 300_000 }, async () => {
    const total = published.length;
    expect(total).toBe(6_000);

    // A new group has no committed offset: it re-reads the topics from the beginning.
    const again = await startLogger("event-logger-second");
    try {
      await waitUntil(() => again.deps.writer.stats().duplicates >= total, 120_000, "the re-read");
      expect(again.deps.writer.stats()).toMatchObject({ written: 0, duplicates: total });
    } finally {
      await again.close();
    }

    // The sink fails after its write on every first attempt: runConsumer retries each batch
    // without having committed it, as after a crash between the fsync and the commit.
    const writer = await OfflineStoreWriter.open({ root });
    const sink = new StoreSink(writer);
    const failedOnce = new Set<string>();
    const consumer = await runConsumer({
      kafka,
      groupId: "event-logger-flaky",
      topics: LOGGED,
      retry: { initialMs: 10, maxMs: 50 },
      handleBatch: async (events) => {
        await sink.handleBatch(events);
        const first = events[0] as (typeof events)[number];
        const key = `${first.topic}/${first.partition}/${first.offset}`;
        if (!failedOnce.has(key)) {
          failedOnce.add(key);
          throw new Error("crash before commit");
        }
      },
    });
    try {
      await waitUntil(async () => (await consumer.lag()).every((p) => p.lag === 0), 120_000, "the flaky group to catch up");
      expect(failedOnce.size).toBeGreaterThan(0);
      expect(writer.stats().written).toBe(0);
      expect(writer.stats().duplicates).toBe(2 * total);

      const replayed = await replayRange({ kafka, writer, topic: TOPICS.fraudTransactions, fromMs: started - 60_000, toMs: Date.now() + 60_000 });
      expect(replayed).toMatchObject({ complete: true, messages: total / 2, written: 0, duplicates: total / 2, invalid: 0 });
    } finally {
      await consumer.stop();
      await writer.close();
    }
    const counts = await storedIdCounts();
    expect(counts.size).toBe(total);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
  });

  it("sends a malformed message to the dead-letter topic with its reason and keeps consuming", { timeout: 180_000 }, async () => {
    const service = await startLogger("event-logger");
    const deps = service.deps;
    const deadLetters: DeadLetterRecord[] = [];
    const dlq = kafka.consumer({ groupId: "dlq-reader" });
    await dlq.connect();
    await dlq.subscribe({ topics: [DEAD_LETTER_TOPIC], fromBeginning: true });
    await dlq.run({
      eachMessage: async ({ message }) => {
        deadLetters.push(DeadLetterRecordSchema.parse(JSON.parse(message.value?.toString() ?? "null")));
      },
    });
    const raw = kafka.producer();
    await raw.connect();
    try {
      const before = deps.writer.stats().written;
      const [valid] = pair() as [AnyEvent];
      const invalidPayload = { ...valid, eventId: "0f8f2a52-6f0e-4e57-8a63-8f4c2e1f7a11", payload: { ...valid.payload, amount: -5 } };
      await raw.send({
        topic: TOPICS.fraudTransactions,
        messages: [
          { key: "c-1", value: "{not json" },
          { key: "c-1", value: JSON.stringify(invalidPayload) },
          { key: "c-1", value: JSON.stringify(valid) },
        ],
      });
      await waitUntil(() => deadLetters.length >= 2 && deps.writer.stats().written > before, 60_000, "the dead letters and the valid event");
      expect(deadLetters.map((d) => d.reason).sort()).toEqual(["invalid_json", "invalid_payload"]);
      expect(deadLetters.every((d) => d.source.topic === TOPICS.fraudTransactions && d.consumerGroup === "event-logger")).toBe(true);
      expect(deadLetters.find((d) => d.reason === "invalid_payload")?.issues.map((i) => i.path)).toEqual(["payload.amount"]);
      expect(deps.writer.stats().written).toBe(before + 1);
      expect((await storedIdCounts()).get(valid.eventId)).toBe(1);
    } finally {
      await raw.disconnect();
      await dlq.disconnect();
      await service.close();
    }
  });
});
