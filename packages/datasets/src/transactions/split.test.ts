import { describe, expect, it } from "vitest";
import { DEFAULT_SPLIT, labelsKnownAt, rowsInDays, timeSplit, trueLabels } from "./split";
import { TransactionTableBuilder } from "./table";

const DAY = 86_400;
const ORIGIN = Date.UTC(2018, 3, 1) / 1000;

/** 60 days, 10 transactions a day; every 5th is fraud, its label known 7 days later. */
function table() {
  const b = new TransactionTableBuilder(ORIGIN, 16);
  let id = 0;
  for (let d = 0; d < 60; d++) {
    for (let k = 0; k < 10; k++) {
      const t = d * DAY + k * 3600;
      const fraud = id % 5 === 0 ? 1 : 0;
      b.push({ transactionId: id, customerId: k, terminalId: k, amount: 10, timeSeconds: t, timeDays: d, fraud, fraudScenario: fraud, labelKnownAt: t + 7 * DAY });
      id++;
    }
  }
  return b.finish();
}

describe("timeSplit", () => {
  const t = table();

  it("puts train, validation, a delay and test at the end of the history, in time order", () => {
    const s = timeSplit(t);
    expect(s.test).toEqual([53, 60]);
    expect(s.valid).toEqual([39, 46]);
    expect(s.train).toEqual([11, 39]);
    expect(s.cutoffMs).toBe((ORIGIN + 53 * DAY) * 1000);
    expect(s.rows.train.length).toBe(280);
    expect(s.rows.valid.length).toBe(70);
    expect(s.rows.test).toEqual(rowsInDays(t, 53, 60));
    expect(s.rows.test[0]).toBe(530);
  });

  it("refuses a history too short for the split", () => {
    expect(() => timeSplit(t, { ...DEFAULT_SPLIT, trainDays: 50 })).toThrow(/needs 71/);
  });
});

describe("labelsKnownAt", () => {
  it("hides frauds whose label arrives after the cutoff, and trueLabels keeps them", () => {
    const t = table();
    const rows = rowsInDays(t, 40, 50);
    const known = labelsKnownAt(t, rows, (ORIGIN + 50 * DAY) * 1000);
    // Frauds of days 44-49 (2 a day) and day 43's 05:00 one are labelled after the cutoff;
    // day 43's midnight fraud is labelled exactly at it, which counts as known.
    expect(known.hidden).toBe(13);
    expect(known.labels.reduce((a, b) => a + b, 0)).toBe(7);
    expect(trueLabels(t, rows).reduce((a, b) => a + b, 0)).toBe(20);
  });
});
