import { createHash } from "node:crypto";

/**
 * The fraud features, written once. Online (Redis) and offline (replay of the history) both
 * produce the same raw aggregates and both turn them into vectors with `assembleFraudFeatures`,
 * so the two paths cannot drift apart.
 *
 * Semantics follow the fraud-detection handbook's baseline features: customer windows include
 * the current transaction; terminal windows are shifted back by the label delay so their fraud
 * counts only use labels that exist at decision time.
 */
export const DAY_MS = 86_400_000;

export interface FraudFeatureConfig {
  /** Windows for the customer spending profile and the terminal risk, in days. */
  windowDays: readonly number[];
  /** How far terminal windows are shifted back: the time it takes for labels to be known. */
  labelDelayDays: number;
  /** Real-time velocity windows, in milliseconds. */
  velocityWindowsMs: readonly number[];
}

export const DEFAULT_FRAUD_FEATURE_CONFIG: FraudFeatureConfig = Object.freeze({
  windowDays: [1, 7, 30],
  labelDelayDays: 7,
  velocityWindowsMs: [10 * 60_000, 60 * 60_000],
});

export interface TransactionInput {
  transactionId: string;
  customerId: string;
  terminalId: string;
  /** Event time in epoch milliseconds (the transaction's own time, not the wall clock). */
  timeMs: number;
  amount: number;
}

export interface LabelInput {
  transactionId: string;
  terminalId: string;
  /** When the labelled transaction happened. */
  transactionTimeMs: number;
  /** When the label became known (chargeback time); it may be used from then on. */
  knownAtMs: number;
}

/** Integer aggregates: identical whether computed by Redis Lua or in memory. */
export interface FraudAggregates {
  customerCount: number[]; // per window
  customerCents: number[]; // per window
  customerVelocity: number[]; // per velocity window
  terminalCount: number[]; // per window, delayed
  terminalFrauds: number[]; // per window, delayed, labels known by now
  terminalVelocity: number[]; // per velocity window
}

function windowLabel(days: number): string {
  return `${days}DAY_WINDOW`;
}

function velocityLabel(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}HOUR` : `${ms / 60_000}MIN`;
}

export function fraudFeatureNames(config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG): string[] {
  const w = config.windowDays.map(windowLabel);
  const v = config.velocityWindowsMs.map(velocityLabel);
  return [
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    ...w.map((s) => `CUSTOMER_ID_NB_TX_${s}`),
    ...w.map((s) => `CUSTOMER_ID_AVG_AMOUNT_${s}`),
    ...w.map((s) => `TERMINAL_ID_NB_TX_${s}`),
    ...w.map((s) => `TERMINAL_ID_RISK_${s}`),
    ...v.map((s) => `CUSTOMER_ID_NB_TX_${s}`),
    ...v.map((s) => `TERMINAL_ID_NB_TX_${s}`),
  ];
}

/** Changes whenever the feature list or its semantics change; stored in model manifests. */
export function fraudFeatureSchemaHash(config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG): string {
  const text = JSON.stringify({ version: 1, names: fraudFeatureNames(config), config });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function toCents(amount: number): number {
  return Math.round(amount * 100);
}

/** Saturday or Sunday, in UTC. */
export function isWeekend(timeMs: number): boolean {
  const day = new Date(timeMs).getUTCDay();
  return day === 0 || day === 6;
}

/** Between midnight and 6 am (inclusive of the 6 o'clock hour's start), in UTC, as in the handbook. */
export function isNight(timeMs: number): boolean {
  return new Date(timeMs).getUTCHours() <= 6;
}

export function assembleFraudFeatures(
  tx: Pick<TransactionInput, "timeMs" | "amount">,
  agg: FraudAggregates,
  out: Float64Array = new Float64Array(3 + 4 * agg.customerCount.length + 2 * agg.customerVelocity.length),
): Float64Array {
  let i = 0;
  out[i++] = toCents(tx.amount) / 100;
  out[i++] = isWeekend(tx.timeMs) ? 1 : 0;
  out[i++] = isNight(tx.timeMs) ? 1 : 0;
  const windows = agg.customerCount.length;
  for (let w = 0; w < windows; w++) out[i++] = agg.customerCount[w] as number;
  for (let w = 0; w < windows; w++) {
    const n = agg.customerCount[w] as number;
    out[i++] = n > 0 ? (agg.customerCents[w] as number) / n / 100 : 0;
  }
  for (let w = 0; w < windows; w++) out[i++] = agg.terminalCount[w] as number;
  for (let w = 0; w < windows; w++) {
    const n = agg.terminalCount[w] as number;
    out[i++] = n > 0 ? (agg.terminalFrauds[w] as number) / n : 0;
  }
  for (const c of agg.customerVelocity) out[i++] = c;
  for (const c of agg.terminalVelocity) out[i++] = c;
  return out;
}

/** Everything older than this can be forgotten by the online store. */
export function retentionMs(config: FraudFeatureConfig): number {
  const longest = Math.max(...config.windowDays) * DAY_MS;
  const longestVelocity = Math.max(...config.velocityWindowsMs);
  return Math.max(longest + config.labelDelayDays * DAY_MS, longestVelocity) + DAY_MS;
}
