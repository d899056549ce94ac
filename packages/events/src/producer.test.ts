import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOADS, makeEvent } from "@mlsd/contracts";
import type { EventEnvelope } from "@mlsd/contracts";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { JournalLockedError } from "./journal";
import { EventProducer, ProducerOptionsError } from "./producer";
import type { EventProducerOptions } from "./producer";
import { InMemoryRecordSender } from "./sender";
import { capturingLogger, seqOf, transactionEvents, waitUntil, withTempDir } from "./testing";

const here = dirname(fileURLToPath(import.meta.url));

function setup(dir: string, overrides: Partial<EventProducerOptions> = {}) {
  const sender = new InMemoryRecordSender();
  const registry = new Registry();
  const logger = capturingLogger();
  const producer = new EventProducer({
    sender,
    journalDir: dir,
    registry,
    metricsPrefix: "test",
    logger,
    batch: { maxEvents: 50, lingerMs: 1 },
    backoff: { initialMs: 5, maxMs: 20 },
    journal: { segmentBytes: 16 * 1024, fsyncIntervalMs: 5 },
    ...overrides,
  });
  return { sender, registry, logger, producer };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = await registry.getSingleMetric(name)?.get();
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  if (value === undefined) throw new Error(`no sample for ${name} ${JSON.stringify(labels)}`);
  return value.value;
}

const seqs = (sender: InMemoryRecordSender): number[] => sender.delivered.map((r) => seqOf(r.value));
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe("EventProducer, Kafka up", () => {
  it("sends in publish order, batched, keyed by the catalog's entity, topic from the catalog", async () => {
    await withTempDir(async (dir) => {
      const { sender, registry, producer } = setup(dir);
      await producer.start();
      for (const event of transactionEvents(1_000, 4)) producer.publish(event);
      expect(await producer.flush(5_000)).toEqual({ delivered: true, inJournal: 0, inMemory: 0 });
      expect(seqs(sender)).toEqual(range(0, 1_000));
      expect(sender.delivered[5]).toMatchObject({ topic: "fraud.transactions.v1", key: "c-1" });
      expect(sender.sendCalls).toBeGreaterThanOrEqual(20);
      expect(sender.sendCalls).toBeLessThan(1_000);
      expect(producer.stats()).toMatchObject({ published: 1_000, sent: 1_000, spilled: 0, replayed: 0 });
      expect(await metric(registry, "test_events_sent_total", { topic: "fraud.transactions.v1" })).toBe(1_000);
      expect(await metric(registry, "test_events_queue_depth")).toBe(0);
      expect(await metric(registry, "test_events_kafka_up")).toBe(1);
      await producer.close();
    });
  });

  it("waits at most the linger time before sending a partial batch", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir, { batch: { maxEvents: 1_000, lingerMs: 20 } });
      await producer.start();
      for (const event of transactionEvents(3, 1)) producer.publish(event);
      expect(sender.delivered).toHaveLength(0);
      await waitUntil(() => sender.delivered.length === 3, 2_000, "the linger to expire");
      expect(sender.sendCalls).toBe(1);
      await producer.close();
    });
  });
});

describe("EventProducer, publish() never throws", () => {
  it("counts and logs what it cannot keep, by reason", async () => {
    await withTempDir(async (dir) => {
      const { registry, logger, producer } = setup(dir, { maxEventBytes: 2_000, queue: { maxEvents: 10 } });
      // Not started: nothing drains the queue, so its bound is what is tested.
      for (const event of transactionEvents(15, 3)) producer.publish(event);
      const unknown = { ...transactionEvents(1, 1)[0]!, type: "fraud.refund" } as unknown as EventEnvelope;
      const cyclic = transactionEvents(1, 1)[0]! as unknown as { payload: Record<string, unknown> };
      cyclic.payload.self = cyclic;
      const huge = makeEvent(
        "recs.served",
        { ...EXAMPLE_PAYLOADS["recs.served"], userFeatures: Object.fromEntries(range(0, 200).map((i) => [`f${i}`, i])) },
        { producer: "test" },
      );
      expect(() => {
        producer.publish(unknown);
        producer.publish(cyclic as unknown as EventEnvelope);
        producer.publish(huge);
      }).not.toThrow();
      expect(producer.stats()).toMatchObject({
        queued: 10,
        published: 10,
        dropped: { queue_full: 5, invalid_event: 2, too_large: 1, closed: 0, journal_full: 0 },
      });
      expect(await metric(registry, "test_events_dropped_total", { reason: "queue_full" })).toBe(5);
      expect(await metric(registry, "test_events_dropped_total", { reason: "journal_full" })).toBe(0);
      const logged = logger.lines.filter((l) => l.msg === "event producer: events dropped").map((l) => l.fields.reason);
      expect(logged.sort()).toEqual(["invalid_event", "queue_full", "too_large"]);
      await producer.start();
      await producer.close();
      producer.publish(transactionEvents(1, 1)[0]!);
      expect(producer.stats().dropped.closed).toBe(1);
    });
  });

  it("rejects bad options naming the field", () => {
    expect(() => setup("/tmp/unused", { journal: { maxBytes: 1_000 } })).toThrow(ProducerOptionsError);
    expect(() => setup("/tmp/unused", { journal: { maxBytes: 1_000 } })).toThrow(/journal\.maxBytes/);
    expect(() => setup("/tmp/unused", { batch: { lingerMs: -1 } })).toThrow(/batch\.lingerMs/);
  });
});

describe("EventProducer, Kafka down or slow", () => {
  it("spills to the journal while down and replays it, in order, before newer events", async () => {
    await withTempDir(async (dir) => {
      const { sender, registry, logger, producer } = setup(dir);
      sender.setState("down");
      await producer.start();
      for (const event of transactionEvents(500, 5)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 500, 5_000, "the spill");
      expect(producer.stats()).toMatchObject({ queued: 0, kafkaUp: false, sent: 0 });
      expect(await metric(registry, "test_events_kafka_up")).toBe(0);
      expect((await readdir(dir)).some((f) => f.startsWith("segment-"))).toBe(true);
      sender.setState("up");
      // Until a probe succeeds the producer still counts Kafka as down and spills everything.
      await waitUntil(() => producer.stats().kafkaUp, 2_000, "the next probe");
      for (const event of transactionEvents(200, 5, 500)) producer.publish(event);
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 700));
      expect(producer.stats()).toMatchObject({ sent: 700, spilled: 500, replayed: 500, journalPending: 0 });
      expect(await metric(registry, "test_events_replayed_total")).toBe(500);
      expect(logger.lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining(["event producer: Kafka unavailable, spilling to the journal", "event producer: Kafka is back"]),
      );
      expect((await readdir(dir)).filter((f) => f.startsWith("segment-"))).toEqual([]);
      await producer.close();
    });
  });

  it("keeps order when Kafka flaps while the journal drains", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir);
      await producer.start();
      let next = 0;
      const publish = (n: number): void => {
        for (const event of transactionEvents(n, 9, next)) producer.publish(event);
        next += n;
      };
      for (const state of ["down", "up", "down", "up", "down", "up"] as const) {
        sender.setState(state);
        publish(150);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, next));
      await producer.close();
    });
  });

  it("spills what arrives while a probe send to a recovering broker is outstanding", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir);
      sender.setState("down");
      await producer.start();
      for (const event of transactionEvents(100, 3)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 100, 2_000, "the spill");
      sender.setState("hold");
      await waitUntil(() => sender.heldSends === 1, 2_000, "the probe");
      for (const event of transactionEvents(50, 3, 100)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 150, 2_000, "the spill behind the probe");
      expect(producer.stats().queued).toBe(0);
      sender.setState("up");
      sender.release("deliver");
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 150));
      await producer.close();
    });
  });

  it("moves an outstanding batch to the journal when the queue passes high water, and skips it if it lands after all", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir, { queue: { maxEvents: 400, highWaterFraction: 0.5 } });
      sender.setState("hold");
      await producer.start();
      for (const event of transactionEvents(10, 3)) producer.publish(event);
      await waitUntil(() => sender.heldSends === 1, 2_000, "the first send");
      for (const event of transactionEvents(390, 3, 10)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 400, 2_000, "the spill past high water");
      expect(producer.stats()).toMatchObject({ queued: 0, dropped: { queue_full: 0 } });
      // The held batch was acknowledged after all: its 10 journal records must not be sent again.
      sender.setState("up");
      sender.release("deliver");
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 400));
      expect(producer.stats()).toMatchObject({ sent: 400, replayed: 390 });
      await producer.close();
    });
  });

  it("moves a send outstanding past spillAfterMs, and what queues behind it, to the journal", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir, { spillAfterMs: 30 });
      sender.setState("hold");
      await producer.start();
      for (const event of transactionEvents(20, 3)) producer.publish(event);
      await waitUntil(() => sender.heldSends === 1, 2_000, "the first send");
      for (const event of transactionEvents(5, 3, 20)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 25, 2_000, "the spill of a stalled send");
      expect(producer.stats().queued).toBe(0);
      for (const event of transactionEvents(5, 3, 25)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 30, 2_000, "arrivals while stalled");
      sender.setState("up");
      sender.release("fail");
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 30));
      await producer.close();
    });
  });

  it("replays an outstanding batch that fails after it was moved to the journal", async () => {
    await withTempDir(async (dir) => {
      const { sender, producer } = setup(dir, { queue: { maxEvents: 400, highWaterFraction: 0.5 } });
      sender.setState("hold");
      await producer.start();
      for (const event of transactionEvents(10, 3)) producer.publish(event);
      await waitUntil(() => sender.heldSends === 1, 2_000, "the first send");
      for (const event of transactionEvents(390, 3, 10)) producer.publish(event);
      await waitUntil(() => producer.stats().journalPending === 400, 2_000, "the spill past high water");
      sender.setState("up");
      sender.release("fail");
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 400));
      expect(producer.stats()).toMatchObject({ sent: 400, replayed: 400 });
      await producer.close();
    });
  });

  it("drops the newest events once the journal is full, and counts every one", async () => {
    await withTempDir(async (dir) => {
      const { sender, registry, logger, producer } = setup(dir, {
        batch: { maxEvents: 50, maxBytes: 4_096, lingerMs: 1 },
        maxEventBytes: 2_048,
        journal: { maxBytes: 40_000, segmentBytes: 8_192, fsyncIntervalMs: 5 },
      });
      sender.setState("down");
      await producer.start();
      for (const event of transactionEvents(300, 5)) producer.publish(event);
      await waitUntil(() => producer.stats().queued === 0, 5_000, "the spill");
      const { journalPending, journalBytes, dropped } = producer.stats();
      expect(journalPending).toBeGreaterThan(50);
      expect(journalPending).toBeLessThan(300);
      expect(journalBytes).toBeLessThanOrEqual(40_000);
      expect(dropped.journal_full).toBe(300 - journalPending);
      expect(await metric(registry, "test_events_dropped_total", { reason: "journal_full" })).toBe(300 - journalPending);
      expect(logger.lines.some((l) => l.level === "error" && l.fields.reason === "journal_full")).toBe(true);
      sender.setState("up");
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, journalPending));
      await producer.close();
    });
  });

  it("close() with Kafka down leaves everything in the journal for the next producer", async () => {
    await withTempDir(async (dir) => {
      const first = setup(dir);
      first.sender.setState("hold");
      await first.producer.start();
      for (const event of transactionEvents(120, 4)) first.producer.publish(event);
      expect(await first.producer.close(50)).toEqual({ delivered: false, inJournal: 120, inMemory: 0 });
      const second = setup(dir);
      const recovery = await second.producer.start();
      expect(recovery).toMatchObject({ pendingRecords: 120, staleLockPid: null });
      for (const event of transactionEvents(30, 4, 120)) second.producer.publish(event);
      expect((await second.producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(second.sender)).toEqual(range(0, 150));
      await second.producer.close();
    });
  });

  it("refuses a second producer on a journal directory in use", async () => {
    await withTempDir(async (dir) => {
      const first = setup(dir);
      await first.producer.start();
      await expect(setup(dir).producer.start()).rejects.toBeInstanceOf(JournalLockedError);
      await first.producer.close();
    });
  });
});

describe("EventProducer, crash recovery", () => {
  it("replays the journal of a process killed with SIGKILL before anything new", async () => {
    await withTempDir(async (dir) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/spill-then-hang.ts"), dir, "250"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const report = await new Promise<{ pid: number; inJournal: number }>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(JSON.parse(out) as { pid: number; inJournal: number });
        });
        child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
      });
      expect(report.inJournal).toBe(250);
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await exited;

      const { sender, producer } = setup(dir);
      const recovery = await producer.start();
      expect(recovery).toMatchObject({ pendingRecords: 250, tornBytes: 0, staleLockPid: report.pid });
      for (const event of transactionEvents(50, 7, 250)) producer.publish(event);
      expect((await producer.flush(5_000)).delivered).toBe(true);
      expect(seqs(sender)).toEqual(range(0, 300));
      expect(new Set(sender.delivered.map((r) => (JSON.parse(r.value.toString()) as { eventId: string }).eventId)).size).toBe(300);
      await producer.close();
    });
  });
});
