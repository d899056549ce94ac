import type { TransactionTable } from "./table";

const DAY_MS = 86_400_000;

export interface SplitSpec {
  trainDays: number;
  validDays: number;
  /** Gap between the validation window and the test window: labels of the last days are not known yet. */
  delayDays: number;
  testDays: number;
}

export const DEFAULT_SPLIT: Readonly<SplitSpec> = Object.freeze({ trainDays: 28, validDays: 7, delayDays: 7, testDays: 7 });

export interface TimeSplit {
  spec: SplitSpec;
  /** Day ranges [from, to) counted from the table's origin. */
  train: [number, number];
  valid: [number, number];
  test: [number, number];
  /** The model is deployed at the start of the test window: labels known after it are unknown. */
  cutoffMs: number;
  rows: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

/** Rows whose day is in [from, to), in table (time) order. */
export function rowsInDays(table: TransactionTable, from: number, to: number): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < table.length; i++) {
    const d = table.timeDays[i] as number;
    if (d >= from && d < to) rows.push(i);
  }
  return Int32Array.from(rows);
}

/** Epoch milliseconds of the start of a day of the table. */
export function dayStartMs(table: TransactionTable, day: number): number {
  return table.originEpochSeconds * 1000 + day * DAY_MS;
}

/**
 * Train, validation, a delay, then test, at the end of the history and in time order, never a
 * random split: the test window is the future the model is deployed into.
 */
export function timeSplit(table: TransactionTable, spec: SplitSpec = DEFAULT_SPLIT): TimeSplit {
  const lastDay = table.length ? (table.timeDays[table.length - 1] as number) : 0;
  const days = lastDay + 1;
  const testStart = days - spec.testDays;
  const validEnd = testStart - spec.delayDays;
  const validStart = validEnd - spec.validDays;
  const trainStart = validStart - spec.trainDays;
  if (trainStart < 0) {
    throw new RangeError(
      `the history has ${days} days; the split needs ${spec.trainDays + spec.validDays + spec.delayDays + spec.testDays} (train ${spec.trainDays} + valid ${spec.validDays} + delay ${spec.delayDays} + test ${spec.testDays})`,
    );
  }
  return {
    spec,
    train: [trainStart, validStart],
    valid: [validStart, validEnd],
    test: [testStart, days],
    cutoffMs: dayStartMs(table, testStart),
    rows: { train: rowsInDays(table, trainStart, validStart), valid: rowsInDays(table, validStart, validEnd), test: rowsInDays(table, testStart, days) },
  };
}

/**
 * Training targets as known at the cutoff: a fraud whose chargeback had not arrived by then looks
 * legitimate to the trainer, exactly as it would in production.
 */
export function labelsKnownAt(table: TransactionTable, rows: ArrayLike<number>, cutoffMs: number): { labels: Float64Array; hidden: number } {
  const labels = new Float64Array(rows.length);
  let hidden = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    if (table.fraud[i] !== 1) continue;
    if ((table.originEpochSeconds + (table.labelKnownAt[i] as number)) * 1000 <= cutoffMs) labels[r] = 1;
    else hidden++;
  }
  return { labels, hidden };
}

/** The true labels of the rows (every fraud, known or not yet): what a model is judged against. */
export function trueLabels(table: TransactionTable, rows: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: rows.length }, (_, r) => table.fraud[rows[r] as number] as number);
}
