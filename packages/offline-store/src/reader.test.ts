import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { OfflineStoreReader } from "./reader";
import { record, transaction, withTempDir } from "./testing";
import { OfflineStoreWriter } from "./writer";

describe("OfflineStoreReader", () => {
  it("reads a topic's events in [from, to), in event-time order across and within hours", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const times = ["2024-04-01T02:30:00.000Z", "2024-04-01T00:10:00.000Z", "2024-04-01T01:59:59.000Z", "2024-04-01T01:00:00.000Z", "2024-04-01T00:05:00.000Z"];
      const events = times.map((t, i) => transaction(i, t));
      await writer.write(events.map(record));
      const click = makeEvent("recs.click", EXAMPLE_PAYLOADS["recs.click"], { producer: "test", eventTime: "2024-04-01T01:00:00.000Z" });
      await writer.write([{ topic: TOPICS.recsClicks, event: click }]);
      await writer.close();

      const reader = new OfflineStoreReader(root);
      expect(await reader.topics()).toEqual([TOPICS.fraudTransactions, TOPICS.recsClicks].sort());
      const all = await reader.readAll(TOPICS.fraudTransactions);
      expect(all.map((e) => e.eventTime)).toEqual([...times].sort());
      const range = await reader.readAll(TOPICS.fraudTransactions, { from: "2024-04-01T00:10:00.000Z", to: "2024-04-01T02:00:00.000Z" });
      expect(range.map((e) => e.eventTime)).toEqual(["2024-04-01T00:10:00.000Z", "2024-04-01T01:00:00.000Z", "2024-04-01T01:59:59.000Z"]);
      const arrival = await reader.readAll(TOPICS.fraudTransactions, { to: "2024-04-01T01:00:00.000Z", order: "arrival" });
      expect(arrival.map((e) => e.eventTime)).toEqual(["2024-04-01T00:10:00.000Z", "2024-04-01T00:05:00.000Z"]);
      const partitions = await reader.partitions(TOPICS.fraudTransactions, { from: "2024-04-01T01:30:00.000Z" });
      expect(partitions.map((p) => p.hour)).toEqual(["01", "02"]);
      expect(await reader.readAll("no.such-topic.v1")).toEqual([]);
    });
  });

  it("skips lines that are not events and, with validate, lines that break their schema", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const good = transaction(1, "2024-04-01T00:00:00.000Z");
      await writer.write([record(good)]);
      await writer.close();
      const file = join(root, TOPICS.fraudTransactions, "date=2024-04-01", "hour=00", "part-0.ndjson");
      const broken = { ...good, eventId: "4b0e3f0e-0000-4000-8000-000000000000", payload: { ...good.payload, amount: -1 } };
      await appendFile(file, "not json\n" + JSON.stringify(broken) + "\n");
      const trusting = new OfflineStoreReader(root);
      expect(await trusting.readAll(TOPICS.fraudTransactions)).toHaveLength(2);
      expect(trusting.stats()).toEqual({ linesRead: 2, linesSkipped: 1 });
      const checking = new OfflineStoreReader(root);
      expect((await checking.readAll(TOPICS.fraudTransactions, { validate: true })).map((e) => e.eventId)).toEqual([good.eventId]);
      expect(checking.stats()).toEqual({ linesRead: 1, linesSkipped: 2 });
    });
  });

  it("keeps each event's log position when the consumer gave one, and nothing of it in the event", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const [a, b] = [transaction(1, "2024-04-01T00:00:00.000Z"), transaction(2, "2024-04-01T00:00:01.000Z")];
      await writer.write([{ ...record(a), partition: 4, offset: "9007199254740" }, record(b)]);
      // A redelivery at another offset keeps the first copy and its position.
      await writer.write([{ ...record(a), partition: 4, offset: "9007199254799" }]);
      await writer.close();
      const reader = new OfflineStoreReader(root);
      const stored = [];
      for await (const r of reader.recordsOfType(TOPICS.fraudTransactions, "fraud.transaction", { validate: true })) stored.push(r);
      expect(stored.map((r) => [r.event.eventId, r.position])).toEqual([
        [a.eventId, { partition: 4, offset: 9007199254740 }],
        [b.eventId, null],
      ]);
      expect(await reader.readAll(TOPICS.fraudTransactions)).toEqual([a, b]);
    });
  });

  it("rejects a range that ends before it starts, naming the field", async () => {
    const reader = new OfflineStoreReader("/nonexistent");
    await expect(reader.readAll(TOPICS.fraudTransactions, { from: "2024-04-02", to: "2024-04-01" })).rejects.toThrow(/^to:/);
    await expect(reader.readAll(TOPICS.fraudTransactions, { from: "soon" })).rejects.toThrow(/^from:/);
  });
});
