import type { FeatureImportance } from "@mlsd/gbdt";
import { averagePrecision, cardPrecisionAtK, expectedCalibrationError, prCurve, reliabilityTable, rocAuc, type ReliabilityBin } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import type { DecisionCosts, PolicyCost } from "@mlsd/decisions";
import type { TimeSplit, TransactionTable } from "@mlsd/datasets";

export interface FraudEvaluation {
  rows: number;
  frauds: number;
  rocAuc: number;
  averagePrecision: number;
  /** Mean over test days of the top-100 cards' precision, detected cards removed (handbook). */
  cardPrecisionAt100: number;
  ece: number;
  reliability: ReliabilityBin[];
  pr: { precision: number[]; recall: number[] };
}

/** Scored against the ground truth of the test window (every fraud, known or not yet). */
export function evaluateScores(table: TransactionTable, rows: Int32Array, scores: Float64Array, _split: TimeSplit): FraudEvaluation {
  const labels = Float64Array.from(rows, (i) => table.fraud[i] as number);
  const curve = prCurve(labels, scores);
  // Thin the curve to at most ~400 points: enough for a smooth SVG, small enough to read.
  const step = Math.max(1, Math.floor(curve.precision.length / 400));
  const pr = { precision: [] as number[], recall: [] as number[] };
  for (let j = 0; j < curve.precision.length; j += step) {
    pr.precision.push(curve.precision[j] as number);
    pr.recall.push(curve.recall[j] as number);
  }
  return {
    rows: rows.length,
    frauds: labels.reduce((s, v) => s + v, 0),
    rocAuc: rocAuc(labels, scores),
    averagePrecision: averagePrecision(labels, scores),
    cardPrecisionAt100: cardPrecisionAtK(
      {
        days: Float64Array.from(rows, (i) => table.timeDays[i] as number),
        customers: Float64Array.from(rows, (i) => table.customerId[i] as number),
        labels,
        scores,
      },
      100,
      { removeDetected: true },
    ).mean,
    ece: expectedCalibrationError(labels, scores, 10),
    reliability: reliabilityTable(labels, scores, 10),
    pr,
  };
}

export interface FraudReportInput {
  version: string;
  describe: Record<string, unknown>;
  split: TimeSplit;
  days: (d: number) => string;
  evaluation: FraudEvaluation;
  chosen: PolicyCost;
  atHalf: PolicyCost;
  costs: DecisionCosts;
  importance: FeatureImportance[];
  trees: number;
  trainSeconds: number;
  scalePosWeight: number;
  rows: { train: number; valid: number; test: number; positives: number; hidden: number };
  prCurvePath: string;
}

function shares(importance: FeatureImportance[]): { name: string; share: number }[] {
  const total = importance.reduce((s, i) => s + i.importance, 0) || 1;
  return importance.map((i) => ({ name: i.name, share: i.importance / total }));
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "n/a");
const money = (x: number) => Math.round(x).toLocaleString("en-US");

export function renderFraudReport(input: FraudReportInput): { markdown: string; prCurveSvg: string } {
  const { evaluation: e, split, days, chosen, atHalf, costs } = input;
  const prevalence = e.frauds / Math.max(1, e.rows);
  const svg = lineChart({
    title: "Fraud GBDT: precision-recall on the test window",
    xLabel: "recall",
    yLabel: "precision",
    series: [{ name: `GBDT (AP ${f4(e.averagePrecision)})`, points: e.pr.recall.map((r, j) => [r, e.pr.precision[j] as number] as const), markers: false }],
    hLines: [{ y: prevalence, label: `prevalence ${(prevalence * 100).toFixed(2)} %` }],
    xDomain: [0, 1],
    yDomain: [0, 1],
  });
  const policyRow = (name: string, p: PolicyCost) =>
    `| ${name} | ${f4(p.thresholds.review)} | ${f4(p.thresholds.decline)} | ${p.declined} | ${p.reviewed} | ${p.overflow} | ${p.fraudCaught} | ${money(p.missedFraudAmount)} | ${money(p.friction)} | ${money(p.reviewSpend)} | **${money(p.total)}** |`;
  const lines = [
    `# Fraud model ${input.version}`,
    "",
    `Data: ${Object.entries(input.describe).map(([k, v]) => `${k} ${String(v)}`).join(", ")}.`,
    "",
    "## Windows (time-based, never random)",
    "",
    "| window | days | dates | rows |",
    "|---|---|---|---|",
    `| train | ${split.train[0]}-${split.train[1] - 1} | ${days(split.train[0])} .. ${days(split.train[1] - 1)} | ${input.rows.train} (${input.rows.positives} known frauds; ${input.rows.hidden} not yet known at the cutoff, trained as legitimate) |`,
    `| validation | ${split.valid[0]}-${split.valid[1] - 1} | ${days(split.valid[0])} .. ${days(split.valid[1] - 1)} | ${input.rows.valid} |`,
    `| delay | ${split.spec.delayDays} days | labels of these days are not known at deployment | - |`,
    `| test | ${split.test[0]}-${split.test[1] - 1} | ${days(split.test[0])} .. ${days(split.test[1] - 1)} | ${input.rows.test} (${e.frauds} frauds) |`,
    "",
    `GBDT: ${input.trees} trees, fraud rows weighted ${input.scalePosWeight.toFixed(1)}x, trained in ${input.trainSeconds.toFixed(1)} s.`,
    "",
    "## Test metrics",
    "",
    "| ROC-AUC | average precision | card precision@100 | ECE (10 bins) |",
    "|---|---|---|---|",
    `| ${f4(e.rocAuc)} | ${f4(e.averagePrecision)} | ${f4(e.cardPrecisionAt100)} | ${f4(e.ece)} |`,
    "",
    `![precision-recall curve](${input.prCurvePath})`,
    "",
    "### Calibration (reliability table)",
    "",
    "| score bin | transactions | mean score | fraud rate |",
    "|---|---|---|---|",
    ...e.reliability.filter((b) => b.count > 0).map((b) => `| ${b.lower.toFixed(1)}-${b.upper.toFixed(1)} | ${b.count} | ${f4(b.meanProbability)} | ${f4(b.fractionPositive)} |`),
    "",
    "Fraud rows are up-weighted in training, so raw scores overstate the fraud probability; the",
    "decision thresholds below are chosen on those same scores, which is what makes them safe to use.",
    "",
    "## Decisions: expected cost",
    "",
    `Costs: a missed fraud costs its amount; declining a good transaction costs ${costs.declineFriction}; a review costs ${costs.reviewCost} and at most ${costs.reviewCapacityPerDay} reviews happen per day (the rest of the queue is approved unseen). Thresholds are chosen on the validation window and applied to the test window.`,
    "",
    "| policy | review at | decline at | declined | reviewed | review overflow | frauds stopped | missed fraud amount | friction | review spend | total cost |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    policyRow("decline at 0.5", atHalf),
    policyRow("cost-optimal (chosen)", chosen),
    "",
    `The chosen thresholds cost ${money(chosen.total)} against ${money(atHalf.total)} for a plain 0.5 cut (${atHalf.total > 0 ? (((atHalf.total - chosen.total) / atHalf.total) * 100).toFixed(1) : "0"} % less).`,
    "",
    "## Most important features (gain)",
    "",
    "| feature | gain share |",
    "|---|---|",
    ...shares(input.importance).slice(0, 10).map((i) => `| ${i.name} | ${f4(i.share)} |`),
    "",
  ];
  return { markdown: lines.join("\n"), prCurveSvg: svg };
}
