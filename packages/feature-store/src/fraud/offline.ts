import { assembleFraudFeatures, DEFAULT_FRAUD_FEATURE_CONFIG, fraudFeatureNames, type FraudAggregates, type FraudFeatureConfig, type LabelInput, type TransactionInput } from "./definitions";
import { MemoryFraudFeatureStore } from "./memory-store";

export interface FraudFeatureMatrix {
  names: string[];
  rows: number;
  /** Row-major, `rows x names.length`. */
  values: Float64Array;
}

export interface OfflineFeatureOptions {
  /**
   * Features as a batch job run every `batchPeriodMs` would have served them: the store's aggregates
   * as of the start of the period the transaction falls in (labels known by then), with only the
   * request's own fields (amount, weekend, night) fresh. Periods start at epoch multiples of it
   * (a day: UTC midnight). Omitted: streaming features, as of the transaction itself.
   */
  batchPeriodMs?: number;
}

/**
 * Training features, point-in-time correct by construction: the history is replayed in time
 * order through the same store logic the service uses, and each label is applied at the moment
 * it became known, so no row sees a label from its future.
 *
 * `transactions` must be in event-time order; labels may come in any order.
 */
export function buildFraudFeaturesOffline(
  transactions: readonly TransactionInput[],
  labels: readonly LabelInput[],
  config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG,
  onProgress?: (done: number) => void,
  options: OfflineFeatureOptions = {},
): FraudFeatureMatrix {
  const period = options.batchPeriodMs;
  if (period !== undefined && !(Number.isFinite(period) && period > 0)) throw new RangeError(`batchPeriodMs must be a positive number, got ${period}`);
  const names = fraudFeatureNames(config);
  const width = names.length;
  const values = new Float64Array(transactions.length * width);
  const store = new MemoryFraudFeatureStore(config);
  const pending = [...labels].sort((a, b) => a.knownAtMs - b.knownAtMs);
  let nextLabel = 0;
  let lastTime = -Infinity;
  for (let i = 0; i < transactions.length; i++) {
    const tx = transactions[i] as TransactionInput;
    if (tx.timeMs < lastTime) {
      throw new RangeError(`transactions must be in time order: row ${i} (${tx.transactionId}) goes back in time`);
    }
    lastTime = tx.timeMs;
    // A label known at exactly the decision time counts: the service would have had it.
    const asOf = period === undefined ? tx.timeMs : Math.floor(tx.timeMs / period) * period;
    while (nextLabel < pending.length && (pending[nextLabel] as LabelInput).knownAtMs <= asOf) {
      store.applyKnownLabelSync(pending[nextLabel] as LabelInput);
      nextLabel++;
    }
    const aggregates = period === undefined ? store.observeSync(tx) : batchAggregates(store, tx, asOf);
    assembleFraudFeatures(tx, aggregates, values.subarray(i * width, (i + 1) * width));
    if (onProgress && (i + 1) % 50_000 === 0) onProgress(i + 1);
  }
  onProgress?.(transactions.length);
  return { names, rows: transactions.length, values };
}

/** Records the transaction for later periods, but answers with what the last batch run computed. */
function batchAggregates(store: MemoryFraudFeatureStore, tx: TransactionInput, asOf: number): FraudAggregates {
  // Queried before recording: the batch ran at asOf, before this transaction existed.
  const aggregates = store.aggregatesAt(tx.customerId, tx.terminalId, asOf);
  store.observeSync(tx);
  return aggregates;
}

/** The columns of a transaction log the fraud features need (the synthetic world's table has them). */
export interface FraudTransactionColumns {
  length: number;
  /** Times are seconds from this epoch second. */
  originEpochSeconds: number;
  transactionId: ArrayLike<number>;
  customerId: ArrayLike<number>;
  terminalId: ArrayLike<number>;
  amount: ArrayLike<number>;
  timeSeconds: ArrayLike<number>;
  fraud: ArrayLike<number>;
  /** When each label became known, seconds from the origin. */
  labelKnownAt: ArrayLike<number>;
}

/** Row i of the log as the feature store sees a transaction. */
export function fraudTransactionInputs(table: FraudTransactionColumns): TransactionInput[] {
  const out = new Array<TransactionInput>(table.length);
  for (let i = 0; i < table.length; i++) {
    out[i] = {
      transactionId: String(table.transactionId[i]),
      customerId: String(table.customerId[i]),
      terminalId: String(table.terminalId[i]),
      timeMs: (table.originEpochSeconds + (table.timeSeconds[i] as number)) * 1000,
      amount: table.amount[i] as number,
    };
  }
  return out;
}

/** Every fraud label of the log, available from the moment its chargeback made it known. */
export function fraudLabelInputs(table: FraudTransactionColumns, txs: readonly TransactionInput[]): LabelInput[] {
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

/** The matrix rows `rows` (in that order) as a dense row-major matrix, ready for a model. */
export function selectFeatureRows(matrix: FraudFeatureMatrix, rows: ArrayLike<number>): { data: Float64Array; numRows: number; numColumns: number } {
  const width = matrix.names.length;
  const data = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    data.set(matrix.values.subarray(i * width, (i + 1) * width), r * width);
  }
  return { data, numRows: rows.length, numColumns: width };
}
