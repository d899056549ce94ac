import type { FraudLabel, ScoreTransactionRequest, ScoreTransactionResponse, SubmitLabelRequest, WorldFraudOutcomePayload, WorldFraudScenario } from "@mlsd/contracts";
import type { TransactionTable } from "@mlsd/datasets";
import { Rng } from "@mlsd/random";
import { createFraudWorld, FRAUD_SCENARIO, resolveFraudWorldOptions, SECONDS_PER_DAY, streamTransactionDays, type FraudDrift, type FraudWorldInput, type FraudWorldOptions } from "@mlsd/synth";
import type { WorldDrift } from "./drift";
import { DAY_MS } from "./timeline";

export interface WorldTransaction {
  id: string;
  customerId: string;
  terminalId: string;
  amount: number;
  /** World epoch ms. */
  timeMs: number;
  fraud: boolean;
  scenario: WorldFraudScenario;
  /** When the world reveals the label (chargeback, or the legitimate window closing), epoch ms. */
  labelKnownAtMs: number;
}

export interface CardHoldersOptions {
  /** The world the model was trained on: same preset, size, seed and start date; its `days` are the training history. */
  world: FraudWorldInput;
  /** World days simulated past the history (the stream ends there). */
  horizonDays: number;
  /** Fraud drifts (card testing, terminal waves), at world times. */
  drift?: readonly Extract<WorldDrift, { kind: "card-testing" | "terminal-wave" }>[];
  /** Share of customers who take part (1: all). Fewer customers thin the terminals' traffic: terminal features drift. */
  customerShare?: number;
  /** Share of legitimate transactions whose confirmation is posted as a label when its window closes (default 1). */
  confirmShare?: number;
  /** Whether declined transactions get labels: "all" as in the training data, "none" to show selective labels. */
  declinedLabels?: "all" | "none";
  seed: number;
}

const SCENARIO_NAMES: Record<number, WorldFraudScenario> = {
  [FRAUD_SCENARIO.none]: "none",
  [FRAUD_SCENARIO.amount]: "amount",
  [FRAUD_SCENARIO.terminal]: "terminal",
  [FRAUD_SCENARIO.customer]: "customer",
  [FRAUD_SCENARIO.burst]: "burst",
  [FRAUD_SCENARIO.cardTesting]: "card-testing",
};

/** How many trailing history days measure the world's daily rates. */
const RATE_DAYS = 28;

/**
 * The transaction world, live: the same customers and terminals as the training history, whose
 * transactions go on where the history stopped (the same generator, run past the history's last
 * day), each sent for scoring at its own time, with its label posted when the world reveals it.
 */
export class CardHolders {
  readonly options: FraudWorldOptions;
  /** World epoch ms where the history ends and the live stream starts. */
  readonly startMs: number;
  /** Transactions and frauds per world day over the history's last days, among the customers taking part. */
  readonly perDay: { transactions: number; frauds: number };
  private readonly days: Generator<TransactionTable>;
  private table: TransactionTable | null = null;
  private row = 0;
  private readonly included: Uint8Array | null;
  private readonly rng: Rng;
  private readonly confirmShare: number;
  private readonly declinedLabels: "all" | "none";

  constructor(options: CardHoldersOptions) {
    const base = resolveFraudWorldOptions(options.world);
    const share = options.customerShare ?? 1;
    if (!(share > 0 && share <= 1)) throw new RangeError(`customerShare must be in (0, 1], got ${share}`);
    this.confirmShare = options.confirmShare ?? 1;
    if (!(this.confirmShare >= 0 && this.confirmShare <= 1)) throw new RangeError(`confirmShare must be in [0, 1], got ${this.confirmShare}`);
    this.declinedLabels = options.declinedLabels ?? "all";
    if (!(options.horizonDays >= 1)) throw new RangeError(`horizonDays must be >= 1, got ${options.horizonDays}`);
    this.options = base;
    // One generator run past the history: the same customers, terminals and compromises, going on.
    const world = createFraudWorld({ ...base, days: base.days + Math.ceil(options.horizonDays) });
    const originMs = world.originEpochSeconds * 1000;
    this.startMs = originMs + base.days * DAY_MS;
    const drift: FraudDrift[] = (options.drift ?? []).map((d) =>
      d.kind === "card-testing"
        ? { kind: d.kind, startSeconds: (d.at - originMs) / 1000, cardsPerDay: d.cardsPerDay, burst: d.burst, amount: d.amount, spreadMinutes: d.spreadMinutes, seed: options.seed + 31 }
        : { kind: d.kind, startSeconds: (d.at - originMs) / 1000, terminals: d.terminals, days: d.days, seed: options.seed + 37 },
    );
    for (const d of drift) {
      if (d.startSeconds < base.days * SECONDS_PER_DAY) throw new RangeError(`a ${d.kind} drift must start after the history ends (${new Date(this.startMs).toISOString()})`);
    }
    this.rng = new Rng(options.seed);
    if (share < 1) {
      const pick = new Rng(options.seed ^ 0x3c3c3c3c);
      this.included = Uint8Array.from({ length: base.customers }, () => (pick.next() < share ? 1 : 0));
    } else this.included = null;
    this.days = streamTransactionDays(world, { drift });
    let transactions = 0;
    let frauds = 0;
    for (let d = 0; d < base.days; d++) {
      const day = this.days.next().value as TransactionTable;
      if (d < base.days - RATE_DAYS) continue;
      for (let i = 0; i < day.length; i++) {
        if (this.included && this.included[day.customerId[i] as number] === 0) continue;
        transactions++;
        frauds += day.fraud[i] as number;
      }
    }
    const measured = Math.min(RATE_DAYS, base.days);
    this.perDay = { transactions: transactions / measured, frauds: frauds / measured };
  }

  /** The next transaction of the customers taking part, in time order; null past the horizon. */
  next(): WorldTransaction | null {
    for (;;) {
      while (this.table === null || this.row >= this.table.length) {
        const next = this.days.next();
        if (next.done) return null;
        this.table = next.value;
        this.row = 0;
      }
      const t = this.table;
      const i = this.row++;
      const customer = t.customerId[i] as number;
      if (this.included && this.included[customer] === 0) continue;
      const origin = t.originEpochSeconds;
      return {
        id: String(t.transactionId[i]),
        customerId: String(customer),
        terminalId: String(t.terminalId[i]),
        amount: t.amount[i] as number,
        timeMs: (origin + (t.timeSeconds[i] as number)) * 1000,
        fraud: t.fraud[i] === 1,
        scenario: SCENARIO_NAMES[t.fraudScenario[i] as number] ?? "none",
        labelKnownAtMs: (origin + (t.labelKnownAt[i] as number)) * 1000,
      };
    }
  }

  scoreRequest(tx: WorldTransaction): ScoreTransactionRequest {
    return { transactionId: tx.id, customerId: tx.customerId, terminalId: tx.terminalId, amount: tx.amount, time: new Date(tx.timeMs).toISOString() };
  }

  /**
   * The ground truth of a decision and the label the world will post, if any: a fraud comes back
   * as a chargeback when it was approved and as a confirmed fraud when it was stopped; a
   * legitimate transaction is confirmed when its window closes (for `confirmShare` of them).
   */
  decide(tx: WorldTransaction, answer: ScoreTransactionResponse, drift: readonly string[]): { outcome: WorldFraudOutcomePayload; label: { at: number; body: SubmitLabelRequest } | null } {
    let label: FraudLabel | null;
    if (answer.decision === "decline" && this.declinedLabels === "none") label = null;
    else if (tx.fraud) label = answer.decision === "approve" ? "chargeback" : "fraud_confirmed";
    else label = this.confirmShare >= 1 || this.rng.next() < this.confirmShare ? "legitimate" : null;
    const knownAt = new Date(tx.labelKnownAtMs).toISOString();
    return {
      outcome: {
        transactionId: tx.id,
        customerId: tx.customerId,
        terminalId: tx.terminalId,
        amount: tx.amount,
        time: new Date(tx.timeMs).toISOString(),
        fraud: tx.fraud,
        scenario: tx.scenario,
        decision: answer.decision,
        decidedBy: answer.decidedBy,
        score: answer.score,
        modelVersion: answer.modelVersion,
        degraded: answer.degraded,
        labelAt: label === null ? null : knownAt,
        drift: [...drift],
      },
      label:
        label === null
          ? null
          : { at: tx.labelKnownAtMs, body: { transactionId: tx.id, customerId: tx.customerId, terminalId: tx.terminalId, label, transactionTime: new Date(tx.timeMs).toISOString(), knownAt } },
    };
  }
}
