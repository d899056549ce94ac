import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent, topicFor } from "@mlsd/contracts";
import type { TransactionEvent } from "@mlsd/contracts";
import type { StoreRecord } from "./writer";

// Helpers for this package's tests (not exported from index.ts).

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mlsd-offline-store-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A transaction event at `time`, numbered by `seq` in its transaction id. */
export function transaction(seq: number, time: string): TransactionEvent {
  return makeEvent(
    "fraud.transaction",
    { ...EXAMPLE_PAYLOADS["fraud.transaction"], transactionId: `tx-${seq}`, customerId: `c-${seq % 7}`, time },
    { producer: "test", eventTime: time },
  );
}

export function record(event: TransactionEvent): StoreRecord {
  return { topic: topicFor(event.type), event };
}
