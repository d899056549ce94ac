import { TOPICS } from "@mlsd/contracts";
import type { FraudDecisionEvent } from "@mlsd/contracts";
import { buildFraudFeaturesOffline, compareServedWithOffline, DAY_MS, DEFAULT_FRAUD_FEATURE_CONFIG, sampleKey } from "@mlsd/feature-store";
import type { FeatureSkew, FraudFeatureConfig, LabelInput, ServedDecision, TransactionInput } from "@mlsd/feature-store";
import type { OfflineStoreReader, TimeInput } from "@mlsd/offline-store";

/**
 * Training-serving skew: for a sample of served decisions, recompute the features offline by
 * replaying the logged transactions (and the labels as they became known) through the same
 * feature definitions the trainer uses, and compare with the vector the model actually scored.
 * A mismatch is a feature the model saw differently from what training would have given it:
 * a degraded answer (store timeout), a label applied online before it was "known", clock skew,
 * or a bug in one of the two paths.
 */

export interface SkewReport {
  from: string;
  to: string;
  decisions: number;
  sampled: number;
  compared: number;
  /** Sampled decisions whose transaction is not in the log (nothing to recompute from). */
  missingTransactions: number;
  /** Compared decisions with at least one mismatching feature. */
  decisionsWithMismatch: number;
  features: FeatureSkew[];
}

export interface SkewOptions {
  /** Decisions with from <= eventTime < to are sampled. */
  from: TimeInput;
  to: TimeInput;
  /** Fraction of decisions compared, chosen by a hash of the transaction id (stable across runs). Default 1. */
  sampleRate?: number;
  /**
   * History replayed before `from` so that windowed features are complete: by default the longest
   * window plus the label delay plus a day (38 days for the default features).
   */
  lookbackMs?: number;
  /** Relative tolerance for two numbers to count as equal. Default 1e-9. */
  tolerance?: number;
  config?: FraudFeatureConfig;
}

export class SkewInputError extends RangeError {
  override readonly name = "SkewInputError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

function epochMs(value: TimeInput, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : value;
  if (!Number.isFinite(ms)) throw new SkewInputError(field, `must be a date, got ${String(value)}`);
  return ms;
}

export { sampleKey };

function defaultLookback(config: FraudFeatureConfig): number {
  return (Math.max(...config.windowDays) + config.labelDelayDays + 1) * DAY_MS;
}

/** Reads the log, replays the history offline and reports the mismatch rate per feature. */
export async function measureSkew(reader: OfflineStoreReader, options: SkewOptions): Promise<SkewReport> {
  const from = epochMs(options.from, "from");
  const to = epochMs(options.to, "to");
  if (!(to > from)) throw new SkewInputError("to", "must be after from");
  const rate = options.sampleRate ?? 1;
  if (!(rate > 0 && rate <= 1)) throw new SkewInputError("sampleRate", `must be in (0, 1], got ${rate}`);
  const config = options.config ?? DEFAULT_FRAUD_FEATURE_CONFIG;
  const lookback = options.lookbackMs ?? defaultLookback(config);
  if (!(lookback >= 0)) throw new SkewInputError("lookbackMs", `must be >= 0, got ${lookback}`);

  const served: ServedDecision[] = [];
  let decisions = 0;
  for await (const event of reader.eventsOfType(TOPICS.fraudDecisions, "fraud.decision", { from, to })) {
    decisions++;
    const d = (event as FraudDecisionEvent).payload;
    if (sampleKey(d.transactionId) < rate) served.push({ transactionId: d.transactionId, features: d.features });
  }

  const transactions: TransactionInput[] = [];
  for await (const event of reader.eventsOfType(TOPICS.fraudTransactions, "fraud.transaction", { from: from - lookback, to })) {
    const t = event.payload;
    transactions.push({ transactionId: t.transactionId, customerId: t.customerId, terminalId: t.terminalId, timeMs: Date.parse(t.time), amount: t.amount });
  }
  // The envelope's time is the transaction's; sort on the payload's to be safe. Stable, so retries keep their order.
  transactions.sort((a, b) => a.timeMs - b.timeMs);

  const labels: LabelInput[] = [];
  for await (const event of reader.eventsOfType(TOPICS.fraudLabels, "fraud.label", { from: from - lookback, to })) {
    const l = event.payload;
    if (l.label === "legitimate") continue;
    labels.push({ transactionId: l.transactionId, terminalId: l.terminalId, transactionTimeMs: Date.parse(l.transactionTime), knownAtMs: Date.parse(l.knownAt) });
  }

  const matrix = buildFraudFeaturesOffline(transactions, labels, config);
  const width = matrix.names.length;
  const rowOf = new Map<string, number>();
  // The first occurrence is the one the service scored (a retry sees the same aggregates).
  transactions.forEach((t, i) => {
    if (!rowOf.has(t.transactionId)) rowOf.set(t.transactionId, i);
  });
  const result = compareServedWithOffline(
    served,
    matrix.names,
    (id) => {
      const i = rowOf.get(id);
      return i === undefined ? undefined : matrix.values.subarray(i * width, (i + 1) * width);
    },
    options.tolerance,
  );
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), decisions, sampled: served.length, ...result };
}
