import { makeEvent, type Arm, type EventEnvelope } from "@mlsd/contracts";
import type { TransactionInput } from "@mlsd/feature-store";
import { toFeatureVector } from "./features";
import type { DecisionThresholds } from "./model";

/** One scored transaction as the decision log records it. */
export interface DecisionRecord {
  tx: TransactionInput;
  featureNames: readonly string[];
  /** The row the model scored (NaN: missing). */
  features: Float64Array;
  /** Null when a hard rule decided (logged as 1). */
  score: number | null;
  thresholds: DecisionThresholds;
  decision: "approve" | "review" | "decline";
  decidedBy: "rules" | "model" | "fallback";
  modelVersion: string;
  /** The rule's name, or the reason codes' features. */
  reasonCodes: string[];
  arm: Arm;
  latencyMs: number;
}

/** The two events a scored transaction publishes: the transaction, and the decision with the features served. */
export function fraudEvents(r: DecisionRecord, producer: string): [EventEnvelope<"fraud.transaction">, EventEnvelope<"fraud.decision">] {
  const { tx } = r;
  const eventTime = new Date(tx.timeMs).toISOString();
  return [
    makeEvent("fraud.transaction", { transactionId: tx.transactionId, customerId: tx.customerId, terminalId: tx.terminalId, amount: tx.amount, time: eventTime }, { producer, eventTime }),
    makeEvent(
      "fraud.decision",
      {
        transactionId: tx.transactionId,
        customerId: tx.customerId,
        terminalId: tx.terminalId,
        features: toFeatureVector(r.featureNames, r.features),
        score: r.score ?? 1,
        threshold: r.thresholds.decline,
        decision: r.decision,
        decidedBy: r.decidedBy,
        modelVersion: r.modelVersion,
        reasonCodes: r.reasonCodes,
        arm: r.arm,
        latencyMs: Math.round(r.latencyMs * 1_000) / 1_000,
      },
      { producer, eventTime },
    ),
  ];
}
