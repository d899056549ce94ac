import { appendFile, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TOPICS } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { OfflineStoreError } from "./errors";
import { OfflineStoreReader } from "./reader";
import { record, transaction, withTempDir } from "./testing";
import { OfflineStoreWriter } from "./writer";

const HOUR_DIR = (root: string, date: string, hour: string) => join(root, TOPICS.fraudTransactions, `date=${date}`, `hour=${hour}`);

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, "utf8")).split("\n").filter((l) => l.length > 0);
}

describe("OfflineStoreWriter", () => {
  it("partitions by the event's own UTC date and hour and stores one envelope per line", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const a = transaction(1, "2024-04-01T00:59:59.999Z");
      const b = transaction(2, "2024-04-01T01:00:00.000Z");
      const c = transaction(3, "2024-04-02T23:10:00+02:00");
      const result = await writer.write([a, b, c].map(record));
      expect(result).toEqual({ written: 3, duplicates: 0, byTopic: { [TOPICS.fraudTransactions]: { written: 3, duplicates: 0 } } });
      await writer.close();
      const first = await lines(join(HOUR_DIR(root, "2024-04-01", "00"), "part-0.ndjson"));
      expect(first.map((l) => JSON.parse(l))).toEqual([a]);
      expect(first[0]!.startsWith(`{"eventId":"${a.eventId}"`)).toBe(true);
      expect(await lines(join(HOUR_DIR(root, "2024-04-01", "01"), "part-0.ndjson"))).toHaveLength(1);
      // 23:10 at +02:00 is 21:10 UTC.
      expect(await lines(join(HOUR_DIR(root, "2024-04-02", "21"), "part-0.ndjson"))).toHaveLength(1);
    });
  });

  it("skips ids already stored, within a batch, across batches and across a reopen", async () => {
    await withTempDir(async (root) => {
      const events = Array.from({ length: 20 }, (_, i) => transaction(i, `2024-04-01T0${i % 3}:00:0${i % 10}.000Z`));
      const writer = await OfflineStoreWriter.open({ root });
      const first = await writer.write([...events.slice(0, 10), ...events.slice(0, 5)].map(record));
      expect(first.written).toBe(10);
      expect(first.duplicates).toBe(5);
      const second = await writer.write(events.slice(5, 15).map(record));
      expect(second).toMatchObject({ written: 5, duplicates: 5 });
      await writer.close();

      const reopened = await OfflineStoreWriter.open({ root });
      const third = await reopened.write(events.map(record));
      expect(third).toMatchObject({ written: 5, duplicates: 15 });
      expect(reopened.stats().partitionsScanned).toBe(3);
      await reopened.close();

      const stored = await new OfflineStoreReader(root).readAll(TOPICS.fraudTransactions);
      expect(stored.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
    });
  });

  it("stays exact when a partition is evicted from memory and touched again", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root, maxCachedPartitions: 1 });
      const early = transaction(1, "2024-04-01T00:00:00.000Z");
      const late = transaction(2, "2024-04-01T05:00:00.000Z");
      await writer.write([record(early)]);
      await writer.write([record(late)]);
      expect(writer.stats().cachedPartitions).toBe(1);
      expect(await writer.write([record(early), record(late)])).toMatchObject({ written: 0, duplicates: 2 });
      expect(writer.stats().partitionsScanned).toBe(3);
      await writer.close();
    });
  });

  it("cuts off a torn last line left by a crash and stores that event again", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const kept = transaction(1, "2024-04-01T00:00:00.000Z");
      const torn = transaction(2, "2024-04-01T00:00:01.000Z");
      await writer.write([record(kept)]);
      await writer.close();
      const file = join(HOUR_DIR(root, "2024-04-01", "00"), "part-0.ndjson");
      const half = JSON.stringify(torn).slice(0, 40);
      await appendFile(file, half);

      const reader = new OfflineStoreReader(root);
      expect((await reader.readAll(TOPICS.fraudTransactions)).map((e) => e.eventId)).toEqual([kept.eventId]);
      expect(reader.stats().linesSkipped).toBe(1);

      const reopened = await OfflineStoreWriter.open({ root });
      expect(await reopened.write([record(kept), record(torn)])).toMatchObject({ written: 1, duplicates: 1 });
      expect(reopened.stats().tornBytesRepaired).toBe(half.length);
      await reopened.close();
      expect((await lines(file)).map((l) => JSON.parse(l).eventId)).toEqual([kept.eventId, torn.eventId]);
    });
  });

  it("rolls over to the next part file past maxPartBytes and dedups across parts", async () => {
    await withTempDir(async (root) => {
      const events = Array.from({ length: 6 }, (_, i) => transaction(i, `2024-04-01T00:00:0${i}.000Z`));
      const writer = await OfflineStoreWriter.open({ root, maxPartBytes: 600 });
      for (const e of events) await writer.write([record(e)]);
      await writer.close();
      const parts = (await readdir(HOUR_DIR(root, "2024-04-01", "00"))).sort();
      expect(parts.length).toBeGreaterThan(1);
      const reopened = await OfflineStoreWriter.open({ root, maxPartBytes: 600 });
      expect(await reopened.write(events.map(record))).toMatchObject({ written: 0, duplicates: 6 });
      await reopened.close();
    });
  });

  it("refuses a second writer on the same root and takes over a dead process's lock", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      await expect(OfflineStoreWriter.open({ root })).rejects.toMatchObject({ code: "LOCKED" });
      await writer.close();
      // A pid that cannot exist on Linux (above pid_max) stands for a crashed writer.
      await writeFile(join(root, ".writer.lock"), "99999999\n");
      const next = await OfflineStoreWriter.open({ root });
      await next.close();
    });
  });

  it("names the bad field of an unusable record and stores nothing of its batch", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      const good = record(transaction(1, "2024-04-01T00:00:00.000Z"));
      const badTopic = { ...good, topic: "../escape" };
      await expect(writer.write([good, badTopic])).rejects.toThrow(OfflineStoreError);
      await expect(writer.write([good, badTopic])).rejects.toThrow(/records\[1\]\.topic/);
      const badTime = { topic: good.topic, event: { ...good.event, eventTime: "yesterday" } };
      await expect(writer.write([badTime])).rejects.toThrow(/records\[0\]\.event\.eventTime/);
      expect(writer.stats().written).toBe(0);
      await writer.close();
      await expect(writer.write([good])).rejects.toMatchObject({ code: "CLOSED" });
    });
  });
});
