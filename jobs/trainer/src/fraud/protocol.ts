import type { TransactionTable } from "@mlsd/datasets";

/**
 * The evaluation protocol of the fraud-detection handbook (Le Borgne et al., chapters 3 and 5),
 * in whole UTC days counted from the table's origin (day 0):
 *
 *   train window | delay period | test window
 *
 * The delay period separates training from test because its labels are not known yet when the
 * model is deployed at the start of the test window. Hyper-parameters are chosen by prequential
 * validation: folds with the same shape, sliding back in time from the delay period before the
 * test, each scored on its own validation window and never on the test.
 */

export const SECONDS_PER_DAY = 86_400;

/** The handbook's baseline test week (chapter 3) and first prequential test fold (chapter 5). */
export const HANDBOOK_TEST_START = "2018-08-08";

/** What to do with the assessed rows of cards already known to be compromised. */
export type KnownCompromisedMode = "drop" | "keep";

export interface ProtocolSpec {
  /** First day of the (first) training window. */
  trainStart: number;
  trainDays: number;
  delayDays: number;
  testDays: number;
  /** Test windows, each `testDays` after the previous, each with its own model (the handbook's chapter 5 uses 4). */
  testFolds: number;
  /** Prequential validation folds. */
  folds: number;
  validDays: number;
  knownCompromised: KnownCompromisedMode;
}

export const DEFAULT_PROTOCOL = Object.freeze({
  trainDays: 7,
  delayDays: 7,
  testDays: 7,
  testFolds: 1,
  folds: 4,
  knownCompromised: "drop" as KnownCompromisedMode,
});

/** Days [from, to). */
export interface DayRange {
  from: number;
  to: number;
}

/** One train / delay / assessment layout: a test fold or a validation fold. */
export interface FoldWindows {
  train: DayRange;
  delay: DayRange;
  /** The test window of a test fold, the validation window of a validation fold. */
  assess: DayRange;
}

export function testStartOf(spec: Pick<ProtocolSpec, "trainStart" | "trainDays" | "delayDays">): number {
  return spec.trainStart + spec.trainDays + spec.delayDays;
}

function layout(trainStart: number, trainDays: number, delayDays: number, assessDays: number): FoldWindows {
  const trainEnd = trainStart + trainDays;
  const assessStart = trainEnd + delayDays;
  return { train: { from: trainStart, to: trainEnd }, delay: { from: trainEnd, to: assessStart }, assess: { from: assessStart, to: assessStart + assessDays } };
}

/** Test fold j trains `j * testDays` later than the first; fold 0 is the model that gets published. */
export function testFolds(spec: ProtocolSpec): FoldWindows[] {
  return Array.from({ length: spec.testFolds }, (_, j) => layout(spec.trainStart + j * spec.testDays, spec.trainDays, spec.delayDays, spec.testDays));
}

/**
 * Validation fold 0 ends where the delay period before the test begins (its labels are the newest
 * ones known at deployment); fold k is `k * validDays` older. Each keeps the delay period between
 * its training and validation windows. With the handbook's 7/7/7 days and training from 2018-07-25,
 * fold 0 trains from 2018-07-11 and validates on 2018-07-25 .. 2018-07-31, as in its chapter 5.
 */
export function validationFolds(spec: ProtocolSpec): FoldWindows[] {
  const validEnd = testStartOf(spec) - spec.delayDays;
  return Array.from({ length: spec.folds }, (_, k) => {
    const validStart = validEnd - (k + 1) * spec.validDays;
    return layout(validStart - spec.delayDays - spec.trainDays, spec.trainDays, spec.delayDays, spec.validDays);
  });
}

/** The first and last (exclusive) day any fold touches. */
export function protocolSpan(spec: ProtocolSpec): DayRange {
  const all = [...testFolds(spec), ...validationFolds(spec)];
  return { from: Math.min(...all.map((f) => f.train.from)), to: Math.max(...all.map((f) => f.assess.to)) };
}

/** A day as `YYYY-MM-DD` (UTC) or as a day number counted from the data's first day. */
export type DayRef = string | number;

export interface ProtocolInput {
  trainStart?: DayRef;
  trainDays?: number;
  delayDays?: number;
  testStart?: DayRef;
  testDays?: number;
  testFolds?: number;
  folds?: number;
  /** Default: `testDays` (the handbook's delta_assessment). */
  validDays?: number;
  knownCompromised?: KnownCompromisedMode;
}

export class ProtocolError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function dayOf(ref: DayRef, originEpochSeconds: number, name: string): number {
  if (typeof ref === "number") {
    if (!Number.isInteger(ref)) throw new ProtocolError(`${name}: a day number must be an integer, got ${ref}`);
    return ref;
  }
  if (/^-?\d+$/.test(ref)) return Number(ref);
  const m = DATE.exec(ref);
  const epoch = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000 : Number.NaN;
  if (!m || new Date(epoch * 1000).toISOString().slice(0, 10) !== ref) {
    throw new ProtocolError(`${name}: expected a date YYYY-MM-DD or a day number, got "${ref}"`);
  }
  const days = (epoch - originEpochSeconds) / SECONDS_PER_DAY;
  if (!Number.isInteger(days)) throw new ProtocolError(`${name}: the data's day 0 does not start at midnight UTC`);
  return days;
}

export function dateOfDay(day: number, originEpochSeconds: number): string {
  return new Date((originEpochSeconds + day * SECONDS_PER_DAY) * 1000).toISOString().slice(0, 10);
}

function positive(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new ProtocolError(`${name}: must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Fills the defaults and checks that every window lies inside the history (days 0 .. days-1).
 * Without a start, the test window starts on the handbook's 2018-08-08 when the data covers the
 * whole protocol around it, else as late as the history allows.
 */
export function resolveProtocol(input: ProtocolInput, data: { originEpochSeconds: number; days: number }): ProtocolSpec {
  const trainDays = positive(input.trainDays, DEFAULT_PROTOCOL.trainDays, "train days");
  const delayDays = positive(input.delayDays, DEFAULT_PROTOCOL.delayDays, "delay days", 0);
  const testDays = positive(input.testDays, DEFAULT_PROTOCOL.testDays, "test days");
  const testFoldCount = positive(input.testFolds, DEFAULT_PROTOCOL.testFolds, "test folds");
  const folds = positive(input.folds, DEFAULT_PROTOCOL.folds, "folds");
  const validDays = positive(input.validDays, testDays, "validation days");
  const knownCompromised = input.knownCompromised ?? DEFAULT_PROTOCOL.knownCompromised;
  if (knownCompromised !== "drop" && knownCompromised !== "keep") throw new ProtocolError(`known-compromised: must be drop or keep, got "${String(knownCompromised)}"`);
  const shape = { trainDays, delayDays, testDays, testFolds: testFoldCount, folds, validDays, knownCompromised };
  const fromTest = (testStart: number) => testStart - delayDays - trainDays;

  let trainStart: number;
  const trainRef = input.trainStart === undefined ? undefined : dayOf(input.trainStart, data.originEpochSeconds, "train start");
  const testRef = input.testStart === undefined ? undefined : dayOf(input.testStart, data.originEpochSeconds, "test start");
  if (trainRef !== undefined && testRef !== undefined && fromTest(testRef) !== trainRef) {
    throw new ProtocolError(
      `train start ${dateOfDay(trainRef, data.originEpochSeconds)} + ${trainDays} train days + ${delayDays} delay days gives test start ${dateOfDay(trainRef + trainDays + delayDays, data.originEpochSeconds)}, not ${dateOfDay(testRef, data.originEpochSeconds)}: give one of the two, or make them agree`,
    );
  }
  if (trainRef !== undefined) trainStart = trainRef;
  else if (testRef !== undefined) trainStart = fromTest(testRef);
  else {
    const handbook = fromTest(dayOf(HANDBOOK_TEST_START, data.originEpochSeconds, "test start"));
    const span = protocolSpan({ ...shape, trainStart: handbook });
    trainStart = span.from >= 0 && span.to <= data.days ? handbook : fromTest(data.days - testFoldCount * testDays);
  }
  const spec: ProtocolSpec = { ...shape, trainStart };
  const span = protocolSpan(spec);
  if (span.from < 0 || span.to > data.days) {
    const date = (d: number) => dateOfDay(d, data.originEpochSeconds);
    throw new ProtocolError(
      `the protocol needs days ${span.from} .. ${span.to - 1} (${date(span.from)} .. ${date(span.to - 1)}: ${folds} validation fold(s) of ${validDays} days before, ${testFoldCount} test fold(s) of ${testDays} days, ` +
        `each after ${trainDays} train + ${delayDays} delay days), but the data has days 0 .. ${data.days - 1} (${date(0)} .. ${date(data.days - 1)}); ` +
        "move the test start, or use fewer folds or shorter windows",
    );
  }
  return spec;
}

/** First row of each day and one past the last: rows of days [from, to) are rows[start[from], start[to]). */
export function dayStarts(table: TransactionTable): Int32Array {
  const days = table.length ? (table.timeDays[table.length - 1] as number) + 1 : 0;
  const starts = new Int32Array(days + 1);
  let row = 0;
  for (let d = 0; d <= days; d++) {
    while (row < table.length && (table.timeDays[row] as number) < d) row++;
    starts[d] = row;
  }
  return starts;
}

function rowRange(starts: Int32Array, range: DayRange): [number, number] {
  const clamp = (d: number) => starts[Math.max(0, Math.min(d, starts.length - 1))] as number;
  return [clamp(range.from), clamp(range.to)];
}

/**
 * Cards known to be compromised when day `day` begins: customers with a fraud on or after day
 * `since` whose label was known strictly before that moment. With 7-day labels and a 7-day delay
 * period this is the handbook's set (frauds of the training window and of the delay days up to
 * day - 8); with other delays it follows when labels actually arrive.
 */
export function knownCompromisedCards(table: TransactionTable, since: number, day: number, starts = dayStarts(table)): Set<number> {
  const [from, to] = rowRange(starts, { from: since, to: day });
  const cutoff = day * SECONDS_PER_DAY;
  const cards = new Set<number>();
  for (let i = from; i < to; i++) {
    if (table.fraud[i] === 1 && (table.labelKnownAt[i] as number) < cutoff) cards.add(table.customerId[i] as number);
  }
  return cards;
}

/** The rows of days [from, to). */
export function rowsOfDays(table: TransactionTable, range: DayRange, starts = dayStarts(table)): Int32Array {
  const [from, to] = rowRange(starts, range);
  return Int32Array.from({ length: to - from }, (_, r) => from + r);
}

export interface FoldRows {
  windows: FoldWindows;
  train: Int32Array;
  /** Assessed rows, after dropping known-compromised cards if the protocol says so. */
  assess: Int32Array;
  /** Rows of the assessment window left out because their card was known compromised that day. */
  dropped: Int32Array;
  /** Deployment time (start of the assessment window), seconds since the origin: labels known later are unknown to training. */
  cutoffSeconds: number;
}

/** The rows of one fold; test and validation folds are cut the same way. */
export function foldRows(table: TransactionTable, windows: FoldWindows, mode: KnownCompromisedMode, starts = dayStarts(table)): FoldRows {
  const [trainFrom, trainTo] = rowRange(starts, windows.train);
  const train = Int32Array.from({ length: trainTo - trainFrom }, (_, r) => trainFrom + r);
  const assess: number[] = [];
  const dropped: number[] = [];
  for (let day = windows.assess.from; day < windows.assess.to; day++) {
    const known = mode === "drop" ? knownCompromisedCards(table, windows.train.from, day, starts) : undefined;
    const [from, to] = rowRange(starts, { from: day, to: day + 1 });
    for (let i = from; i < to; i++) (known?.has(table.customerId[i] as number) ? dropped : assess).push(i);
  }
  return { windows, train, assess: Int32Array.from(assess), dropped: Int32Array.from(dropped), cutoffSeconds: windows.assess.from * SECONDS_PER_DAY };
}

/** A fold's cutoff as epoch milliseconds, the clock `labelsKnownAt` of @mlsd/datasets reads labels against. */
export function foldCutoffMs(table: Pick<TransactionTable, "originEpochSeconds">, fold: Pick<FoldRows, "cutoffSeconds">): number {
  return (table.originEpochSeconds + fold.cutoffSeconds) * 1000;
}

/** Rows, frauds and dates of a set of rows: the report's header line for a window. */
export interface WindowSummary {
  range: DayRange;
  dates: [string, string];
  rows: number;
  frauds: number;
  fraudRate: number;
}

export function summarizeWindow(table: TransactionTable, range: DayRange, rows: Int32Array): WindowSummary {
  let frauds = 0;
  for (const i of rows) frauds += table.fraud[i] as number;
  return {
    range,
    dates: [dateOfDay(range.from, table.originEpochSeconds), dateOfDay(range.to - 1, table.originEpochSeconds)],
    rows: rows.length,
    frauds,
    fraudRate: rows.length ? frauds / rows.length : 0,
  };
}
