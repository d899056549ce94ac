import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { EventEmitter } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importTransactionsCsv, TRANSACTION_COLUMNS, TRANSACTION_CSV_COLUMNS, transactionCsvLines, writeTransactionsCsv, type TransactionTable } from "@mlsd/datasets";
import { afterAll, describe, expect, it } from "vitest";
import { simulateTransactions, streamTransactionDays } from "./simulate";
import { createFraudWorld } from "./world";

// The simulator writes the handbook's transaction CSV through @mlsd/datasets, and the importer
// reads it back: the round trip is tested here, where both sides are available.
const dir = mkdtempSync(join(tmpdir(), "mlsd-synth-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Column-by-column equality that names the first differing cell (toEqual is slow on 80k-row typed arrays). */
function expectSameTable(actual: TransactionTable, expected: TransactionTable): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.originEpochSeconds).toBe(expected.originEpochSeconds);
  for (const name of TRANSACTION_COLUMNS) {
    const a = actual[name];
    const e = expected[name];
    expect(a.constructor).toBe(e.constructor);
    const first = a.findIndex((v, i) => !Object.is(v, e[i]));
    expect(first === -1 ? "same" : `${name}[${first}] = ${a[first]}, expected ${e[first]}`).toBe("same");
  }
}

describe("writeTransactionsCsv", () => {
  it("streams a header and every day, waiting for drain when the sink is full", async () => {
    const world = createFraudWorld({ customers: 100, terminals: 200, days: 8, seed: 3 });
    const chunks: string[] = [];
    let drains = 0;
    const sink = Object.assign(new EventEmitter(), {
      write(chunk: string | Uint8Array): boolean {
        chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("latin1"));
        // Report a full buffer on every other write and drain on the next tick.
        if (chunks.length % 2 === 0) {
          setImmediate(() => {
            drains++;
            sink.emit("drain");
          });
          return false;
        }
        return true;
      },
    });
    const progress: number[] = [];
    const rows = await writeTransactionsCsv(streamTransactionDays(world), sink, (n) => progress.push(n));
    const table = simulateTransactions(world);
    expect(rows).toBe(table.length);
    expect(progress).toHaveLength(8);
    expect(progress[7]).toBe(table.length);
    expect(drains).toBe(Math.floor(chunks.length / 2));
    const lines = chunks.join("").split("\n");
    expect(lines[0]).toBe(TRANSACTION_CSV_COLUMNS.join(","));
    expect(lines).toHaveLength(table.length + 2);
    expect(lines[table.length + 1]).toBe("");
    expect(chunks.slice(1).join("")).toBe(transactionCsvLines(table));
  });
});

describe("importTransactionsCsv", () => {
  it("round-trips the simulator: simulate -> CSV file -> import equals the original", async () => {
    const world = createFraudWorld({ customers: 1000, terminals: 2000, days: 40, seed: 21, labelDelay: { minDays: 1, maxDays: 20 } });
    const path = join(dir, "world.csv");
    const out = createWriteStream(path);
    const closed = new Promise<void>((resolve) => out.on("close", () => resolve()));
    await writeTransactionsCsv(streamTransactionDays(world), out);
    out.end();
    await closed;
    const progress: number[] = [];
    const imported = await importTransactionsCsv(path, { onRows: (n) => progress.push(n) });
    const original = simulateTransactions(world);
    expect(original.length).toBeGreaterThan(65536);
    expectSameTable(imported, original);
    expect(progress).toEqual([65536]);
  });

});
