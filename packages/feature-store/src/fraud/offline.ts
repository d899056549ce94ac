import { assembleFraudFeatures, DEFAULT_FRAUD_FEATURE_CONFIG, fraudFeatureNames, type FraudFeatureConfig, type LabelInput, type TransactionInput } from "./definitions";
import { MemoryFraudFeatureStore } from "./memory-store";

export interface FraudFeatureMatrix {
  names: string[];
  rows: number;
  /** Row-major, `rows x names.length`. */
  values: Float64Array;
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
): FraudFeatureMatrix {
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
    while (nextLabel < pending.length && (pending[nextLabel] as LabelInput).knownAtMs <= tx.timeMs) {
      store.applyKnownLabelSync(pending[nextLabel] as LabelInput);
      nextLabel++;
    }
    const aggregates = store.observeSync(tx);
    assembleFraudFeatures(tx, aggregates, values.subarray(i * width, (i + 1) * width));
    if (onProgress && (i + 1) % 50_000 === 0) onProgress(i + 1);
  }
  onProgress?.(transactions.length);
  return { names, rows: transactions.length, values };
}
