import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { splitCsvLine } from "../csv";
import { TransactionCsvError, importTransactionsCsv, parseUtcDateTime, readTransactionsCsv } from "./csv-read";

const dir = mkdtempSync(join(tmpdir(), "mlsd-transactions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD";

async function errorOf(csv: string): Promise<TransactionCsvError> {
  try {
    await readTransactionsCsv([csv]);
  } catch (e) {
    if (e instanceof TransactionCsvError) return e;
    throw e;
  }
  throw new Error("expected a TransactionCsvError");
}

describe("importTransactionsCsv", () => {
  it("reports a missing file with its path", async () => {
    await expect(importTransactionsCsv(join(dir, "nope.csv"))).rejects.toThrow(/nope\.csv/);
  });
});

describe("readTransactionsCsv", () => {
  it("accepts any column order, extra columns, CRLF, a BOM and quoted fields", async () => {
    const csv =
      "\ufeff,TX_FRAUD,TX_AMOUNT,note,TERMINAL_ID,CUSTOMER_ID,TX_DATETIME,TRANSACTION_ID\r\n" +
      '0,0,57.16,"a, b",3156,596,2018-04-01 00:00:31,0\r\n' +
      '1,1,"81.51","say ""hi""",3412,4961,2018-04-02 00:02:10,1\r\n';
    const t = await readTransactionsCsv([csv]);
    expect(t.length).toBe(2);
    expect(t.originEpochSeconds).toBe(Date.UTC(2018, 3, 1) / 1000);
    expect(Array.from(t.transactionId)).toEqual([0, 1]);
    expect(Array.from(t.customerId)).toEqual([596, 4961]);
    expect(Array.from(t.terminalId)).toEqual([3156, 3412]);
    expect(Array.from(t.amount)).toEqual([57.16, 81.51]);
    expect(Array.from(t.timeSeconds)).toEqual([31, 86530]);
    expect(Array.from(t.timeDays)).toEqual([0, 1]);
    expect(Array.from(t.fraud)).toEqual([0, 1]);
    // No scenario column: 0; no known-at column: the handbook's 7-day delay.
    expect(Array.from(t.fraudScenario)).toEqual([0, 0]);
    expect(Array.from(t.labelKnownAt)).toEqual([31 + 7 * 86400, 86530 + 7 * 86400]);
  });

  it("uses the given label delay and TX_TIME_SECONDS origin", async () => {
    const csv = `TX_TIME_SECONDS,${HEADER}\n3600,7,2020-01-01 01:00:00,1,2,10.5,0\n90000,8,2020-01-02 01:00:00,1,2,11,1\n`;
    const t = await readTransactionsCsv([csv], { labelDelayDays: 2.5 });
    expect(t.originEpochSeconds).toBe(Date.UTC(2020, 0, 1) / 1000);
    expect(Array.from(t.timeSeconds)).toEqual([3600, 90000]);
    expect(Array.from(t.labelKnownAt)).toEqual([3600 + 216000, 90000 + 216000]);
  });

  it("sorts rows that are not in time order", async () => {
    const csv = `${HEADER}\n5,2018-04-03 10:00:00,1,1,5,0\n6,2018-04-01 09:00:00,2,2,6,1\n7,2018-04-02 08:00:00,3,3,7,0\n`;
    const t = await readTransactionsCsv([csv]);
    expect(Array.from(t.transactionId)).toEqual([6, 7, 5]);
    expect(Array.from(t.amount)).toEqual([6, 7, 5]);
    expect(Array.from(t.timeDays)).toEqual([0, 1, 2]);
    expect(Array.from(t.labelKnownAt)).toEqual([9 * 3600 + 7 * 86400, 86400 + 8 * 3600 + 7 * 86400, 2 * 86400 + 10 * 3600 + 7 * 86400]);
  });

  it("gives the same table whatever the chunking, including split multi-byte characters", async () => {
    const csv = `${HEADER},city\n0,2018-04-01 00:00:31,1,2,3.5,0,Zürich\n1,2018-04-01 00:01:00,2,3,4.25,1,Kraków\n`;
    const bytes = new TextEncoder().encode(csv);
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    expect(await readTransactionsCsv(pieces)).toEqual(await readTransactionsCsv([csv]));
  });

  it("reads a file without a trailing newline and skips blank lines", async () => {
    const t = await readTransactionsCsv([`${HEADER}\n\n0,2018-04-01 00:00:31,1,2,3.5,0`]);
    expect(t.length).toBe(1);
  });

  it.each([
    ["empty file", "", 1, undefined, /empty file/],
    ["missing columns", "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TX_AMOUNT\n", 1, "TERMINAL_ID", /missing required column\(s\) TERMINAL_ID, TX_FRAUD/],
    ["duplicate column", `${HEADER},tx_fraud\n`, 1, "tx_fraud", /twice/],
    ["short row", `${HEADER}\n0,2018-04-01 00:00:31,1,2,3.5,0\n1,2018-04-01 00:00:32,1,2,3.5\n`, 3, undefined, /expected 6 fields, found 5/],
    ["non-numeric amount", `${HEADER}\n0,2018-04-01 00:00:31,1,2,abc,0\n`, 2, "TX_AMOUNT", /expected a number, got "abc"/],
    ["empty amount", `${HEADER}\n0,2018-04-01 00:00:31,1,2,,0\n`, 2, "TX_AMOUNT", /expected a number, got ""/],
    ["wrong datetime format", `${HEADER}\n0,2018/04/01 00:00:31,1,2,3.5,0\n`, 2, "TX_DATETIME", /YYYY-MM-DD HH:MM:SS/],
    ["impossible date", `${HEADER}\n0,2018-02-30 00:00:31,1,2,3.5,0\n`, 2, "TX_DATETIME", /2018-02-30/],
    ["negative id", `${HEADER}\n0,2018-04-01 00:00:31,-1,2,3.5,0\n`, 2, "CUSTOMER_ID", /integer/],
    ["fractional id", `${HEADER}\n0,2018-04-01 00:00:31,1,2.5,3.5,0\n`, 2, "TERMINAL_ID", /integer/],
    ["fraud label 2", `${HEADER}\n0,2018-04-01 00:00:31,1,2,3.5,2\n`, 2, "TX_FRAUD", /0 or 1/],
    ["scenario on a legitimate row", `${HEADER},TX_FRAUD_SCENARIO\n0,2018-04-01 00:00:31,1,2,3.5,0,2\n`, 2, "TX_FRAUD_SCENARIO", /legitimate/],
    ["label known before the transaction", `${HEADER},TX_FRAUD_KNOWN_AT\n0,2018-04-01 00:00:31,1,2,3.5,1,2018-03-31 00:00:00\n`, 2, "TX_FRAUD_KNOWN_AT", /before the transaction/],
    ["inconsistent TX_TIME_SECONDS", `${HEADER},TX_TIME_SECONDS\n0,2018-04-01 00:00:31,1,2,3.5,0,31\n1,2018-04-01 00:00:40,1,2,3.5,0,100\n`, 3, "TX_TIME_SECONDS", /disagrees with TX_DATETIME/],
    ["inconsistent TX_TIME_DAYS", `${HEADER},TX_TIME_DAYS\n0,2018-04-01 00:00:31,1,2,3.5,0,0\n\n1,2018-04-02 00:00:40,1,2,3.5,0,0\n`, 4, "TX_TIME_DAYS", /0 but TX_TIME_SECONDS 86440 is in day 1/],
    ["open quote", `${HEADER}\n0,"2018-04-01 00:00:31,1,2,3.5,0\n`, 2, undefined, /unterminated/],
  ])("rejects %s at line %i, column %s", async (_case, csv, line, column, message) => {
    const e = await errorOf(csv);
    expect(e.line).toBe(line);
    expect(e.column).toBe(column);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`csv:${line}`);
  });
});

describe("CSV helpers", () => {
  it("parses UTC datetimes strictly", () => {
    expect(parseUtcDateTime("2018-04-01 00:00:31")).toBe(Date.UTC(2018, 3, 1, 0, 0, 31) / 1000);
    expect(parseUtcDateTime("2020-02-29T23:59:59")).toBe(Date.UTC(2020, 1, 29, 23, 59, 59) / 1000);
    expect(parseUtcDateTime("2019-02-29 00:00:00")).toBeNaN();
    expect(parseUtcDateTime("2018-04-01 24:00:00")).toBeNaN();
    expect(parseUtcDateTime("2018-04-01 00:00")).toBeNaN();
    expect(parseUtcDateTime("0018-04-01 00:00:00")).toBeNaN();
    expect(parseUtcDateTime("2018-4-01 00:00:001")).toBeNaN();
  });

  it("splits quoted CSV fields", () => {
    expect(splitCsvLine("a,b,,c")).toEqual(["a", "b", "", "c"]);
    expect(splitCsvLine('"x, y",2,"say ""hi"""')).toEqual(["x, y", "2", 'say "hi"']);
    expect(splitCsvLine('1,""')).toEqual(["1", ""]);
    expect(splitCsvLine('1,"open')).toBeUndefined();
    expect(splitCsvLine('"quoted"trailing,2')).toBeUndefined();
  });
});
