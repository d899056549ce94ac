import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import type { ConsumedEvent } from "@mlsd/events";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import { createMetrics, Readiness, silentLogger } from "@mlsd/service-kit";
import request from "supertest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "./app";
import { createStoreSinkMetrics, StoreSink } from "./sink";

function consumed(seq: number): ConsumedEvent {
  const event = makeEvent(
    "fraud.transaction",
    { ...EXAMPLE_PAYLOADS["fraud.transaction"], transactionId: `tx-${seq}` },
    { producer: "test", eventTime: "2024-04-01T00:00:00.000Z" },
  );
  return { event, topic: TOPICS.fraudTransactions, partition: seq % 3, offset: String(seq), timestamp: "0" };
}

let root: string;
let writer: OfflineStoreWriter;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "event-logger-app-"));
  writer = await OfflineStoreWriter.open({ root });
});
afterEach(async () => {
  await writer.close();
  await rm(root, { recursive: true, force: true });
});

describe("StoreSink", () => {
  it("counts written and skipped events per topic in the service metrics", async () => {
    const metrics = createMetrics("event-logger", { defaultMetrics: false });
    const sink = new StoreSink(writer, createStoreSinkMetrics(metrics.registry));
    const batch = [0, 1, 2, 3].map(consumed);
    expect(await sink.handleBatch(batch)).toMatchObject({ written: 4, duplicates: 0 });
    expect(await sink.handleBatch([...batch.slice(2), consumed(4)])).toMatchObject({ written: 1, duplicates: 2 });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`event_logger_store_events_written_total{topic="${TOPICS.fraudTransactions}",service="event-logger"} 5`);
    expect(text).toContain(`event_logger_store_duplicates_skipped_total{topic="${TOPICS.fraudTransactions}",service="event-logger"} 2`);
  });
});

describe("GET /v1/stats", () => {
  it("reports events written, duplicates skipped and lag per topic", async () => {
    const metrics = createMetrics("event-logger", { defaultMetrics: false });
    const sink = new StoreSink(writer, null);
    const batch = [0, 1, 2].map(consumed);
    await sink.handleBatch(batch);
    await sink.handleBatch([batch[2]!]);
    const lag = [
      { topic: TOPICS.fraudTransactions, partition: 0, highWatermark: 10, committed: 7, lag: 3 },
      { topic: TOPICS.fraudTransactions, partition: 1, highWatermark: 5, committed: 5, lag: 0 },
      { topic: TOPICS.fraudLabels, partition: 0, highWatermark: 2, committed: -1, lag: 2 },
    ];
    const app = createApp({ logger: silentLogger, metrics, readiness: new Readiness(), writer, lag: async () => lag });
    const res = await request(app).get("/v1/stats").expect(200);
    expect(res.body).toMatchObject({
      written: 3,
      duplicatesSkipped: 1,
      topics: {
        [TOPICS.fraudTransactions]: { written: 3, duplicatesSkipped: 1, lag: 3 },
        [TOPICS.fraudLabels]: { written: 0, duplicatesSkipped: 0, lag: 2 },
      },
      store: { partitionsScanned: 1, cachedPartitions: 1, tornBytesRepaired: 0 },
      lag: { total: 5 },
    });
  });

  it("counts every batch the lag shows as committed: a batch finishing while the broker is asked is in the counts", async () => {
    const metrics = createMetrics("event-logger", { defaultMetrics: false });
    const sink = new StoreSink(writer, null);
    await sink.handleBatch([consumed(0)]);
    // While the broker is asked, the consumer writes (and then commits) its last batch: lag 0 after.
    const lag = async () => {
      await sink.handleBatch([consumed(1), consumed(2)]);
      return [{ topic: TOPICS.fraudTransactions, partition: 0, highWatermark: 3, committed: 3, lag: 0 }];
    };
    const app = createApp({ logger: silentLogger, metrics, readiness: new Readiness(), writer, lag });
    const res = await request(app).get("/v1/stats").expect(200);
    expect(res.body).toMatchObject({ written: 3, topics: { [TOPICS.fraudTransactions]: { written: 3, lag: 0 } }, lag: { total: 0 } });
  });

  it("answers without lag when the broker cannot be asked", async () => {
    const metrics = createMetrics("event-logger", { defaultMetrics: false });
    const app = createApp({
      logger: silentLogger,
      metrics,
      readiness: new Readiness(),
      writer,
      lag: () => Promise.reject(new Error("broker down")),
    });
    const res = await request(app).get("/v1/stats").expect(200);
    expect(res.body).toMatchObject({ written: 0, lag: null, topics: {} });
  });
});
