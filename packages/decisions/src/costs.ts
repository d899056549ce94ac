/**
 * The money side of a fraud decision. A missed fraud costs its amount; declining a good
 * customer costs friction (support calls, churn); a manual review costs analyst time and only
 * `reviewCapacityPerDay` reviews happen per day: the rest of the review queue is approved unseen.
 */
export interface DecisionCosts {
  declineFriction: number;
  reviewCost: number;
  reviewCapacityPerDay: number;
}

export const DEFAULT_DECISION_COSTS: DecisionCosts = Object.freeze({
  declineFriction: 10,
  reviewCost: 2,
  reviewCapacityPerDay: 50,
});

export interface Thresholds {
  review: number;
  decline: number;
}

export interface CostedRows {
  scores: ArrayLike<number>;
  fraud: ArrayLike<number>;
  amount: ArrayLike<number>;
  day: ArrayLike<number>;
}

export interface PolicyCost {
  thresholds: Thresholds;
  total: number;
  missedFraudAmount: number;
  friction: number;
  reviewSpend: number;
  declined: number;
  reviewed: number;
  /** Sent to review but beyond the day's capacity, so approved unseen. */
  overflow: number;
  fraudCaught: number;
}

/** Rows ordered by score, highest first, within each day: the review queue order. */
function queueOrder(rows: CostedRows): Int32Array {
  const n = rows.scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (rows.day[a] as number) - (rows.day[b] as number) || (rows.scores[b] as number) - (rows.scores[a] as number));
  return order;
}

export function policyCost(rows: CostedRows, thresholds: Thresholds, costs: DecisionCosts, order = queueOrder(rows)): PolicyCost {
  const out: PolicyCost = { thresholds, total: 0, missedFraudAmount: 0, friction: 0, reviewSpend: 0, declined: 0, reviewed: 0, overflow: 0, fraudCaught: 0 };
  let currentDay = Number.NaN;
  let reviewsToday = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    const day = rows.day[i] as number;
    if (day !== currentDay) {
      currentDay = day;
      reviewsToday = 0;
    }
    const score = rows.scores[i] as number;
    const fraud = (rows.fraud[i] as number) === 1;
    const amount = rows.amount[i] as number;
    if (score >= thresholds.decline) {
      out.declined++;
      if (fraud) out.fraudCaught++;
      else out.friction += costs.declineFriction;
    } else if (score >= thresholds.review && reviewsToday < costs.reviewCapacityPerDay) {
      reviewsToday++;
      out.reviewed++;
      out.reviewSpend += costs.reviewCost;
      if (fraud) out.fraudCaught++;
    } else {
      if (score >= thresholds.review) out.overflow++;
      if (fraud) out.missedFraudAmount += amount;
    }
  }
  out.total = out.missedFraudAmount + out.friction + out.reviewSpend;
  return out;
}

/**
 * The (review, decline) pair with the lowest total cost on the given rows, searched over score
 * quantiles (where the decisions actually change) plus a fixed grid.
 */
export function chooseThresholds(rows: CostedRows, costs: DecisionCosts, gridSize = 60): PolicyCost {
  const sorted = Float64Array.from(rows.scores).sort();
  const candidates = new Set<number>([0.5, 1.01]);
  for (let g = 1; g <= gridSize; g++) candidates.add(g / (gridSize + 1));
  // The upper tail, where fraud lives, gets denser candidates.
  for (let g = 0; g < gridSize; g++) {
    const q = 1 - Math.pow(10, -1 - (3 * g) / gridSize);
    candidates.add(Math.round((sorted[Math.floor(q * (sorted.length - 1))] ?? 0.5) * 1e6) / 1e6);
  }
  const grid = [...candidates].sort((a, b) => a - b);
  const order = queueOrder(rows);
  let best: PolicyCost | undefined;
  for (let i = 0; i < grid.length; i++) {
    for (let j = i; j < grid.length; j++) {
      const cost = policyCost(rows, { review: grid[i] as number, decline: grid[j] as number }, costs, order);
      if (!best || cost.total < best.total) best = cost;
    }
  }
  return best as PolicyCost;
}

/**
 * Per-transaction expected-value rule, for decisions where the score is used as a probability:
 * declining saves the amount with probability p and costs the friction with probability 1 - p, so
 * decline when p * amount - (1 - p) * friction >= 0. The margins returned are that difference; as
 * `scores` with thresholds { review: Infinity, decline: 0 } they make `policyCost` cost the rule.
 */
export function expectedValueMargins(probabilities: ArrayLike<number>, amounts: ArrayLike<number>, costs: Pick<DecisionCosts, "declineFriction">): Float64Array {
  if (probabilities.length !== amounts.length) throw new RangeError(`amounts: length ${amounts.length} differs from probabilities length ${probabilities.length}`);
  return Float64Array.from({ length: probabilities.length }, (_, i) => {
    const p = probabilities[i] as number;
    return p * (amounts[i] as number) - (1 - p) * costs.declineFriction;
  });
}

/** The per-transaction part of the cost model (no daily review capacity). */
export type TransactionCosts = Pick<DecisionCosts, "declineFriction" | "reviewCost">;

/**
 * One decision's cost once the truth is known: a missed fraud costs its amount, a declined good
 * customer the friction, a review the analyst's time (a reviewed fraud is caught). The daily review
 * capacity is left out: judged online, both arms of a rollout see the same day, so it would not
 * change which costs less per transaction, and an arm's share of the queue is not known per transaction.
 */
export function transactionCost(decision: "approve" | "review" | "decline", fraud: boolean, amount: number, costs: TransactionCosts): number {
  if (decision === "decline") return fraud ? 0 : costs.declineFriction;
  if (decision === "review") return costs.reviewCost;
  return fraud ? amount : 0;
}
