import { buildFraudFeaturesOffline, DAY_MS, type FraudFeatureMatrix, type LabelInput, type TransactionInput } from "@mlsd/feature-store";
import { Progress } from "@mlsd/progress";
import type { TransactionTable } from "@mlsd/datasets";

/** Row i of the table as the feature store sees a transaction. */
export function transactionInputs(table: TransactionTable): TransactionInput[] {
  const out = new Array<TransactionInput>(table.length);
  for (let i = 0; i < table.length; i++) {
    out[i] = {
      transactionId: String(table.transactionId[i]),
      customerId: String(table.customerId[i]),
      terminalId: String(table.terminalId[i]),
      timeMs: ((table.originEpochSeconds + (table.timeSeconds[i] as number)) * 1000),
      amount: table.amount[i] as number,
    };
  }
  return out;
}

/** Every fraud label, available from the moment the chargeback makes it known. */
export function fraudLabels(table: TransactionTable, txs: readonly TransactionInput[]): LabelInput[] {
  const labels: LabelInput[] = [];
  for (let i = 0; i < table.length; i++) {
    if (table.fraud[i] !== 1) continue;
    const tx = txs[i] as TransactionInput;
    labels.push({
      transactionId: tx.transactionId,
      terminalId: tx.terminalId,
      transactionTimeMs: tx.timeMs,
      knownAtMs: (table.originEpochSeconds + (table.labelKnownAt[i] as number)) * 1000,
    });
  }
  return labels;
}

export function buildFeatures(txs: readonly TransactionInput[], labels: readonly LabelInput[]): FraudFeatureMatrix {
  const progress = new Progress({ total: txs.length, label: "features (point-in-time replay)", unit: "tx" });
  const matrix = buildFraudFeaturesOffline(txs, labels, undefined, (done) => progress.update(done));
  progress.done();
  return matrix;
}

export interface SplitSpec {
  trainDays: number;
  validDays: number;
  /** Gap between the validation window and the test window: labels of the last days are not known yet. */
  delayDays: number;
  testDays: number;
}

export const DEFAULT_SPLIT: SplitSpec = { trainDays: 28, validDays: 7, delayDays: 7, testDays: 7 };

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
  const pick = (from: number, to: number): Int32Array => {
    const rows: number[] = [];
    for (let i = 0; i < table.length; i++) {
      const d = table.timeDays[i] as number;
      if (d >= from && d < to) rows.push(i);
    }
    return Int32Array.from(rows);
  };
  return {
    spec,
    train: [trainStart, validStart],
    valid: [validStart, validEnd],
    test: [testStart, days],
    cutoffMs: (table.originEpochSeconds * 1000) + testStart * DAY_MS,
    rows: { train: pick(trainStart, validStart), valid: pick(validStart, validEnd), test: pick(testStart, days) },
  };
}

/** The rows' feature vectors as a dense row-major matrix. */
export function selectRows(matrix: FraudFeatureMatrix, rows: Int32Array): { data: Float64Array; numRows: number; numColumns: number } {
  const width = matrix.names.length;
  const data = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    data.set(matrix.values.subarray(i * width, (i + 1) * width), r * width);
  }
  return { data, numRows: rows.length, numColumns: width };
}

/**
 * Training targets as known at the cutoff: a fraud whose chargeback had not arrived by then looks
 * legitimate to the trainer, exactly as it would in production.
 */
export function labelsKnownAt(table: TransactionTable, rows: Int32Array, cutoffMs: number): { labels: Float64Array; hidden: number } {
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
