import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeEvent, TOPICS, type AnyEvent } from "@mlsd/contracts";
import { assignedPartitions, describeGroup, ensureTopics } from "@mlsd/events";
import { OfflineStoreReader } from "@mlsd/offline-store";
import { Supervisor, type Supervised } from "@mlsd/supervisor";
import { freePort, startKafkaCluster, type KafkaClusterHandle } from "@mlsd/testkit";
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
let supervisor: Supervisor;
const loggers: { name: string; dir: string; port: number; proc: Supervised }[] = [];
/** Every event whose send the cluster acknowledged (acks=all), in order. */
const acked: AnyEvent[] = [];
const partitionsWritten = new Set<number>();
let seq = 0;

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

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

async function ready(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
}

beforeAll(async () => {
  kafka = await startKafkaCluster();
  client = new Kafka({ clientId: `group-test-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(client, { topics: [TOPIC], partitions: PARTITIONS, timeoutMs: 60_000 });
  admin = client.admin();
  await admin.connect();
  producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  supervisor = new Supervisor({ root: repo, baseEnv: process.env, logDir: path.join(tmp, "logs") });
  for (const name of ["logger-a", "logger-b"]) {
    const dir = path.join(tmp, `store-${name}`);
    const port = await freePort();
    // The service as deployed: its own process (node --import tsx src/main.ts), configured by env.
    const proc = supervisor.start(
      name,
      "services/event-logger",
      { PORT: String(port), KAFKA_BROKERS: kafka.brokers.join(","), KAFKA_CLIENT_ID: name, CONSUMER_GROUP: GROUP, TOPICS: TOPIC, OFFLINE_STORE_DIR: dir, ENSURE_TOPICS: "false", LAG_INTERVAL_MS: "1000", LOG_LEVEL: "info" },
      { restart: false },
    );
    loggers.push({ name, dir, port, proc });
  }
  for (const l of loggers) await waitFor(`${l.name} ready (log: ${l.proc.logFile})`, () => ready(l.port), 120_000, 250);
}, 300_000);

afterAll(async () => {
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await supervisor?.stopAll();
  await kafka?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe("the event logger as two processes in one consumer group on the three-broker Kafka", () => {
  it("splits the partitions, stores every event once, and after one logger is killed the survivor takes its partitions and nothing acknowledged is lost", async () => {
    const split = await waitFor(
      "both loggers to hold partitions",
      async () => {
        const g = await describeGroup(admin, GROUP).catch(() => null);
        return g?.state === "Stable" && g.members.length === 2 && g.members.every((m) => assignedPartitions(m) > 0) ? g : undefined;
      },
      60_000,
      200,
    );
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
      60_000,
      250,
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
        return g?.state === "Stable" && g.members.length === 1 && assignedPartitions(g.members[0] as (typeof g.members)[number]) === PARTITIONS ? Date.now() : undefined;
      },
      120_000,
      100,
    );
    const rebalanceMs = rebalanced - killedAt;

    const all = new Set(acked.map((e) => e.eventId));
    const [a2, b2] = await waitFor(
      "every acknowledged event in the union of the stores",
      async () => {
        const roots = await Promise.all(loggers.map((l) => storedIds(l.dir)));
        return [...all].every((id) => roots.some((r) => r.has(id))) ? roots : undefined;
      },
      120_000,
      250,
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
