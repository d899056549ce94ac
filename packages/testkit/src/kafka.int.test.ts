import { Kafka, logLevel, type Consumer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKafka, type KafkaHandle } from "./index";
import { kafkaMetadataAnswers } from "./probes";

const PARTITIONS = 4;

async function eventually(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function client(brokers: string[]): Kafka {
  return new Kafka({ clientId: "testkit-int", brokers, logLevel: logLevel.NOTHING });
}

function batch(from: number, count: number) {
  // Explicit partitions, so each consumer's share of the messages follows from its assignment.
  return Array.from({ length: count }, (_, i) => ({ partition: (from + i) % PARTITIONS, key: `k${from + i}`, value: `m${from + i}` }));
}

interface Member {
  consumer: Consumer;
  /** Partitions after each join of the group, in order. */
  assignments: number[][];
  consumed: string[];
}

async function joinGroup(kafka: Kafka, groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 20_000 });
  const member: Member = { consumer, assignments: [], consumed: [] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    member.assignments.push([...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b));
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      member.consumed.push(message.value?.toString() ?? "");
    },
  });
  return member;
}

describe("startKafka (shared)", () => {
  let handle: KafkaHandle;
  beforeAll(async () => {
    handle = await startKafka();
  });
  afterAll(() => handle.stop());

  it("delivers every message through a consumer group that rebalances when a second member joins", async () => {
    const kafka = client(handle.brokers);
    const topic = `testkit.rebalance-${process.pid}-${Date.now()}.v1`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const groupId = `${topic}.group`;

    await producer.send({ topic, messages: batch(0, 40) });
    const a = await joinGroup(kafka, groupId, topic);
    await eventually(() => a.consumed.length >= 40, "the first member to read the first batch");
    expect(a.assignments.at(-1)).toEqual([0, 1, 2, 3]);

    const b = await joinGroup(kafka, groupId, topic);
    await eventually(
      () => (b.assignments.at(-1)?.length ?? 0) > 0 && (a.assignments.at(-1)?.length ?? 0) < PARTITIONS,
      "the partitions to be split between the two members",
    );
    const aParts = a.assignments.at(-1) ?? [];
    const bParts = b.assignments.at(-1) ?? [];
    expect([...aParts, ...bParts].sort()).toEqual([0, 1, 2, 3]);
    expect(aParts.filter((p) => bParts.includes(p))).toEqual([]);

    await producer.send({ topic, messages: batch(40, 40) });
    const expected = Array.from({ length: 80 }, (_, i) => `m${i}`);
    await eventually(() => new Set([...a.consumed, ...b.consumed]).size === 80, "all 80 messages");
    expect(new Set([...a.consumed, ...b.consumed])).toEqual(new Set(expected));
    // After the split, each member reads exactly the second-batch messages of its own partitions.
    const secondBatchOf = (parts: number[]) => expected.slice(40).filter((_, i) => parts.includes((40 + i) % PARTITIONS));
    expect(b.consumed.filter((m) => Number(m.slice(1)) >= 40).sort()).toEqual(secondBatchOf(bParts).sort());
    expect(a.consumed.filter((m) => Number(m.slice(1)) >= 40).sort()).toEqual(secondBatchOf(aParts).sort());

    await Promise.all([a.consumer.disconnect(), b.consumer.disconnect(), producer.disconnect()]);
  });
});

describe("startKafka({ dedicated: true })", () => {
  let handle: KafkaHandle;
  beforeAll(async () => {
    handle = await startKafka({ dedicated: true });
  });
  afterAll(() => handle.stop());

  it("stops and restarts on the same port with the messages already written", async () => {
    expect(handle.source).not.toBe("env");
    const brokers = [...handle.brokers];
    const topic = "testkit.restart.v1";
    const admin = client(brokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = client(brokers).producer();
    await producer.connect();
    await producer.send({ topic, messages: batch(0, 12) });
    await producer.disconnect();

    await handle.stop();
    expect(await kafkaMetadataAnswers(brokers, 1_000)).toBe(false);
    await handle.start();
    expect(handle.brokers).toEqual(brokers);

    const kafka = client(brokers);
    const again = kafka.producer();
    await again.connect();
    await again.send({ topic, messages: batch(12, 4) });
    await again.disconnect();
    const reader = await joinGroup(kafka, "testkit.restart.reader", topic);
    await eventually(() => reader.consumed.length >= 16, `the 16 messages written before and after the restart (got ${reader.consumed.length})`);
    expect(reader.consumed.sort()).toEqual(Array.from({ length: 16 }, (_, i) => `m${i}`).sort());
    await reader.consumer.disconnect();
  });
});
