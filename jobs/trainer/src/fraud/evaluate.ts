import type { TransactionTable } from "@mlsd/datasets";
import { averagePrecision, cardPrecisionAtK, expectedCalibrationError, prCurve, reliabilityTable, rocAuc, type ReliabilityBin } from "@mlsd/ml-metrics";

/** The handbook's three headline metrics (its chapter 4). */
export interface RankingMetrics {
  auc: number;
  ap: number;
  /** Card precision@100: per day, of the 100 cards with the highest transaction score, the share truly compromised; averaged over the days. */
  cp100: number;
}

export const CARD_PRECISION_K = 100;

function truth(table: TransactionTable, rows: Int32Array): Float64Array {
  return Float64Array.from(rows, (i) => table.fraud[i] as number);
}

/** Scored against the ground truth of the assessed rows (every fraud, known to the trainer or not). */
export function rankingMetrics(table: TransactionTable, rows: Int32Array, scores: Float64Array): RankingMetrics {
  const labels = truth(table, rows);
  const frauds = labels.reduce((s, v) => s + v, 0);
  if (frauds === 0 || frauds === rows.length) {
    const days = rows.length ? `days ${table.timeDays[rows[0] as number]}-${table.timeDays[rows[rows.length - 1] as number]}` : "an empty window";
    throw new RangeError(`${days}: ${rows.length} assessed rows with ${frauds} frauds; AUC and AP need both classes (use longer windows or a larger world)`);
  }
  return {
    auc: rocAuc(labels, scores),
    ap: averagePrecision(labels, scores),
    cp100: cardPrecisionAtK(
      {
        days: Float64Array.from(rows, (i) => table.timeDays[i] as number),
        customers: Float64Array.from(rows, (i) => table.customerId[i] as number),
        labels,
        scores,
      },
      CARD_PRECISION_K,
      { removeDetected: true },
    ).mean,
  };
}

export interface FraudEvaluation extends RankingMetrics {
  rows: number;
  frauds: number;
  /** Mean score on the assessed rows: beside the fraud rate, it says whether scores read as probabilities. */
  meanScore: number;
  ece: number;
  reliability: ReliabilityBin[];
  pr: { precision: number[]; recall: number[] };
}

/** The ranking metrics plus calibration and the precision-recall curve, for the published model's test window. */
export function evaluateScores(table: TransactionTable, rows: Int32Array, scores: Float64Array): FraudEvaluation {
  const labels = truth(table, rows);
  const curve = prCurve(labels, scores);
  // Thin the curve to at most ~400 points: enough for a smooth SVG, small enough to read.
  const step = Math.max(1, Math.floor(curve.precision.length / 400));
  const pr = { precision: [] as number[], recall: [] as number[] };
  for (let j = 0; j < curve.precision.length; j += step) {
    pr.precision.push(curve.precision[j] as number);
    pr.recall.push(curve.recall[j] as number);
  }
  return {
    ...rankingMetrics(table, rows, scores),
    rows: rows.length,
    frauds: labels.reduce((s, v) => s + v, 0),
    meanScore: scores.reduce((s, v) => s + v, 0) / Math.max(1, scores.length),
    ece: expectedCalibrationError(labels, scores, 10),
    reliability: reliabilityTable(labels, scores, 10),
    pr,
  };
}

export interface Spread {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  sd: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("spread of no values");
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

export function meanMetrics(list: readonly RankingMetrics[]): RankingMetrics {
  return { auc: spread(list.map((m) => m.auc)).mean, ap: spread(list.map((m) => m.ap)).mean, cp100: spread(list.map((m) => m.cp100)).mean };
}
