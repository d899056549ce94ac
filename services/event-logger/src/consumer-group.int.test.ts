import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeEvent, TOPICS, type AnyEvent } from "@mlsd/contracts";
import { assignedPartitions, describeGroup, ensureTopics, spreadOver, type GroupMember } from "@mlsd/events";
import { OfflineStoreReader } from "@mlsd/offline-store";
import { ServiceProcesses, startKafkaCluster, waitFor, type KafkaClusterHandle, type ServiceProcess } from "@mlsd/testkit";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 19, consumer groups across processes: two event loggers, each its own process (as a
 * deployment runs replicas), in one consumer group on the 3-broker cluster. The offline store
 * allows one writer per root (its dedup keeps each hour's ids in the writer's memory), so each
 * logger writes its own root and readers merge the roots. The guarantee: every acknowledged event
 * exactly once within a root, at least once across roots; a copy in two roots only when the killed
 * logger had stored a batch but died before committing its offsets, so the survivor got it again.
 */

const run = `${Date.now()}`;
const GROUP = `event-logger-group-${run}`;
const TOPIC = TOPICS.recsImpressions;
const PARTITIONS = 6;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "event-logger-group-"));
const repo = path.resolve(import.meta.dirname, "../../..");

let kafka: KafkaClusterHandle;
let client: Kafka;
let admin: Admin;
let producer: Producer;
let processes: ServiceProcesses;
const loggers: (ServiceProcess & { dir: string })[] = [];
/** Every event whose send the cluster acknowledged (acks=all), in order. */
const acked: AnyEvent[] = [];
const partitionsWritten = new Set<number>();
let seq = 0;

/** `n` impressions of many users (the key), so they spread over every partition; resolves once acknowledged. */
async function produce(n: number): Promise<void> {
  const events = Array.from({ length: n }, () => {
    const i = seq++;
    return makeEvent("recs.impression", { requestId: `${run}-${i}`, userId: `u${i % 97}`, itemId: `i${i % 31}`, position: i % 10, modelVersions: { ranker: "gbdt@1" } }, { producer: "group-test" });
  });
  const result = await producer.send({ topic: TOPIC, acks: -1, messages: events.map((e) => ({ key: e.key, value: JSON.stringify(e) })) });
  for (const r of result) partitionsWritten.add(r.partition);
  acked.push(...events);
}

/** Each root's stored ids, with how often each occurs there. */
async function storedIds(dir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const events = await new OfflineStoreReader(dir).readAll(TOPIC).catch(() => [] as AnyEvent[]);
  for (const e of events) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  kafka = await startKafkaCluster();
  client = new Kafka({ clientId: `group-test-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(client, { topics: [TOPIC], partitions: PARTITIONS, timeoutMs: 60_000 });
  admin = client.admin();
  await admin.connect();
  producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  processes = new ServiceProcesses(repo, path.join(tmp, "logs"));
  for (const name of ["logger-a", "logger-b"]) {
    const dir = path.join(tmp, `store-${name}`);
    const env = { KAFKA_BROKERS: kafka.brokers.join(","), KAFKA_CLIENT_ID: name, CONSUMER_GROUP: GROUP, TOPICS: TOPIC, OFFLINE_STORE_DIR: dir, ENSURE_TOPICS: "false", LAG_INTERVAL_MS: "1000", LOG_LEVEL: "info" };
    loggers.push({ ...(await processes.start(name, "services/event-logger", env)), dir });
  }
}, 300_000);

afterAll(async () => {
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await processes?.stopAll();
  await kafka?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe("the event logger as two processes in one consumer group on the three-broker Kafka", () => {
  it("splits the partitions, stores every event once, and after one logger is killed the survivor takes its partitions and nothing acknowledged is lost", async () => {
    const split = await waitFor("both loggers to hold partitions", async () => {
      const g = await describeGroup(admin, GROUP).catch(() => null);
      return spreadOver(g, 2) && g;
    });
    expect(split.members.map(assignedPartitions).reduce((a, b) => a + b, 0)).toBe(PARTITIONS);

    for (let b = 0; b < 10; b++) await produce(60);
    expect(partitionsWritten.size).toBe(PARTITIONS);
    const firstIds = new Set(acked.map((e) => e.eventId));
    const [a1, b1] = await waitFor(
      "both stores to hold the first 600 events",
      async () => {
        const roots = await Promise.all(loggers.map((l) => storedIds(l.dir)));
        return [...firstIds].every((id) => roots.some((r) => r.has(id))) ? roots : undefined;
      },
      { intervalMs: 250 },
    );
    // No rebalance yet: each event in exactly one root, and both loggers did part of the work.
    for (const id of firstIds) expect((a1?.get(id) ?? 0) + (b1?.get(id) ?? 0)).toBe(1);
    expect([a1?.size ?? 0, b1?.size ?? 0].every((n) => n > 0)).toBe(true);

    // Steady traffic; logger-a dies (SIGKILL) in the middle of it.
    const victim = loggers[0] as (typeof loggers)[number];
    let killedAt = 0;
    let beforeKill = 0;
    for (let b = 0; b < 60; b++) {
      if (b === 20) {
        beforeKill = acked.length;
        victim.proc.child.kill("SIGKILL");
        killedAt = Date.now();
      }
      await produce(20);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rebalanced = await waitFor(
      "the survivor to hold every partition",
      async () => {
        const g = await describeGroup(admin, GROUP).catch(() => null);
        return spreadOver(g, 1) && assignedPartitions(g?.members[0] as GroupMember) === PARTITIONS && Date.now();
      },
      { timeoutMs: 120_000 },
    );
    const rebalanceMs = rebalanced - killedAt;

    const all = new Set(acked.map((e) => e.eventId));
    const [a2, b2] = await waitFor(
      "every acknowledged event in the union of the stores",
      async () => {
        const roots = await Promise.all(loggers.map((l) => storedIds(l.dir)));
        return [...all].every((id) => roots.some((r) => r.has(id))) ? roots : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const storedAll = Date.now() - killedAt;
    const [inA, inB] = [a2 as Map<string, number>, b2 as Map<string, number>];
    // Exactly once within each root.
    expect([...inA.values(), ...inB.values()].filter((n) => n > 1)).toEqual([]);
    // Nothing that was not produced.
    expect([...inA.keys(), ...inB.keys()].filter((id) => !all.has(id))).toEqual([]);
    // Everything produced after the kill is the survivor's.
    const afterKill = acked.slice(beforeKill).map((e) => e.eventId);
    expect(afterKill.filter((id) => inA.has(id))).toEqual([]);
    expect(afterKill.every((id) => inB.has(id))).toBe(true);
    // In both roots only what the victim stored before it died and the survivor was handed again.
    const doubled = [...inA.keys()].filter((id) => inB.has(id));
    const beforeKillIds = new Set(acked.slice(0, beforeKill).map((e) => e.eventId));
    expect(doubled.filter((id) => !beforeKillIds.has(id))).toEqual([]);
    console.info(
      `event logger, 2 processes in one group: ${acked.length} events acknowledged over ${PARTITIONS} partitions; logger-a killed after ${beforeKill}; ` +
        `the survivor held all ${PARTITIONS} partitions ${rebalanceMs} ms after the kill (session timeout 10 s); every event stored ${storedAll} ms after the kill; ` +
        `${inA.size} events in logger-a's root, ${inB.size} in logger-b's, ${doubled.length} in both (stored by logger-a, not committed before it died), none lost`,
    );
    expect(rebalanceMs).toBeLessThan(60_000);
  }, 400_000);
});
