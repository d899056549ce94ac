import { DAY_MS, DEFAULT_FRAUD_FEATURE_CONFIG, toCents, type FraudAggregates, type FraudFeatureConfig, type LabelInput, type TransactionInput } from "./definitions";
import type { ClaimResult, FraudFeatureStore, TransactionRecord } from "./store";

/** Times kept sorted, with values alongside; appends are the common case (time order). */
class TimeSeries {
  times: number[] = [];
  values: number[] = [];

  insert(time: number, value: number): void {
    let i = this.times.length;
    while (i > 0 && (this.times[i - 1] as number) > time) i--;
    this.times.splice(i, 0, time);
    this.values.splice(i, 0, value);
  }

  /** Index of the first entry with time > bound. */
  upperBound(bound: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] as number) <= bound) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Entries in (from, to] whose value is at most `maxValue` (a label known by then). */
  countUpTo(from: number, to: number, maxValue: number): number {
    const end = this.upperBound(to);
    let count = 0;
    for (let i = end - 1; i >= 0 && (this.times[i] as number) > from; i--) if ((this.values[i] as number) <= maxValue) count++;
    return count;
  }

  /** Count and value sum over (from, to]. */
  window(from: number, to: number): { count: number; sum: number } {
    const end = this.upperBound(to);
    let sum = 0;
    let i = end - 1;
    for (; i >= 0 && (this.times[i] as number) > from; i--) sum += this.values[i] as number;
    return { count: end - 1 - i, sum };
  }
}

/**
 * The in-memory twin of the Redis store: the same aggregates from the same definitions. Used by
 * unit tests, by the embedded mode, and offline, where replaying the history through it in time
 * order gives point-in-time correct training features.
 */
export class MemoryFraudFeatureStore implements FraudFeatureStore {
  private readonly customers = new Map<string, TimeSeries>();
  private readonly terminals = new Map<string, TimeSeries>();
  private readonly terminalFrauds = new Map<string, TimeSeries>();
  private readonly seen = new Set<string>();
  private readonly labelled = new Map<string, { timeMs: number; knownAtMs: number }>();
  private readonly records = new Map<string, { record: TransactionRecord; answer: string | null }>();

  constructor(readonly config: FraudFeatureConfig = DEFAULT_FRAUD_FEATURE_CONFIG) {}

  async claim(transactionId: string, record: TransactionRecord): Promise<ClaimResult> {
    const existing = this.records.get(transactionId);
    if (!existing) {
      this.records.set(transactionId, { record: { ...record }, answer: null });
      return { kind: "new" };
    }
    return sameRecord(existing.record, record) ? { kind: "retry", answer: existing.answer } : { kind: "conflict", recorded: { ...existing.record } };
  }

  async saveAnswer(transactionId: string, answer: string): Promise<void> {
    const existing = this.records.get(transactionId);
    if (existing) existing.answer = answer;
  }

  async lookup(transactionId: string): Promise<TransactionRecord | null> {
    const existing = this.records.get(transactionId);
    return existing ? { ...existing.record } : null;
  }

  async observe(tx: TransactionInput): Promise<FraudAggregates> {
    return this.observeSync(tx);
  }

  observeSync(tx: TransactionInput): FraudAggregates {
    const t = tx.timeMs;
    const customer = series(this.customers, tx.customerId);
    const terminal = series(this.terminals, tx.terminalId);
    // Recording is idempotent (a retry adds nothing) but the aggregates are read afresh, as Redis does.
    if (!this.seen.has(tx.transactionId)) {
      customer.insert(t, toCents(tx.amount));
      terminal.insert(t, 0);
      this.seen.add(tx.transactionId);
    }
    const frauds = series(this.terminalFrauds, tx.terminalId);
    const delay = this.config.labelDelayDays * DAY_MS;

    const aggregates: FraudAggregates = {
      customerCount: [],
      customerCents: [],
      customerVelocity: [],
      terminalCount: [],
      terminalFrauds: [],
      terminalVelocity: [],
    };
    for (const days of this.config.windowDays) {
      const c = customer.window(t - days * DAY_MS, t);
      aggregates.customerCount.push(c.count);
      aggregates.customerCents.push(c.sum);
      const from = t - delay - days * DAY_MS;
      aggregates.terminalCount.push(terminal.window(from, t - delay).count);
      // A fraud counts only once its label is known by now (values hold when it became known).
      aggregates.terminalFrauds.push(frauds.countUpTo(from, t - delay, t));
    }
    for (const ms of this.config.velocityWindowsMs) {
      aggregates.customerVelocity.push(customer.window(t - ms, t).count);
      aggregates.terminalVelocity.push(terminal.window(t - ms, t).count);
    }
    return aggregates;
  }

  async applyKnownLabel(label: LabelInput): Promise<void> {
    this.applyKnownLabelSync(label);
  }

  applyKnownLabelSync(label: LabelInput): void {
    const frauds = series(this.terminalFrauds, label.terminalId);
    const before = this.labelled.get(label.transactionId);
    if (before !== undefined) {
      // Idempotent; a second label keeps the earlier time it became known, as the Redis store does.
      if (label.knownAtMs < before.knownAtMs) {
        const i = frauds.times.findIndex((time, j) => time === before.timeMs && frauds.values[j] === before.knownAtMs);
        if (i >= 0) frauds.values[i] = label.knownAtMs;
        before.knownAtMs = label.knownAtMs;
      }
      return;
    }
    this.labelled.set(label.transactionId, { timeMs: label.transactionTimeMs, knownAtMs: label.knownAtMs });
    frauds.insert(label.transactionTimeMs, label.knownAtMs);
  }
}

function series(map: Map<string, TimeSeries>, key: string): TimeSeries {
  let s = map.get(key);
  if (!s) {
    s = new TimeSeries();
    map.set(key, s);
  }
  return s;
}

export function sameRecord(a: TransactionRecord, b: TransactionRecord): boolean {
  return a.customerId === b.customerId && a.terminalId === b.terminalId && a.timeMs === b.timeMs && a.cents === b.cents;
}
