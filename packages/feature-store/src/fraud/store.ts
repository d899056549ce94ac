import type { FraudAggregates, FraudFeatureConfig, LabelInput, TransactionInput } from "./definitions";

/** What identifies a transaction: a retry must repeat all of it; a label must match it. */
export interface TransactionRecord {
  customerId: string;
  terminalId: string;
  timeMs: number;
  /** The amount in integer cents. */
  cents: number;
}

/**
 * The outcome of claiming a transaction id: the first time (`new`); a retry of the same
 * transaction (`retry`, with the answer stored for it, if any yet); or another transaction under
 * an id already used (`conflict`, with what was recorded first).
 */
export type ClaimResult = { kind: "new" } | { kind: "retry"; answer: string | null } | { kind: "conflict"; recorded: TransactionRecord };

/**
 * The online side of the fraud features. `observe` records a transaction and returns the
 * aggregates as of its time (the transaction itself included) in one atomic step per entity, so
 * concurrent transactions of one card cannot both miss each other. Recording is idempotent per
 * transaction id: a retried request sees the same aggregates.
 */
export interface FraudFeatureStore {
  readonly config: FraudFeatureConfig;
  /**
   * Records a transaction's identity under its id, once: the record is what makes scoring
   * idempotent (a retry gets the stored answer and changes no state) and what a label is checked
   * against.
   */
  claim(transactionId: string, record: TransactionRecord): Promise<ClaimResult>;
  /** Stores the answer given for a claimed transaction, for its retries. */
  saveAnswer(transactionId: string, answer: string): Promise<void>;
  /** The recorded identity of a transaction this store has seen, or null. */
  lookup(transactionId: string): Promise<TransactionRecord | null>;
  observe(tx: TransactionInput): Promise<FraudAggregates>;
  /**
   * Applies a fraud label: its terminal and transaction time come with it (the label API checks
   * them against the transaction's record before a label is accepted).
   */
  applyKnownLabel(label: LabelInput): Promise<void>;
}
