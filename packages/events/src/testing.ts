import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOADS, makeEvent } from "@mlsd/contracts";
import type { TransactionEvent } from "@mlsd/contracts";
import type { EventLogger } from "./logger";

// Helpers shared by this package's unit and integration tests (not exported from index.ts).

/** `count` transaction events spread round-robin over `customers` customers, numbered by `seq` in the id. */
export function transactionEvents(count: number, customers: number, firstSeq = 0): TransactionEvent[] {
  const events: TransactionEvent[] = [];
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    events.push(
      makeEvent(
        "fraud.transaction",
        {
          ...EXAMPLE_PAYLOADS["fraud.transaction"],
          transactionId: `tx-${seq}`,
          customerId: `c-${seq % customers}`,
          amount: (seq % 1000) / 10,
        },
        { producer: "test", eventTime: "2024-04-01T00:00:00.000Z" },
      ),
    );
  }
  return events;
}

/** The transaction sequence number carried in a serialised transaction event. */
export function seqOf(value: Buffer): number {
  const parsed = JSON.parse(value.toString()) as { payload: { transactionId: string } };
  return Number(parsed.payload.transactionId.slice(3));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mlsd-events-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface CapturedLog {
  level: "info" | "warn" | "error";
  fields: Record<string, unknown>;
  msg: string;
}

export function capturingLogger(): EventLogger & { lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const at =
    (level: CapturedLog["level"]) =>
    (fields: object, msg: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, msg });
    };
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}
