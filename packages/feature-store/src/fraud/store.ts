import type { FraudAggregates, FraudFeatureConfig, LabelInput, TransactionInput } from "./definitions";

export interface LabelByIdInput {
  transactionId: string;
  knownAtMs: number;
}

/**
 * The online side of the fraud features. `observe` records a transaction and returns the
 * aggregates as of its time (the transaction itself included) in one atomic step per entity, so
 * concurrent transactions of one card cannot both miss each other. Recording is idempotent per
 * transaction id: a retried request sees the same aggregates.
 */
export interface FraudFeatureStore {
  readonly config: FraudFeatureConfig;
  observe(tx: TransactionInput): Promise<FraudAggregates>;
  /** Applies a fraud label to a transaction this store has seen; false when it never saw it. */
  applyLabel(label: LabelByIdInput): Promise<boolean>;
  /** Applies a label whose terminal and time the caller already knows (offline replay). */
  applyKnownLabel(label: LabelInput): Promise<void>;
}
