import { averagePrecision } from "@mlsd/ml-metrics";
import type { AnyEvent, Arm, FraudDecision } from "@mlsd/contracts";
import { MeanStat, ProportionStat } from "@mlsd/rollout-stats";
import { ArmAccumulators, emptyArms, ShadowHealth, meanOrNull, type ArmView, type EvalView } from "./arm";
import { transactionCost, type TransactionCosts } from "@mlsd/decisions";
import { ExpiringMap } from "./expiring";

export interface FraudOnlineEvalOptions {
  model: string;
  costs: TransactionCosts;
  /** A label counts for a decision made at most this long before it became known (event time). */
  labelHorizonMs: number;
  since?: number;
  /** Decisions waiting for their label (default 500,000). */
  maxPending?: number;
  /** Labelled (score, label) pairs kept per arm for average precision (default 50,000, newest kept). */
  maxScored?: number;
}

interface Decided {
  arm: Arm;
  decision: FraudDecision;
  score: number;
}

interface ShadowPair {
  serving: { probability: number; decision: FraudDecision };
  shadow: { probability: number; decision: FraudDecision };
}

interface ArmFraud extends ArmAccumulators {
  cost: MeanStat;
  declines: ProportionStat;
  scored: { score: number[]; label: number[] };
}

/**
 * Fraud arms from the log: cost per labelled transaction (the primary metric, lower is better),
 * average precision and decline rate, latency, and the share of degraded answers. Rule decisions
 * are left out: both arms decide them the same way. In shadow, each labelled transaction is costed
 * under the decision served and under the shadow's (paired on the same transactions).
 */
export class FraudOnlineEval {
  private readonly arms = emptyArms<ArmFraud>(() =>
    Object.assign(new ArmAccumulators(), { cost: new MeanStat(), declines: new ProportionStat(), scored: { score: [] as number[], label: [] as number[] } }),
  );
  private readonly shadowCost = emptyArms(() => new MeanStat());
  private readonly shadowScored = emptyArms(() => ({ score: [] as number[], label: [] as number[] }));
  private readonly shadowDeclines = emptyArms(() => new ProportionStat());
  private readonly shadowHealth = new ShadowHealth();
  private readonly amounts: ExpiringMap<number>;
  private readonly decisions: ExpiringMap<Decided>;
  private readonly shadows: ExpiringMap<ShadowPair>;
  private readonly maxScored: number;
  private latest = 0;

  constructor(private readonly options: FraudOnlineEvalOptions) {
    const max = options.maxPending ?? 500_000;
    this.amounts = new ExpiringMap(options.labelHorizonMs, max);
    this.decisions = new ExpiringMap(options.labelHorizonMs, max);
    this.shadows = new ExpiringMap(options.labelHorizonMs, max);
    this.maxScored = options.maxScored ?? 50_000;
  }

  observe(event: AnyEvent): void {
    const t = Date.parse(event.eventTime);
    if (t > this.latest) {
      this.latest = t;
      this.amounts.expire(t);
      this.decisions.expire(t);
      this.shadows.expire(t);
    }
    const since = this.options.since ?? -Infinity;
    switch (event.type) {
      case "fraud.transaction":
        if (t >= since) this.amounts.set(event.payload.transactionId, event.payload.amount, t);
        return;
      case "fraud.decision": {
        const p = event.payload;
        if (t < since || p.decidedBy === "rules") return;
        const a = this.arms[p.arm];
        a.answered(p.customerId, p.latencyMs, p.decidedBy === "fallback");
        a.declines.observe(p.decision === "decline");
        this.decisions.set(p.transactionId, { arm: p.arm, decision: p.decision, score: p.score }, t);
        return;
      }
      case "ml.shadow-prediction": {
        const p = event.payload;
        if (t < since || p.model !== this.options.model) return;
        this.shadowHealth.observe(p);
        if (p.prediction?.kind !== "fraud") return;
        this.shadowDeclines.current.observe(p.prediction.serving.decision === "decline");
        this.shadowDeclines.challenger.observe(p.prediction.shadow.decision === "decline");
        this.shadows.set(p.requestId, { serving: p.prediction.serving, shadow: p.prediction.shadow }, t);
        return;
      }
      case "fraud.label": {
        const p = event.payload;
        const fraud = p.label !== "legitimate";
        const amount = this.amounts.get(p.transactionId);
        const decided = this.decisions.delete(p.transactionId);
        if (decided && amount !== undefined) {
          const a = this.arms[decided.arm];
          a.cost.observe(transactionCost(decided.decision, fraud, amount, this.options.costs));
          this.keep(a.scored, decided.score, fraud);
        }
        const pair = this.shadows.delete(p.transactionId);
        if (pair && amount !== undefined) {
          this.shadowCost.current.observe(transactionCost(pair.serving.decision, fraud, amount, this.options.costs));
          this.shadowCost.challenger.observe(transactionCost(pair.shadow.decision, fraud, amount, this.options.costs));
          this.keep(this.shadowScored.current, pair.serving.probability, fraud);
          this.keep(this.shadowScored.challenger, pair.shadow.probability, fraud);
        }
        return;
      }
      default:
        return;
    }
  }

  view(mode: "split" | "shadow"): EvalView {
    if (mode === "shadow") {
      const arm = (a: Arm): ArmView => this.shadowHealth.view(a, this.shadowCost[a], { costPerTransaction: meanOrNull(this.shadowCost[a]), labelled: this.shadowCost[a].count, averagePrecision: ap(this.shadowScored[a]), declineRate: rate(this.shadowDeclines[a]) });
      return { mode, primaryMetric: "cost per labelled transaction", direction: "lower-is-better", current: arm("current"), challenger: arm("challenger") };
    }
    const arm = (a: Arm): ArmView => {
      const f = this.arms[a];
      return {
        primary: f.cost,
        latency: f.latency,
        errors: f.errors,
        requests: f.requests,
        units: f.units.size,
        summary: { costPerTransaction: meanOrNull(f.cost), labelled: f.cost.count, averagePrecision: ap(f.scored), declineRate: rate(f.declines), degradedRate: rate(f.errors) },
      };
    };
    return { mode, primaryMetric: "cost per labelled transaction", direction: "lower-is-better", current: arm("current"), challenger: arm("challenger") };
  }

  private keep(into: { score: number[]; label: number[] }, score: number, fraud: boolean): void {
    into.score.push(score);
    into.label.push(fraud ? 1 : 0);
    if (into.score.length > this.maxScored) {
      into.score.shift();
      into.label.shift();
    }
  }
}

function ap(s: { score: number[]; label: number[] }): number | null {
  return s.label.includes(1) && s.label.includes(0) ? averagePrecision(s.label, s.score) : null;
}

function rate(p: ProportionStat): number | null {
  return p.trials > 0 ? p.rate : null;
}
