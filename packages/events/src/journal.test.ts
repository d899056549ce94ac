import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal, JournalLockedError } from "./journal";
import type { JournalOptions } from "./journal";
import { silentEventLogger } from "./logger";
import type { SizedRecord } from "./record";
import { withTempDir } from "./testing";

function records(from: number, count: number): SizedRecord[] {
  return Array.from({ length: count }, (_, i) => {
    // Fixed-width values, so every journal line has the same length (LINE).
    const value = Buffer.from(JSON.stringify({ n: from + i, pad: "x".repeat(44 - String(from + i).length) }));
    return { topic: "fraud.transactions.v1", key: `c-${(from + i) % 5}`, value, bytes: value.length };
  });
}

const LINE = Buffer.byteLength(`{"topic":"fraud.transactions.v1","key":"c-0","event":${records(0, 1)[0]!.value.toString()}}\n`);
const numbers = (rs: SizedRecord[]): number[] => rs.map((r) => (JSON.parse(r.value.toString()) as { n: number }).n);

function options(dir: string, overrides: Partial<JournalOptions> = {}): JournalOptions {
  return { dir, segmentBytes: 1_000, maxBytes: 1_000_000, fsyncIntervalMs: 0, logger: silentEventLogger, ...overrides };
}

async function drain(journal: Journal, batch = 7): Promise<number[]> {
  const seen: number[] = [];
  while (journal.pendingRecords > 0) {
    const read = await journal.read(batch, Number.POSITIVE_INFINITY);
    seen.push(...numbers(read.records));
    await journal.commit(read);
  }
  return seen;
}

const segmentFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((f) => f.startsWith("segment-"));

describe("Journal", () => {
  it("reads back in append order across segment rolls and deletes segments once delivered", async () => {
    await withTempDir(async (dir) => {
      const { journal } = await Journal.open(options(dir));
      expect(await journal.append(records(0, 40))).toBe(40);
      expect(await journal.append(records(40, 20))).toBe(20);
      const perSegment = Math.floor(1_000 / LINE);
      expect((await segmentFiles(dir)).length).toBe(Math.ceil(60 / perSegment));
      const first = await journal.read(25, Number.POSITIVE_INFINITY);
      expect(numbers(first.records)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      await journal.commit(first);
      expect(journal.pendingRecords).toBe(35);
      expect((await segmentFiles(dir)).length).toBe(Math.ceil(60 / perSegment) - Math.floor(25 / perSegment));
      expect(await drain(journal)).toEqual(Array.from({ length: 35 }, (_, i) => 25 + i));
      expect(await segmentFiles(dir)).toEqual([]);
      expect(journal.bytes).toBe(0);
      // Appends after a full drain start a fresh segment.
      await journal.append(records(60, 3));
      expect(await drain(journal)).toEqual([60, 61, 62]);
      await journal.close();
    });
  });

  it("a read without a commit is read again", async () => {
    await withTempDir(async (dir) => {
      const { journal } = await Journal.open(options(dir));
      await journal.append(records(0, 5));
      const once = await journal.read(3, Number.POSITIVE_INFINITY);
      const again = await journal.read(3, Number.POSITIVE_INFINITY);
      expect(numbers(again.records)).toEqual(numbers(once.records));
      expect(numbers(once.records)).toEqual([0, 1, 2]);
      await journal.close();
    });
  });

  it("resumes from the persisted cursor after close and reopen", async () => {
    await withTempDir(async (dir) => {
      const a = await Journal.open(options(dir));
      await a.journal.append(records(0, 30));
      await a.journal.commit(await a.journal.read(12, Number.POSITIVE_INFINITY));
      await a.journal.close();
      const b = await Journal.open(options(dir));
      const perSegment = Math.floor(1_000 / LINE);
      const segments = Math.ceil(30 / perSegment) - Math.floor(12 / perSegment);
      expect(b.recovery).toEqual({ segments, pendingRecords: 18, tornBytes: 0, staleLockPid: null });
      expect(await drain(b.journal)).toEqual(Array.from({ length: 18 }, (_, i) => 12 + i));
      await b.journal.close();
    });
  });

  it("refuses the records that would pass its size bound, always keeping a prefix", async () => {
    await withTempDir(async (dir) => {
      const { journal } = await Journal.open(options(dir, { maxBytes: 500 }));
      const fits = Math.floor(500 / LINE);
      expect(await journal.append(records(0, 3))).toBe(3);
      expect(await journal.append(records(3, 10))).toBe(fits - 3);
      expect(journal.bytes).toBe(fits * LINE);
      expect(await drain(journal)).toEqual(Array.from({ length: fits }, (_, i) => i));
      expect(await journal.append(records(20, 2))).toBe(2);
      await journal.close();
    });
  });

  it("cuts a torn last line and skips a corrupt one, counting it", async () => {
    await withTempDir(async (dir) => {
      const good = records(0, 3).map((r) => `{"topic":"${r.topic}","key":"${r.key}","event":${r.value.toString()}}\n`);
      const content = good[0]! + "{this is not json}\n" + good[1]! + good[2]! + '{"topic":"fraud.trans';
      await writeFile(join(dir, "segment-000000000004.ndjson"), content);
      const { journal, recovery } = await Journal.open(options(dir));
      expect(recovery.tornBytes).toBe('{"topic":"fraud.trans'.length);
      expect(recovery.pendingRecords).toBe(4);
      const batch = await journal.read(10, Number.POSITIVE_INFINITY);
      expect(numbers(batch.records)).toEqual([0, 1, 2]);
      expect(batch.corrupt).toBe(1);
      expect(batch.lines).toBe(4);
      await journal.commit(batch);
      expect(journal.pendingRecords).toBe(0);
      await journal.append(records(9, 1));
      expect(await drain(journal)).toEqual([9]);
      await journal.close();
    });
  });

  it("deletes segments a crash left behind the cursor", async () => {
    await withTempDir(async (dir) => {
      const line = (n: number): string => {
        const [r] = records(n, 1);
        return `{"topic":"${r!.topic}","key":"${r!.key}","event":${r!.value.toString()}}\n`;
      };
      await writeFile(join(dir, "segment-000000000001.ndjson"), line(0) + line(1));
      await writeFile(join(dir, "segment-000000000002.ndjson"), line(2) + line(3));
      // The crash hit after the cursor moved past segment 1 (and one line of 2) but before the delete.
      await writeFile(join(dir, "cursor.json"), JSON.stringify({ segment: 2, offset: Buffer.byteLength(line(2)) }));
      const { journal, recovery } = await Journal.open(options(dir));
      expect(recovery.pendingRecords).toBe(1);
      expect(await segmentFiles(dir)).toEqual(["segment-000000000002.ndjson"]);
      expect(await drain(journal)).toEqual([3]);
      await journal.close();
    });
  });

  it("keeps a second opener out while the first holds the lock, and takes over a dead owner's lock", async () => {
    await withTempDir(async (dir) => {
      const { journal } = await Journal.open(options(dir));
      await expect(Journal.open(options(dir))).rejects.toBeInstanceOf(JournalLockedError);
      await journal.close();
      // A pid that cannot be alive (above Linux's pid_max limit).
      await writeFile(join(dir, "journal.lock"), "4194305");
      const reopened = await Journal.open(options(dir));
      expect(reopened.recovery.staleLockPid).toBe(4194305);
      expect(await readFile(join(dir, "journal.lock"), "utf8")).toBe(String(process.pid));
      await reopened.journal.close();
    });
  });
});
