import { describe, expect, it } from "vitest";
import { SECONDS_PER_DAY, simulateTransactions } from "./simulate";
import { DEFAULT_SPLIT, labelsKnownAt, rowsInDays, timeSplit, trueLabels } from "./split";
import { createFraudWorld } from "./world";

const table = simulateTransactions(createFraudWorld({ customers: 300, terminals: 600, days: 60, seed: 3 }));

describe("timeSplit", () => {
  it("puts train, validation, a delay and test at the end of the history, in time order", () => {
    const s = timeSplit(table);
    expect(s.test).toEqual([53, 60]);
    expect(s.valid).toEqual([39, 46]);
    expect(s.train).toEqual([11, 39]);
    expect(s.cutoffMs).toBe((table.originEpochSeconds + 53 * SECONDS_PER_DAY) * 1000);
    for (const [rows, [from, to]] of [[s.rows.train, s.train], [s.rows.valid, s.valid], [s.rows.test, s.test]] as const) {
      expect(rows.length).toBeGreaterThan(0);
      for (const i of rows) expect(table.timeDays[i]! >= from && table.timeDays[i]! < to).toBe(true);
    }
    expect(s.rows.test).toEqual(rowsInDays(table, 53, 60));
  });

  it("refuses a history too short for the split", () => {
    expect(() => timeSplit(table, { ...DEFAULT_SPLIT, trainDays: 50 })).toThrow(/needs 71/);
  });
});

describe("labelsKnownAt", () => {
  it("hides frauds whose label arrives after the cutoff, and trueLabels keeps them", () => {
    const rows = rowsInDays(table, 40, 50);
    const cutoff = (table.originEpochSeconds + 50 * SECONDS_PER_DAY) * 1000;
    const known = labelsKnownAt(table, rows, cutoff);
    const truth = trueLabels(table, rows);
    const frauds = truth.reduce((a, b) => a + b, 0);
    const knownFrauds = known.labels.reduce((a, b) => a + b, 0);
    // Labels take 7 days: frauds of days 43-49 are not known at day 50.
    const late = Array.from(rows).filter((i) => table.fraud[i] === 1 && table.timeDays[i]! >= 43).length;
    expect(known.hidden).toBe(late);
    expect(knownFrauds).toBe(frauds - late);
    expect(late).toBeGreaterThan(0);
  });
});
