import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, TOPICS, type AnyEvent } from "@mlsd/contracts";
import { assignedPartitions, describeGroup, ensureTopics, spreadOver } from "@mlsd/events";
import { parseExposition, sumOf } from "@mlsd/prom-text";
import { ServiceProcesses, startKafkaCluster, waitFor, type KafkaClusterHandle, type ServiceProcess } from "@mlsd/testkit";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 19, consumer groups across processes: two drift monitors (recommendations), each its own
 * process, in one consumer group on the 3-broker cluster. Each process watches the partitions it
 * was given; together they see every served answer and click exactly once.
 */

const run = `${Date.now()}`;
const GROUP = `drift-monitor-group-${run}`;
const TOPICS_WATCHED = [TOPICS.recsServed, TOPICS.recsClicks];
const PARTITIONS = 6;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "drift-monitor-group-"));
const repo = path.resolve(import.meta.dirname, "../../..");

let kafka: KafkaClusterHandle;
let admin: Admin;
let producer: Producer;
let processes: ServiceProcesses;
const monitors: ServiceProcess[] = [];

/** Events the monitor's consumer handed on and committed, by topic, as the process's /metrics says. */
async function consumed(monitor: ServiceProcess): Promise<Record<string, number>> {
  const text = await monitor.get("/metrics").then((r) => r.text());
  const families = parseExposition(text);
  return Object.fromEntries(TOPICS_WATCHED.map((topic) => [topic, sumOf(families, "drift_monitor_consumer_events_total", { group: GROUP, topic })]));
}

beforeAll(async () => {
  kafka = await startKafkaCluster();
  const client = new Kafka({ clientId: `drift-group-test-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(client, { topics: [...TOPICS_WATCHED, TOPICS.mlRetrainRequests], partitions: PARTITIONS, timeoutMs: 60_000 });
  admin = client.admin();
  await admin.connect();
  producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  processes = new ServiceProcesses(repo, path.join(tmp, "logs"));
  for (const name of ["monitor-a", "monitor-b"]) {
    const env = {
      KAFKA_BROKERS: kafka.brokers.join(","),
      KAFKA_CLIENT_ID: name,
      MONITOR: "recs",
      REFERENCE: "live",
      LIVE_REFERENCE_SIZE: "100",
      CONSUMER_GROUP: GROUP,
      // Each process's retrain-request journal is its own (a journal has one writer).
      EVENT_JOURNAL_DIR: path.join(tmp, `journal-${name}`),
      MODEL_REGISTRY_DIR: path.join(tmp, "registry"),
      ENSURE_TOPICS: "false",
      LOG_LEVEL: "info",
    };
    monitors.push(await processes.start(name, "services/drift-monitor", env));
  }
}, 300_000);

afterAll(async () => {
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await processes?.stopAll();
  await kafka?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe("the drift monitor as two processes in one consumer group on the three-broker Kafka", () => {
  it("gives both processes partitions, and together they count every served answer and click once", async () => {
    const group = await waitFor("both monitors to hold partitions", async () => {
      const g = await describeGroup(admin, GROUP).catch(() => null);
      return spreadOver(g, 2) && g;
    });
    expect(group.members.map(assignedPartitions).reduce((a, b) => a + b, 0)).toBe(PARTITIONS * TOPICS_WATCHED.length);

    const served: AnyEvent[] = [];
    const clicks: AnyEvent[] = [];
    for (let i = 0; i < 600; i++) {
      const userId = `u${i % 89}`;
      const items = EXAMPLE_PAYLOADS["recs.served"].items.map((item, position) => ({ ...item, score: ((i * 7 + position * 13) % 100) / 100, features: { ann_score: ((i * 11 + position) % 97) / 97, item_ctr_7d: (i % 13) / 300, price: null } }));
      served.push(makeEvent("recs.served", { ...EXAMPLE_PAYLOADS["recs.served"], requestId: `${run}-${i}`, userId, items }, { producer: "group-test" }));
      if (i % 3 === 0) clicks.push(makeEvent("recs.click", { requestId: `${run}-${i}`, userId, itemId: items[0]?.itemId ?? "i-7", position: 0 }, { producer: "group-test" }));
    }
    const partitions = new Set<string>();
    for (const [topic, events] of [
      [TOPICS.recsServed, served],
      [TOPICS.recsClicks, clicks],
    ] as const) {
      for (let b = 0; b < events.length; b += 100) {
        const result = await producer.send({ topic, acks: -1, messages: events.slice(b, b + 100).map((e) => ({ key: e.key, value: JSON.stringify(e) })) });
        for (const r of result) partitions.add(`${r.topicName}/${r.partition}`);
      }
    }
    expect(partitions.size).toBe(PARTITIONS * TOPICS_WATCHED.length);

    const expected = { [TOPICS.recsServed]: served.length, [TOPICS.recsClicks]: clicks.length };
    const counts = await waitFor(
      "the group to count every event",
      async () => {
        const each = await Promise.all(monitors.map(consumed));
        const total = Object.fromEntries(TOPICS_WATCHED.map((t) => [t, each.reduce((n, c) => n + (c[t] ?? 0), 0)]));
        return TOPICS_WATCHED.every((t) => (total[t] ?? 0) >= (expected[t] ?? 0)) ? { each, total } : undefined;
      },
      { intervalMs: 250 },
    );
    // Exactly the events produced, and still so a moment later: a second copy would push the total past them.
    expect(counts.total).toEqual(expected);
    await new Promise((r) => setTimeout(r, 3_000));
    const later = await Promise.all(monitors.map(consumed));
    expect(later).toEqual(counts.each);
    // Both processes did part of the work.
    for (const c of counts.each) expect(Object.values(c).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // And each watched what it consumed: the live baselines filled from the predictions it saw.
    const reports = await Promise.all(monitors.map((m) => m.get("/v1/drift").then((r) => r.json() as Promise<{ reference: unknown; warmingUp?: unknown }>)));
    for (const r of reports) expect(r.warmingUp).toBeUndefined();
    console.info(
      `drift monitor, 2 processes in one group: partitions ${group.members.map((m) => `${m.clientId} ${assignedPartitions(m)}`).join(", ")}; ` +
        `events counted ${counts.each.map((c, i) => `${monitors[i]?.name} ${Object.values(c).reduce((a, b) => a + b, 0)}`).join(", ")}; total ${JSON.stringify(counts.total)} = produced`,
    );
  }, 300_000);
});
