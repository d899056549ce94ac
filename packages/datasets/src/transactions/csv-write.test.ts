import { describe, expect, it } from "vitest";
import { TRANSACTION_CSV_COLUMNS, formatUtcDateTime, transactionCsvLines } from "./csv-write";
import { TransactionTableBuilder } from "./table";

describe("formatUtcDateTime", () => {
  it("writes YYYY-MM-DD HH:MM:SS in UTC", () => {
    expect(formatUtcDateTime(Date.UTC(2018, 3, 1, 0, 0, 31) / 1000)).toBe("2018-04-01 00:00:31");
    expect(formatUtcDateTime(Date.UTC(2020, 1, 29, 23, 59, 59) / 1000 + 0.9)).toBe("2020-02-29 23:59:59");
    expect(formatUtcDateTime(Date.UTC(1969, 11, 31, 12, 5, 7) / 1000)).toBe("1969-12-31 12:05:07");
  });
});

describe("transactionCsvLines", () => {
  it("writes the handbook columns then scenario and label time", () => {
    const b = new TransactionTableBuilder(Date.UTC(2018, 3, 1) / 1000);
    b.push({ transactionId: 0, customerId: 596, terminalId: 3156, amount: 57.16, timeSeconds: 31, timeDays: 0, fraud: 0, fraudScenario: 0, labelKnownAt: 31 + 7 * 86400 });
    b.push({ transactionId: 1, customerId: 4961, terminalId: 3412, amount: 1181.5, timeSeconds: 86400 + 130, timeDays: 1, fraud: 1, fraudScenario: 3, labelKnownAt: 86400 + 130 + 3.5 * 86400 });
    expect(TRANSACTION_CSV_COLUMNS.join(",")).toBe(
      "TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS,TX_FRAUD,TX_FRAUD_SCENARIO,TX_FRAUD_KNOWN_AT",
    );
    expect(transactionCsvLines(b.finish())).toBe(
      "0,2018-04-01 00:00:31,596,3156,57.16,31,0,0,0,2018-04-08 00:00:31\n" +
        "1,2018-04-02 00:02:10,4961,3412,1181.5,86530,1,1,3,2018-04-05 12:02:10\n",
    );
  });
});
