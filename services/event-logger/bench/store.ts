/**
 * Offline-store write path of the event logger, in process (no Kafka): events/s appended in
 * consumer-sized batches with and without fsync, the dedup path (a redelivered batch), and the
 * cost of rebuilding an hour's id set after a restart. Medians of 3 runs.
 *
 *   npm run bench          (from services/event-logger; BENCH_EVENTS=200000 for more)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import type { AnyEvent } from "@mlsd/contracts";
import { OfflineStoreWriter } from "@mlsd/offline-store";
import type { StoreRecord } from "@mlsd/offline-store";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 500;
const start = Date.UTC(2024, 3, 1);
// Spread over 4 hours: four partition-hours, like a consumer working through a backlog.
const records: StoreRecord[] = Array.from({ length: EVENTS }, (_, i) => {
  const time = new Date(start + Math.floor((i / EVENTS) * 4 * 3_600_000)).toISOString();
  const event: AnyEvent = makeEvent(
    "fraud.decision",
    { ...EXAMPLE_PAYLOADS["fraud.decision"], transactionId: `tx-${i}`, customerId: `c-${i % 5000}` },
    { producer: "bench", eventTime: time },
  );
  return { topic: TOPICS.fraudDecisions, event };
});

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}

async function writeAll(writer: OfflineStoreWriter): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < records.length; i += BATCH) await writer.write(records.slice(i, i + BATCH));
  return records.length / ((performance.now() - started) / 1000);
}

const rows: [string, number][] = [];
for (const fsync of [true, false]) {
  const fresh: number[] = [];
  const dup: number[] = [];
  const scan: number[] = [];
  for (let r = 0; r < 3; r++) {
    const root = await mkdtemp(join(tmpdir(), "event-logger-bench-"));
    try {
      const writer = await OfflineStoreWriter.open({ root, fsync });
      fresh.push(await writeAll(writer));
      dup.push(await writeAll(writer));
      await writer.close();
      // After a restart every hour's id set is rebuilt from its files on first touch.
      const reopened = await OfflineStoreWriter.open({ root, fsync });
      const started = performance.now();
      for (let h = 0; h < 4; h++) await reopened.write([records[Math.floor((h * EVENTS) / 4)] as StoreRecord]);
      scan.push(records.length / ((performance.now() - started) / 1000));
      await reopened.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  const label = fsync ? "fsync per batch" : "no fsync";
  rows.push([`append new events (${label})`, median(fresh)]);
  rows.push([`redelivered batch, all skipped (${label})`, median(dup)]);
  if (fsync) rows.push(["id-set rebuild after restart (events scanned/s)", median(scan)]);
}

console.log(`\n${EVENTS} fraud.decision events (~${Math.round(JSON.stringify(records[0]?.event).length)} B each), batches of ${BATCH}, 4 partition-hours\n`);
console.log("| path | events/s | us/event |");
console.log("| --- | ---: | ---: |");
for (const [name, rate] of rows) console.log(`| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${(1e6 / rate).toFixed(2)} |`);
