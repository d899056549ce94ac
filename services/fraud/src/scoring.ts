import type { ScoreTransactionRequest, ScoreTransactionResponse } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import { assembleFraudFeatures, toCents, type ClaimResult, type FraudAggregates, type FraudFeatureStore, type TransactionInput, type TransactionRecord } from "@mlsd/feature-store";
import type { Routed, ShadowRunner } from "@mlsd/model-arms";
import { AppError, withDeadline, type CircuitBreaker, type StageTimer, type TimeBounds } from "@mlsd/service-kit";
import { applyRules, decide, fraudEvents, requestOnlyFeatures, type FraudModel, type RuleSet } from "@mlsd/fraud-model";

export interface ScoringDeps {
  store: FraudFeatureStore;
  /** Opens on a failure rate of the feature store so requests stop paying its deadline. */
  storeBreaker: CircuitBreaker;
  featureDeadlineMs: number;
  model: () => FraudModel;
  /** Which model answers for a card (current, or a canary / A-B challenger) and the shadow to run; default: `model()` alone. */
  route?: (customerId: string) => Routed<FraudModel>;
  /** Runs a shadow challenger after the answer. */
  shadow?: ShadowRunner | null;
  rules: RuleSet;
  events: EventPublisher;
  reasonCount: number;
  /** The service clock and how far a transaction's time may be from it. */
  timeBounds: TimeBounds;
  /** Counts degraded answers by reason, for the dashboards. */
  onDegraded?: (reason: "timeout" | "error" | "circuit-open") => void;
  /** Counts answers replayed for a retried transaction id. */
  onReplay?: () => void;
  /** Saving the answer for retries failed (it is not on the response path). */
  onAnswerNotSaved?: (error: Error) => void;
}

const PRODUCER = "fraud";

type FeatureOutcome = { kind: "observed"; aggregates: FraudAggregates } | Exclude<ClaimResult, { kind: "new" }>;

/**
 * Rules, then features (Redis, under a deadline), then the model, then the decision.
 *
 * Trust: the transaction's time must lie within the clock's bounds (a client cannot move a card's
 * windows by sending a date in the future); a transaction id is claimed once with what identifies
 * the transaction, so a retry gets the stored answer and changes no state, and a different
 * transaction under a used id is refused (409); a transaction a hard rule declines never reaches
 * the feature store, so a declined 1,000,000 cannot skew a card's average amount (the offline
 * replay skips rule decisions the same way).
 *
 * Degraded: when Redis fails or is late, the model still answers from the features this request
 * carries itself (the rest are missing values, which the trees route by their learned default
 * direction, or the fallback model scores them) and the answer says it is degraded. No state
 * changes then, so a retry after Redis returns is scored in full.
 */
export async function scoreTransaction(deps: ScoringDeps, request: ScoreTransactionRequest, timer: StageTimer): Promise<ScoreTransactionResponse> {
  const t0 = performance.now();
  const timeMs = deps.timeBounds.check(request.time, "time");
  const routed = deps.route ? deps.route(request.customerId) : { arm: "current" as const, model: deps.model(), shadow: null };
  const model = routed.model;
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
  if (!rule) {
    if (deps.storeBreaker.allow()) {
      const record: TransactionRecord = { customerId: tx.customerId, terminalId: tx.terminalId, timeMs, cents: toCents(tx.amount) };
      const result = await timer.time("features", () =>
        withDeadline(deps.featureDeadlineMs, async (): Promise<FeatureOutcome> => {
          const claim = await deps.store.claim(tx.transactionId, record);
          // A retry whose first attempt stored no answer yet is observed again: recording is
          // idempotent for the same transaction (same members, same sets).
          if (claim.kind === "conflict" || (claim.kind === "retry" && claim.answer !== null)) return claim;
          return { kind: "observed", aggregates: await deps.store.observe(tx) };
        }),
      );
      if (result.ok) {
        deps.storeBreaker.success();
        const outcome = result.value;
        if (outcome.kind === "conflict") throw conflict(tx, outcome.recorded);
        if (outcome.kind === "retry") {
          deps.onReplay?.();
          return { ...(JSON.parse(outcome.answer as string) as ScoreTransactionResponse), replayed: true, timings: timer.snapshot() };
        }
        aggregates = outcome.aggregates;
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
  }

  const features = aggregates ? assembleFraudFeatures(tx, aggregates) : requestOnlyFeatures(tx, model.featureNames.length);

  let score: number | null = null;
  let reasons: ScoreTransactionResponse["reasons"] = [];
  let decision: ScoreTransactionResponse["decision"];
  let decidedBy: ScoreTransactionResponse["decidedBy"];
  let thresholds = model.thresholds;
  let scoredBy = model.version;
  let modelMs = 0;
  if (rule) {
    decision = rule.decision;
    decidedBy = "rules";
  } else {
    const m0 = performance.now();
    const scored = timer.timeSync("model", () => (aggregates ? model.score(features, deps.reasonCount) : model.scoreDegraded(features, deps.reasonCount)));
    modelMs = performance.now() - m0;
    score = scored.probability;
    reasons = scored.reasons;
    thresholds = scored.thresholds;
    scoredBy = scored.modelVersion;
    decision = decide(score, thresholds);
    decidedBy = aggregates ? "model" : "fallback";
    if (routed.shadow && deps.shadow) scheduleShadow(deps.shadow, routed.shadow, tx, features, aggregates !== null, { probability: score, decision, version: scoredBy, modelMs }, deps.reasonCount);
  }

  timer.timeSync("publish", () => {
    const record = { tx, featureNames: model.featureNames, features, score, thresholds, decision, decidedBy, modelVersion: scoredBy, arm: routed.arm };
    const reasonCodes = rule ? [rule.rule] : reasons.map((r) => r.feature);
    for (const event of fraudEvents({ ...record, reasonCodes, latencyMs: performance.now() - t0 }, PRODUCER)) deps.events.publish(event);
  });

  const answer: ScoreTransactionResponse = {
    transactionId: tx.transactionId,
    score,
    decision,
    decidedBy,
    rule: rule?.rule ?? null,
    thresholds: { ...thresholds },
    reasons,
    modelVersion: scoredBy,
    arm: routed.arm,
    degraded: degradedReason !== null,
    degradedReason,
    replayed: false,
    timings: timer.snapshot(),
  };
  // Kept for retries, off the response path: a lost save only means a retry is observed again.
  if (aggregates) deps.store.saveAnswer(tx.transactionId, JSON.stringify(answer)).catch((error: Error) => deps.onAnswerNotSaved?.(error));
  return answer;
}

/** The challenger scores the same features after the answer; both predictions are logged for the rollout. */
function scheduleShadow(
  runner: ShadowRunner,
  challenger: FraudModel,
  tx: TransactionInput,
  features: Float64Array,
  full: boolean,
  serving: { probability: number; decision: ScoreTransactionResponse["decision"]; version: string; modelMs: number },
  reasonCount: number,
): void {
  const row = features.slice();
  runner.schedule({
    requestId: tx.transactionId,
    entityId: tx.customerId,
    servingVersion: serving.version,
    shadowVersion: challenger.version,
    servingMs: serving.modelMs,
    predict: () => {
      const scored = full ? challenger.score(row, reasonCount) : challenger.scoreDegraded(row, reasonCount);
      return {
        kind: "fraud",
        serving: { probability: serving.probability, decision: serving.decision },
        shadow: { probability: scored.probability, decision: decide(scored.probability, scored.thresholds) },
      };
    },
  });
}

function conflict(tx: TransactionInput, recorded: TransactionRecord): AppError {
  const differs: { field: string; message: string }[] = [];
  if (recorded.customerId !== tx.customerId) differs.push({ field: "customerId", message: `transaction ${tx.transactionId} was scored for another customer` });
  if (recorded.terminalId !== tx.terminalId) differs.push({ field: "terminalId", message: `transaction ${tx.transactionId} was scored at another terminal` });
  if (recorded.timeMs !== tx.timeMs) differs.push({ field: "time", message: `transaction ${tx.transactionId} was scored with time ${new Date(recorded.timeMs).toISOString()}` });
  if (recorded.cents !== toCents(tx.amount)) differs.push({ field: "amount", message: `transaction ${tx.transactionId} was scored with amount ${recorded.cents / 100}` });
  return new AppError("CONFLICT", `transaction id ${tx.transactionId} was already used for another transaction: ${differs.map((d) => d.field).join(", ")}`, differs);
}
