import type { FraudDecision } from "@mlsd/contracts";

/** What one decision costs once the truth is known (the trainer's cost model, per transaction). */
export interface TransactionCosts {
  /** Declining a legitimate customer: support calls, churn. */
  declineFriction: number;
  /** An analyst's review of a transaction sent to review. */
  reviewCost: number;
}

/**
 * Per-transaction cost: a missed fraud costs its amount, a declined good customer the friction, a
 * review the analyst's time (a reviewed fraud is caught). The trainer's daily review capacity is
 * left out here: both arms see the same day, so it would not change which one costs less per
 * transaction, and an arm's share of the queue is not known transaction by transaction.
 */
export function transactionCost(decision: FraudDecision, fraud: boolean, amount: number, costs: TransactionCosts): number {
  if (decision === "decline") return fraud ? 0 : costs.declineFriction;
  if (decision === "review") return costs.reviewCost;
  return fraud ? amount : 0;
}
