import type { AnyEvent, Arm, ShadowPredictionPayload, WorldRecsOutcomePayload } from "@mlsd/contracts";
import { MeanStat } from "@mlsd/rollout-stats";
import { ArmAccumulators, emptyArms, ShadowHealth, meanOrNull, PerUnitRatio, ratio, type ArmView, type EvalView } from "./arm";
import { ExpiringMap } from "./expiring";

export interface RecsOnlineEvalOptions {
  /** The stage whose arms are compared: the ranker's or retrieval's (`recs.served` carries both). */
  stage: "ranker" | "retrieval";
  /** The registry model of that stage (shadow predictions are matched by it). */
  model: string;
  /** A click counts for the answer it names within this long after it was served (event time). */
  attributionMs: number;
  /**
   * What NDCG is measured against: the simulated world's true relevance (world.recs-outcome, the
   * lab's ground truth), or the clicks that came back within the attribution window (production).
   */
  truth: "world" | "clicks";
  /** Events before this time (ms) are ignored: a stage counts from its start. */
  since?: number;
  /** Answers waiting for their clicks or truth (default 200,000). */
  maxPending?: number;
}

interface Served {
  arm: Arm;
  userId: string;
  t: number;
  items: string[];
  clicked: Set<string>;
}

interface ArmRecs extends ArmAccumulators {
  ctr: PerUnitRatio;
  ndcg: MeanStat;
}

/**
 * Recommendation arms from the log: CTR per user (clicks over impressions, one unit per user),
 * NDCG of what was served against the truth, the recommender's latency, and the share of answers
 * a fallback gave. In shadow, the challenger's order of the served items is scored against the
 * same truth as the order that was served (a paired comparison on the same requests).
 */
export class RecsOnlineEval {
  private readonly arms = emptyArms<ArmRecs>(() => Object.assign(new ArmAccumulators(), { ctr: new PerUnitRatio(), ndcg: new MeanStat() }));
  private readonly shadowNdcg = emptyArms(() => new MeanStat());
  private readonly shadowHealth = new ShadowHealth();
  private readonly served: ExpiringMap<Served>;
  private readonly outcomes: ExpiringMap<WorldRecsOutcomePayload>;
  private readonly shadows: ExpiringMap<ShadowPredictionPayload>;
  private latest = 0;

  constructor(private readonly options: RecsOnlineEvalOptions) {
    const max = options.maxPending ?? 200_000;
    this.served = new ExpiringMap(options.attributionMs, max, (id, s) => this.settle(id, s));
    this.outcomes = new ExpiringMap(options.attributionMs, max);
    this.shadows = new ExpiringMap(options.attributionMs, max);
  }

  observe(event: AnyEvent): void {
    const t = Date.parse(event.eventTime);
    if (t < (this.options.since ?? -Infinity)) return;
    if (t > this.latest) {
      this.latest = t;
      this.served.expire(t);
      this.outcomes.expire(t);
      this.shadows.expire(t);
    }
    switch (event.type) {
      case "recs.served": {
        const p = event.payload;
        const arm = p.arms[this.options.stage];
        if (arm === undefined) return;
        const a = this.arms[arm];
        a.answered(p.userId, p.latencyMs, p.fallback !== null);
        a.ctr.add(p.userId, 0, p.items.length);
        const served: Served = { arm, userId: p.userId, t, items: p.items.map((i) => i.itemId), clicked: new Set() };
        this.served.set(p.requestId, served, t);
        const outcome = this.outcomes.delete(p.requestId);
        if (outcome) this.judgeWorld(p.requestId, served, outcome);
        return;
      }
      case "recs.click": {
        const s = this.served.get(event.payload.requestId);
        if (!s || s.userId !== event.payload.userId || s.clicked.has(event.payload.itemId) || !s.items.includes(event.payload.itemId) || t - s.t > this.options.attributionMs) return;
        s.clicked.add(event.payload.itemId);
        this.arms[s.arm].ctr.add(s.userId, 1, 0);
        return;
      }
      case "world.recs-outcome": {
        if (this.options.truth !== "world") return;
        const s = this.served.get(event.payload.requestId);
        if (s) this.judgeWorld(event.payload.requestId, s, event.payload);
        else this.outcomes.set(event.payload.requestId, event.payload, t);
        return;
      }
      case "ml.shadow-prediction": {
        const p = event.payload;
        if (p.model !== this.options.model) return;
        this.shadowHealth.observe(p);
        if (p.prediction?.kind === "ranking") this.shadows.set(p.requestId, p, t);
        return;
      }
      default:
        return;
    }
  }

  /** The arms as the rollout reads them: split (canary, A/B) or shadow (paired on the same answers). */
  view(mode: "split" | "shadow"): EvalView {
    if (mode === "shadow") {
      const arm = (a: Arm): ArmView => this.shadowHealth.view(a, this.shadowNdcg[a], { ndcg: meanOrNull(this.shadowNdcg[a]), judged: this.shadowNdcg[a].count });
      return { mode, primaryMetric: `ndcg (${this.options.truth}) of the served items in each model's order`, direction: "higher-is-better", current: arm("current"), challenger: arm("challenger") };
    }
    const arm = (a: Arm): ArmView => {
      const r = this.arms[a];
      return {
        primary: r.ctr.stat,
        latency: r.latency,
        errors: r.errors,
        requests: r.requests,
        units: r.units.size,
        summary: { ctr: ratio(r.ctr.stat.numerator, r.ctr.stat.denominator), clicks: r.ctr.stat.numerator, impressions: r.ctr.stat.denominator, ndcg: meanOrNull(r.ndcg), fallbackRate: r.errors.trials > 0 ? r.errors.rate : null },
      };
    };
    return { mode, primaryMetric: "ctr per user (clicks / impressions)", direction: "higher-is-better", current: arm("current"), challenger: arm("challenger") };
  }

  private judgeWorld(requestId: string, served: Served, outcome: WorldRecsOutcomePayload): void {
    const relevance = new Map(outcome.items.map((i) => [i.itemId, i.relevance ?? 0]));
    const ideal = outcome.idealDcg ?? idealDcg([...relevance.values()]);
    if (ideal > 0) this.arms[served.arm].ndcg.observe(dcg(served.items, relevance) / ideal);
    this.judgeShadow(requestId, served.items, relevance);
  }

  /** Without a world, an answer is judged by its clicks once its attribution window closes. */
  private settle(requestId: string, served: Served): void {
    if (this.options.truth !== "clicks") return;
    const relevance = new Map(served.items.map((id) => [id, served.clicked.has(id) ? 1 : 0]));
    const ideal = idealDcg([...relevance.values()]);
    if (ideal > 0) this.arms[served.arm].ndcg.observe(dcg(served.items, relevance) / ideal);
    this.judgeShadow(requestId, served.items, relevance);
  }

  /** The served items in the order served, and in the challenger's order, against the same truth. */
  private judgeShadow(requestId: string, items: readonly string[], relevance: ReadonlyMap<string, number>): void {
    const shadow = this.shadows.delete(requestId);
    if (!shadow || shadow.prediction?.kind !== "ranking") return;
    const ideal = idealDcg(items.map((id) => relevance.get(id) ?? 0));
    if (ideal <= 0) return;
    const shadowScore = new Map(shadow.prediction.items.map((i) => [i.itemId, i.shadow]));
    const reordered = [...items].sort((a, b) => (shadowScore.get(b) ?? -Infinity) - (shadowScore.get(a) ?? -Infinity));
    this.shadowNdcg.current.observe(dcg(items, relevance) / ideal);
    this.shadowNdcg.challenger.observe(dcg(reordered, relevance) / ideal);
  }
}

/** Gain = relevance, discount 1 / log2(position + 2), positions 0-based: the world's definition. */
export function dcg(order: readonly string[], relevance: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (let i = 0; i < order.length; i++) sum += (relevance.get(order[i] as string) ?? 0) / Math.log2(i + 2);
  return sum;
}

function idealDcg(relevances: readonly number[]): number {
  return [...relevances].sort((a, b) => b - a).reduce((s, r, i) => s + r / Math.log2(i + 2), 0);
}
