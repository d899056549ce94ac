import { labelsKnownAt, TransactionTableBuilder, type TransactionTable } from "@mlsd/datasets";
import { describe, expect, it } from "vitest";
import {
  dateOfDay,
  dayOf,
  foldCutoffMs,
  foldRows,
  knownCompromisedCards,
  ProtocolError,
  protocolSpan,
  resolveProtocol,
  SECONDS_PER_DAY,
  testFolds,
  validationFolds,
  type ProtocolSpec,
} from "./protocol";

const ORIGIN = Date.UTC(2018, 3, 1) / 1000; // 2018-04-01, the handbook's day 0
const HANDBOOK_DATA = { originEpochSeconds: ORIGIN, days: 183 };

interface Row {
  day: number;
  /** Seconds into the day. */
  at?: number;
  card: number;
  fraud?: boolean;
  /** Seconds after the transaction that its label is known (default 7 days). */
  delay?: number;
}

/** Rows in time order; transaction ids are the row numbers. */
function table(rows: Row[]): TransactionTable {
  const builder = new TransactionTableBuilder(ORIGIN);
  const sorted = [...rows].sort((a, b) => a.day * SECONDS_PER_DAY + (a.at ?? 0) - (b.day * SECONDS_PER_DAY + (b.at ?? 0)));
  sorted.forEach((r, i) => {
    const t = r.day * SECONDS_PER_DAY + (r.at ?? 3600);
    builder.push({
      transactionId: i,
      customerId: r.card,
      terminalId: 1,
      amount: 10,
      timeSeconds: t,
      timeDays: r.day,
      fraud: r.fraud ? 1 : 0,
      fraudScenario: 0,
      labelKnownAt: t + (r.delay ?? 7 * SECONDS_PER_DAY),
    });
  });
  return builder.finish();
}

const ids = (t: TransactionTable, rows: Int32Array) => Array.from(rows, (i) => t.transactionId[i] as number);
const spec = (over: Partial<ProtocolSpec>): ProtocolSpec => ({ trainStart: 0, trainDays: 2, delayDays: 1, testDays: 2, testFolds: 1, folds: 1, validDays: 2, knownCompromised: "drop", ...over });

describe("resolveProtocol", () => {
  it("defaults to the handbook's windows: train 2018-07-25 + 7 days, delay 7, test week 2018-08-08, 4 validation folds", () => {
    const s = resolveProtocol({}, HANDBOOK_DATA);
    expect(s).toEqual({ trainStart: 115, trainDays: 7, delayDays: 7, testDays: 7, testFolds: 1, folds: 4, validDays: 7, knownCompromised: "drop" });
    expect(dateOfDay(s.trainStart, ORIGIN)).toBe("2018-07-25");
    const [t] = testFolds(s);
    expect(t).toEqual({ train: { from: 115, to: 122 }, delay: { from: 122, to: 129 }, assess: { from: 129, to: 136 } });
    expect(dateOfDay(129, ORIGIN)).toBe("2018-08-08");
  });

  it("slides validation folds back from the delay period before the test, as the handbook's chapter 5 (training from 2018-07-11, then 07-04, 06-27, 06-20)", () => {
    const folds = validationFolds(resolveProtocol({}, HANDBOOK_DATA));
    expect(folds.map((f) => [dateOfDay(f.train.from, ORIGIN), dateOfDay(f.assess.from, ORIGIN), dateOfDay(f.assess.to - 1, ORIGIN)])).toEqual([
      ["2018-07-11", "2018-07-25", "2018-07-31"],
      ["2018-07-04", "2018-07-18", "2018-07-24"],
      ["2018-06-27", "2018-07-11", "2018-07-17"],
      ["2018-06-20", "2018-07-04", "2018-07-10"],
    ]);
    for (const f of folds) expect(f.assess.from - f.train.to).toBe(7);
  });

  it("places test folds one test window apart (the handbook's four test weeks from 2018-08-08)", () => {
    const s = resolveProtocol({ testFolds: 4 }, HANDBOOK_DATA);
    expect(testFolds(s).map((f) => [dateOfDay(f.train.from, ORIGIN), dateOfDay(f.assess.from, ORIGIN)])).toEqual([
      ["2018-07-25", "2018-08-08"],
      ["2018-08-01", "2018-08-15"],
      ["2018-08-08", "2018-08-22"],
      ["2018-08-15", "2018-08-29"],
    ]);
  });

  it.each([
    ["trainStart as a date", { trainStart: "2018-06-01" }, { trainStart: 61 }],
    ["trainStart as a day number", { trainStart: 61 }, { trainStart: 61 }],
    ["trainStart as a numeric string", { trainStart: "61" }, { trainStart: 61 }],
    ["testStart sets the training start before it", { testStart: "2018-08-15" }, { trainStart: 122 }],
    ["trainDays moves the default training start back", { trainDays: 28 }, { trainStart: 94, trainDays: 28 }],
    ["delayDays", { delayDays: 3 }, { trainStart: 119, delayDays: 3 }],
    ["testDays (and validation days follow)", { testDays: 3 }, { testDays: 3, validDays: 3 }],
    ["validDays alone", { validDays: 5 }, { validDays: 5 }],
    ["folds", { folds: 2 }, { folds: 2 }],
    ["testFolds", { testFolds: 3 }, { testFolds: 3 }],
    ["known-compromised cards kept", { knownCompromised: "keep" as const }, { knownCompromised: "keep" }],
  ])("takes %s", (_name, input, expected) => {
    expect(resolveProtocol(input, HANDBOOK_DATA)).toMatchObject(expected);
  });

  it("accepts a training start and a test start that agree, and names both when they do not", () => {
    expect(resolveProtocol({ trainStart: "2018-07-25", testStart: "2018-08-08" }, HANDBOOK_DATA).trainStart).toBe(115);
    expect(() => resolveProtocol({ trainStart: "2018-07-25", testStart: "2018-08-09" }, HANDBOOK_DATA)).toThrow(/gives test start 2018-08-08, not 2018-08-09/);
  });

  it("falls back to the end of a history that does not reach the handbook's test week", () => {
    const s = resolveProtocol({}, { originEpochSeconds: ORIGIN, days: 60 });
    expect(testFolds(s)[0]?.assess).toEqual({ from: 53, to: 60 });
    expect(protocolSpan(s)).toEqual({ from: 4, to: 60 });
  });

  it("refuses windows outside the data, bad dates and bad lengths", () => {
    expect(() => resolveProtocol({ testStart: "2018-09-28" }, HANDBOOK_DATA)).toThrow(/needs days 131 .. 186 .*data has days 0 .. 182/);
    expect(() => resolveProtocol({}, { originEpochSeconds: ORIGIN, days: 40 })).toThrow(ProtocolError);
    expect(() => resolveProtocol({ trainStart: "2018-02-30" }, HANDBOOK_DATA)).toThrow(/train start: expected a date YYYY-MM-DD/);
    expect(() => resolveProtocol({ trainDays: 0 }, HANDBOOK_DATA)).toThrow(/train days: must be an integer >= 1/);
    expect(() => resolveProtocol({ delayDays: -1 }, HANDBOOK_DATA)).toThrow(/delay days: must be an integer >= 0/);
    expect(() => dayOf(1.5, ORIGIN, "x")).toThrow(/integer/);
  });
});

describe("foldRows and the known-compromised filter", () => {
  // Cards 1 and 3: fraud on day 0, known on day 7. Card 2: fraud on day 2, known on day 9.
  // Card 4: fraud on day 3, known an hour later. Card 5: never fraud.
  const t = table([
    { day: 0, card: 1, fraud: true },
    { day: 0, card: 3, fraud: true },
    { day: 1, card: 5 },
    { day: 2, card: 2, fraud: true },
    { day: 3, card: 4, fraud: true, delay: 3600 },
    { day: 4, card: 1 },
    { day: 4, card: 4 },
    { day: 4, card: 5 },
    { day: 5, card: 2 },
    { day: 5, card: 5 },
  ]);

  it("splits train, delay and test windows by day and drops cards whose fraud label was known before the day began", () => {
    const windows = { train: { from: 0, to: 2 }, delay: { from: 2, to: 4 }, assess: { from: 4, to: 6 } };
    const drop = foldRows(t, windows, "drop");
    expect(ids(t, drop.train)).toEqual([0, 1, 2]);
    // Card 4 was known within the hour of day 3; cards 1 and 2 only from day 7 and 9.
    expect(ids(t, drop.assess)).toEqual([5, 7, 8, 9]);
    expect(ids(t, drop.dropped)).toEqual([6]);
    expect(drop.cutoffSeconds).toBe(4 * SECONDS_PER_DAY);
    const keep = foldRows(t, windows, "keep");
    expect(ids(t, keep.assess)).toEqual([5, 6, 7, 8, 9]);
    expect(keep.dropped.length).toBe(0);
  });

  it("follows the 7-day label delay exactly as the handbook: frauds up to 8 days before the test day", () => {
    const long = table([
      { day: 0, card: 1, fraud: true, at: 23 * 3600 },
      { day: 1, card: 2, fraud: true, at: 0 },
      { day: 8, card: 1 },
      { day: 8, card: 2 },
      { day: 9, card: 2 },
    ]);
    // Day 8: card 1's label (day 0, 23:00 + 7 d = day 7 23:00) is known; card 2's (day 1 00:00 + 7 d = day 8 00:00) only as the day begins.
    expect([...knownCompromisedCards(long, 0, 8)]).toEqual([1]);
    expect([...knownCompromisedCards(long, 0, 9)].sort()).toEqual([1, 2]);
    const f = foldRows(long, { train: { from: 0, to: 2 }, delay: { from: 2, to: 8 }, assess: { from: 8, to: 10 } }, "drop");
    expect(ids(long, f.assess)).toEqual([3]);
    expect(ids(long, f.dropped)).toEqual([2, 4]);
  });

  it("counts only frauds since the training window's start", () => {
    expect([...knownCompromisedCards(t, 1, 20)].sort()).toEqual([2, 4]);
    expect([...knownCompromisedCards(t, 0, 20)].sort()).toEqual([1, 2, 3, 4]);
    const f = foldRows(t, { train: { from: 1, to: 3 }, delay: { from: 3, to: 4 }, assess: { from: 4, to: 6 } }, "drop");
    expect(ids(t, f.train)).toEqual([2, 3]);
    expect(ids(t, f.dropped)).toEqual([6]);
  });

  it("trains on the labels known at the cutoff", () => {
    const rows = Int32Array.from([0, 1, 3, 4]);
    const at = (cutoffSeconds: number) => labelsKnownAt(t, rows, foldCutoffMs(t, { cutoffSeconds }));
    expect(Array.from(at(7 * SECONDS_PER_DAY).labels)).toEqual([0, 0, 0, 1]);
    expect(at(7 * SECONDS_PER_DAY).hidden).toBe(3);
    expect(Array.from(at(7 * SECONDS_PER_DAY + 3600).labels)).toEqual([1, 1, 0, 1]);
  });

  it("cuts every validation and test fold of a spec from the same table", () => {
    const s = spec({ trainStart: 2, trainDays: 1, delayDays: 1, testDays: 1, validDays: 1, folds: 2 });
    expect(testFolds(s)).toEqual([{ train: { from: 2, to: 3 }, delay: { from: 3, to: 4 }, assess: { from: 4, to: 5 } }]);
    expect(validationFolds(s)).toEqual([
      { train: { from: 0, to: 1 }, delay: { from: 1, to: 2 }, assess: { from: 2, to: 3 } },
      { train: { from: -1, to: 0 }, delay: { from: 0, to: 1 }, assess: { from: 1, to: 2 } },
    ]);
    expect(ids(t, foldRows(t, validationFolds(s)[0]!, "drop").assess)).toEqual([3]);
  });
});
