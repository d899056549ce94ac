import { DEFAULT_DECISION_COSTS, chooseThresholds, expectedValueMargins, fitIsotonic, fitPlatt, policyCost, type PolicyCost } from "@mlsd/decisions";
import { expectedCalibrationError } from "@mlsd/ml-metrics";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { scoreRows, trainGbdt } from "../fraud/model";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  declineFriction: number;
}

interface Arm {
  name: string;
  ece: number;
  meanProbability: number;
  cost: PolicyCost;
}

interface Detail {
  prevalence: number;
  arms: Arm[];
}

export default defineClaim<Params, Detail>({
  id: "47",
  aliases: [],
  slug: "calibration-money",
  title: "Calibration is critical where scores become money",
  claim:
    "When a decision multiplies the score by money (expected loss = probability x amount, or a bid = probability x value), the score has to be a true probability. A model that ranks well but overstates probabilities makes expensive decisions; calibrating it on held-out data fixes the decisions without changing the ranking.",
  question: "Ad ranking, first words? '... Calibration is critical for revenue.' (grill Q47; seed 004: predicted CTR must match true CTR for bidding)",
  setup: [
    "One fraud world per seed, time-ordered windows. The model is the production recipe: fraud rows weighted sqrt(negatives/positives), which ranks well but overstates the fraud probability.",
    "",
    "The decision puts money on the score: decline a payment when probability x amount exceeds (1 - probability) x the friction of declining a good customer (no review queue). It is run with the raw scores and with the same scores calibrated on the validation window (Platt scaling and isotonic regression, @mlsd/decisions). For reference: an unweighted model's raw scores, and a single decline threshold tuned on validation for cost (which needs no calibration but ignores the amount).",
    "",
    "Costs on the test window against the ground truth: missed fraud amount plus friction.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, declineFriction: DEFAULT_DECISION_COSTS.declineFriction },
    quick: { ...QUICK_WORLD, declineFriction: DEFAULT_DECISION_COSTS.declineFriction },
  },
  seeds: { default: 5, quick: 2 },
  checks: [{ id: "calibration-saves", metric: "saving", description: "share of the expected-value policy's test cost saved by Platt-calibrating the scores", rule: atLeast(0.05) }],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { table, matrix } = s.data;
    const { train, valid, test } = s.split.rows;
    const pos = s.trainY.reduce((a, b) => a + b, 0);
    const weighted = trainGbdt({ matrix, rows: train, labels: s.trainY, params: { scalePosWeight: Math.sqrt((s.trainY.length - pos) / pos) } });
    const plain = trainGbdt({ matrix, rows: train, labels: s.trainY });
    const validRaw = scoreRows(weighted.predictor, matrix, valid);
    const testRaw = scoreRows(weighted.predictor, matrix, test);
    const platt = fitPlatt(s.validY, validRaw);
    const isotonic = fitIsotonic(s.validY, validRaw);
    ctx.log(`Platt a ${platt.a.toFixed(2)}, b ${platt.b.toFixed(2)}`);
    const amount = Float64Array.from(test, (i) => table.amount[i] as number);
    const day = Float64Array.from(test, (i) => table.timeDays[i] as number);
    const costs = { ...DEFAULT_DECISION_COSTS, declineFriction: p.declineFriction, reviewCapacityPerDay: 0 };
    const evArm = (name: string, probabilities: Float64Array): Arm => ({
      name,
      ece: expectedCalibrationError(s.testY, probabilities, 10),
      meanProbability: probabilities.reduce((a, b) => a + b, 0) / probabilities.length,
      cost: policyCost({ scores: expectedValueMargins(probabilities, amount, costs), fraud: s.testY, amount, day }, { review: Infinity, decline: 0 }, costs),
    });
    const arms = [
      evArm("expected value, raw weighted scores", testRaw),
      evArm("expected value, Platt-calibrated", platt.applyAll(testRaw)),
      evArm("expected value, isotonic-calibrated", isotonic.applyAll(testRaw)),
      evArm("expected value, unweighted model's raw scores", scoreRows(plain.predictor, matrix, test)),
    ];
    // A single cost-tuned threshold on the raw scores: no calibration needed, but blind to the amount.
    const tuned = chooseThresholds({ scores: validRaw, fraud: s.validY, amount: Float64Array.from(valid, (i) => table.amount[i] as number), day: Float64Array.from(valid, (i) => table.timeDays[i] as number) }, costs).thresholds;
    arms.push({ name: "one decline threshold tuned for cost, raw scores", ece: Number.NaN, meanProbability: Number.NaN, cost: policyCost({ scores: testRaw, fraud: s.testY, amount, day }, tuned, costs) });
    const raw = (arms[0] as Arm).cost.total;
    return {
      metrics: { saving: (raw - (arms[1] as Arm).cost.total) / raw, isotonicSaving: (raw - (arms[2] as Arm).cost.total) / raw },
      detail: { prevalence: s.testY.reduce((a, b) => a + b, 0) / s.testY.length, arms },
    };
  },
  report({ runs }) {
    const first = runs[0]?.detail as Detail;
    const pick = (k: number, f: (a: Arm) => number) => runs.map((r) => f(r.detail.arms[k] as Arm));
    const mp = (k: number) => (Number.isNaN(first.arms[k]?.meanProbability ?? Number.NaN) ? "-" : cellPct(pick(k, (a) => a.meanProbability), 2));
    return {
      tables: [
        {
          title: "The same model's scores turned into money decisions (test window)",
          columns: ["decision", "ECE", "mean probability", "declined", "frauds stopped", "missed fraud amount", "friction", "total cost"],
          rows: first.arms.map((a, k) => [a.name, Number.isNaN(a.ece) ? "-" : cell(pick(k, (x) => x.ece), 4), mp(k), cell(pick(k, (x) => x.cost.declined), 0), cell(pick(k, (x) => x.cost.fraudCaught), 0), cell(pick(k, (x) => x.cost.missedFraudAmount), 0), cell(pick(k, (x) => x.cost.friction), 0), cell(pick(k, (x) => x.cost.total), 0)]),
          note: `Mean ± half-width of the 95 % interval over seeds. The test window's fraud rate is ${fmtInterval(meanInterval(runs.map((r) => r.detail.prevalence * 100)), 2)} %; a calibrated model's mean probability should match it.`,
        },
      ],
      figures: [],
      facts: {
        saving: cellPct(runs.map((r) => r.metrics.saving as number)),
        isotonicSaving: cellPct(runs.map((r) => r.metrics.isotonicSaving as number)),
        rawEce: cell(pick(0, (a) => a.ece), 4),
        plattEce: cell(pick(1, (a) => a.ece), 4),
        rawMean: cellPct(pick(0, (a) => a.meanProbability), 2),
        prevalence: fmtInterval(meanInterval(runs.map((r) => r.detail.prevalence * 100)), 2),
        rawCost: cell(pick(0, (a) => a.cost.total), 0),
        plattCost: cell(pick(1, (a) => a.cost.total), 0),
        tunedCost: cell(pick(4, (a) => a.cost.total), 0),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Where the score is multiplied by money it must be a probability. A fraud model trained with up-weighted fraud ranked well but said ${facts.rawMean} on average against a real rate of ${facts.prevalence} %; deciding by expected loss (probability x amount against the cost of declining a good customer) on those raw scores cost ${facts.rawCost}. Platt-calibrating the same scores on validation data (ECE ${facts.rawEce} to ${facts.plattEce}) cut the cost to ${facts.plattCost}, saving ${facts.saving}; isotonic saved ${facts.isotonicSaving}. Ranking metrics like AUC do not see any of this, so I monitor calibration as well."`,
    "does not hold": ({ facts }) =>
      `"I expected calibration to matter a lot for a probability x amount decision; here Platt calibration saved ${facts.saving} (raw ${facts.rawCost}, calibrated ${facts.plattCost}), under my 5 % threshold, even though the raw scores overstated the fraud rate (${facts.rawMean} vs ${facts.prevalence} %). When a few large amounts dominate the cost, the decision is driven by the amount more than by the exact probability. I would still calibrate: it is cheap, and the decision only works by luck otherwise."`,
    inconclusive: ({ checks, facts }) =>
      `"Calibrating the scores changed the cost of an expected-loss decision by ${facts.saving} (raw ${facts.rawCost}, Platt ${facts.plattCost}), not settled (${openParts(checks)}); the raw scores did overstate the fraud rate (${facts.rawMean} vs ${facts.prevalence} %)."`,
  },
});
