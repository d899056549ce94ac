import { makeEvent, type FeatureVector, type ScoreTransactionRequest, type ScoreTransactionResponse } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import { assembleFraudFeatures, type FraudAggregates, type FraudFeatureStore, type TransactionInput } from "@mlsd/feature-store";
import { withDeadline, type CircuitBreaker, type StageTimer } from "@mlsd/service-kit";
import { decide, type FraudModel } from "./model";
import { applyRules, type RuleSet } from "./rules";

export interface ScoringDeps {
  store: FraudFeatureStore;
  /** Trips after repeated Redis failures so requests stop paying the feature deadline. */
  storeBreaker: CircuitBreaker;
  featureDeadlineMs: number;
  model: () => FraudModel;
  rules: RuleSet;
  events: EventPublisher;
  reasonCount: number;
  /** Counts degraded answers by reason, for the dashboards. */
  onDegraded?: (reason: "timeout" | "error" | "circuit-open") => void;
}

const PRODUCER = "fraud";

/**
 * Rules, then features (Redis, under a deadline), then the model, then the decision. When Redis
 * fails or is late, the model still answers from the features this request carries itself (the
 * rest are missing values, which the trees route by their learned default direction) and the
 * answer says it is degraded.
 */
export async function scoreTransaction(
  deps: ScoringDeps,
  request: ScoreTransactionRequest,
  timer: StageTimer,
): Promise<ScoreTransactionResponse> {
  const model = deps.model();
  const timeMs = request.time ? Date.parse(request.time) : Date.now();
  const tx: TransactionInput = {
    transactionId: request.transactionId,
    customerId: request.customerId,
    terminalId: request.terminalId,
    timeMs,
    amount: request.amount,
  };

  const rule = timer.timeSync("rules", () => applyRules(request, deps.rules));

  let aggregates: FraudAggregates | null = null;
  let degradedReason: string | null = null;
  if (deps.storeBreaker.allow()) {
    const result = await timer.time("features", () => withDeadline(deps.featureDeadlineMs, () => deps.store.observe(tx)));
    if (result.ok) {
      deps.storeBreaker.success();
      aggregates = result.value;
    } else {
      deps.storeBreaker.failure();
      deps.onDegraded?.(result.reason);
      degradedReason =
        result.reason === "timeout"
          ? `feature store did not answer within ${deps.featureDeadlineMs} ms`
          : `feature store unavailable: ${(result.error as Error)?.message ?? String(result.error)}`;
    }
  } else {
    deps.onDegraded?.("circuit-open");
    degradedReason = "feature store circuit open after repeated failures";
  }

  const features = aggregates ? assembleFraudFeatures(tx, aggregates) : requestOnlyFeatures(tx, model.featureNames.length);

  let score: number | null = null;
  let reasons: ScoreTransactionResponse["reasons"] = [];
  let decision: ScoreTransactionResponse["decision"];
  let decidedBy: ScoreTransactionResponse["decidedBy"];
  if (rule) {
    decision = rule.decision;
    decidedBy = "rules";
  } else {
    const scored = timer.timeSync("model", () => model.score(features, deps.reasonCount));
    score = scored.probability;
    reasons = scored.reasons;
    decision = decide(score, model.thresholds);
    decidedBy = "model";
  }

  timer.timeSync("publish", () => {
    const eventTime = new Date(timeMs).toISOString();
    deps.events.publish(
      makeEvent(
        "fraud.transaction",
        { transactionId: tx.transactionId, customerId: tx.customerId, terminalId: tx.terminalId, amount: tx.amount, time: eventTime },
        { producer: PRODUCER, eventTime },
      ),
    );
    deps.events.publish(
      makeEvent(
        "fraud.decision",
        {
          transactionId: tx.transactionId,
          customerId: tx.customerId,
          terminalId: tx.terminalId,
          features: toFeatureVector(model.featureNames, features),
          score: score ?? 1,
          threshold: model.thresholds.decline,
          decision,
          decidedBy,
          modelVersion: model.version,
          reasonCodes: rule ? [rule.rule] : reasons.map((r) => r.feature),
        },
        { producer: PRODUCER, eventTime },
      ),
    );
  });

  return {
    transactionId: tx.transactionId,
    score,
    decision,
    decidedBy,
    rule: rule?.rule ?? null,
    thresholds: { ...model.thresholds },
    reasons,
    modelVersion: model.version,
    degraded: degradedReason !== null,
    degradedReason,
    timings: timer.snapshot(),
  };
}

/** The features a transaction carries by itself; everything the store would add is missing. */
function requestOnlyFeatures(tx: TransactionInput, width: number): Float64Array {
  const empty = { customerCount: [], customerCents: [], customerVelocity: [], terminalCount: [], terminalFrauds: [], terminalVelocity: [] };
  const out = new Float64Array(width).fill(Number.NaN);
  assembleFraudFeatures(tx, empty, out.subarray(0, 3));
  return out;
}

export function toFeatureVector(names: readonly string[], values: Float64Array): FeatureVector {
  const vector: FeatureVector = {};
  names.forEach((name, i) => {
    const v = values[i] as number;
    vector[name] = Number.isNaN(v) ? null : v;
  });
  return vector;
}
