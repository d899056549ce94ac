import { expectedCalibrationError, rocAuc } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import type { FraudRegime } from "@mlsd/synth";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast, within } from "../harness/verdict";
import { cutoffAt, days, fraudData, knownLabels, truth } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";
import { labWorld, WARMUP_DAYS } from "../fraud/world";

/** Training stops this long before deployment, so every training label is known (the trainer's split). */
const LABEL_DELAY_DAYS = 7;

interface Params {
  customers: number;
  trainDays: number;
  /** Weeks the deployed model is followed. */
  weeks: number;
  /** Fraud-rate multiple reached in the last week (compromised cards and terminals per day). */
  finalMultiple: number;
}

interface Week {
  prevalence: number;
  meanScore: number;
  ece: number;
  auc: number;
}

interface Detail {
  rising: Week[];
  stationary: Week[];
}

function rampRegimes(p: Params, base: { customersPerDay: number; terminalsPerDay: number }): FraudRegime[] {
  const start = WARMUP_DAYS + p.trainDays + LABEL_DELAY_DAYS;
  return Array.from({ length: p.weeks - 1 }, (_, k) => {
    const m = 1 + ((p.finalMultiple - 1) * (k + 1)) / (p.weeks - 1);
    return { fromDay: start + 7 * k, scenarios: { customersPerDay: Math.round(base.customersPerDay * m), terminalsPerDay: Math.round(base.terminalsPerDay * m) } };
  });
}

export default defineClaim<Params, Detail>({
  id: "30",
  aliases: [],
  slug: "calibration-drift",
  title: "Calibration can drift while AUC stays put",
  claim:
    "When the share of fraud changes but fraud still looks the same, a deployed model keeps ranking as well as before (AUC stable) while its probabilities drift away from the real rate. A dashboard that only watches AUC sees nothing; every decision that uses the probability is quietly wrong.",
  question: "Calibration drift: what is it? (grill Q30)",
  setup: [
    "The fraud world runs past the model's training window for several weeks. In the rising world the number of compromised cards and terminals per day grows week by week until the fraud rate has multiplied (more of the same fraud: a prior shift); the stationary world keeps its rates. The model is the lab GBDT without class weights (its probabilities match the training rate), trained once on a window that ends a label delay before deployment (so all its labels are known) and never retrained.",
    "",
    "Each week after deployment: the fraud rate, the model's mean probability, ECE (10 bins) and ROC-AUC, all against the ground truth of that week. The ramp starts at deployment. The checks compare the two worlds in the last week, where the two models are equally old, so that the fraud rate is the only difference (a fixed model also ages in the stationary world).",
  ].join("\n"),
  sizes: {
    default: { customers: 2000, trainDays: 28, weeks: 8, finalMultiple: 4 },
    quick: { customers: 400, trainDays: 21, weeks: 3, finalMultiple: 4 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "ece-rises", metric: "eceRise", description: "ECE in the last week, rising fraud rate minus stationary", rule: atLeast(0.005), digits: 4 },
    { id: "auc-stays", metric: "aucShift", description: "ROC-AUC in the last week, rising fraud rate minus stationary", rule: within(-0.02, 0.02) },
  ],
  run(p, ctx) {
    const totalDays = WARMUP_DAYS + p.trainDays + LABEL_DELAY_DAYS + 7 * p.weeks;
    const scenarios = { customersPerDay: Math.max(1, Math.round(p.customers / 1000)), terminalsPerDay: 1 };
    const follow = (regimes: FraudRegime[] | undefined): Week[] => {
      const d = fraudData(labWorld(ctx.seed, p.customers, totalDays, regimes ? { regimes } : {}));
      const start = WARMUP_DAYS + p.trainDays + LABEL_DELAY_DAYS;
      const trainRows = days(d.table, WARMUP_DAYS, WARMUP_DAYS + p.trainDays);
      const model = trainGbdt({ matrix: d.matrix, rows: trainRows, labels: knownLabels(d.table, trainRows, cutoffAt(d.table, start)) });
      return Array.from({ length: p.weeks }, (_, w) => {
        const rows = days(d.table, start + 7 * w, start + 7 * (w + 1));
        const y = truth(d.table, rows);
        const scores = scoreRows(model.predictor, d.matrix, rows);
        return { prevalence: y.reduce((a, b) => a + b, 0) / y.length, meanScore: scores.reduce((a, b) => a + b, 0) / scores.length, ece: expectedCalibrationError(y, scores, 10), auc: rocAuc(y, scores) };
      });
    };
    ctx.log("rising fraud rate");
    const rising = follow(rampRegimes(p, scenarios));
    ctx.log("stationary");
    const stationary = follow(undefined);
    // Judged against the stationary world in the same week: both models are equally old, so what
    // differs is the fraud rate alone (a fixed model also ages: AUC slips in both worlds).
    const lastR = rising[rising.length - 1] as Week;
    const lastS = stationary[stationary.length - 1] as Week;
    return {
      metrics: {
        eceRise: lastR.ece - lastS.ece,
        aucShift: lastR.auc - lastS.auc,
        agingAuc: lastS.auc - (stationary[0] as Week).auc,
        risingAucSinceFirst: lastR.auc - (rising[0] as Week).auc,
      },
      detail: { rising, stationary },
    };
  },
  report({ runs, params }) {
    const pick = (world: "rising" | "stationary", w: number, f: (x: Week) => number) => runs.map((r) => f(r.detail[world][w] as Week));
    const mean = (xs: number[]) => meanInterval(xs).mean;
    const rows = (world: "rising" | "stationary") =>
      Array.from({ length: params.weeks }, (_, w) => [
        world,
        String(w + 1),
        `${cell(pick(world, w, (x) => x.prevalence * 100), 2)} %`,
        `${cell(pick(world, w, (x) => x.meanScore * 100), 2)} %`,
        cell(pick(world, w, (x) => x.meanScore / x.prevalence), 2),
        cell(pick(world, w, (x) => x.ece), 4),
        cell(pick(world, w, (x) => x.auc)),
      ]);
    const series = (world: "rising" | "stationary", f: (x: Week) => number) => Array.from({ length: params.weeks }, (_, w) => [w + 1, mean(pick(world, w, f))] as [number, number]);
    const last = params.weeks - 1;
    return {
      tables: [
        {
          title: "A fixed model, week by week after deployment",
          columns: ["world", "week", "fraud rate", "mean predicted probability", "predicted / observed", "ECE", "ROC-AUC"],
          rows: [...rows("rising"), ...rows("stationary")],
          note: "Mean ± half-width of the 95 % interval over seeds, against each week's ground truth.",
        },
      ],
      figures: [
        {
          name: "auc",
          title: "ROC-AUC by week: rising fraud rate against stationary",
          svg: lineChart({ title: "ROC-AUC of a fixed model by week", xLabel: "week after deployment", yLabel: "ROC-AUC (mean over seeds)", yDomain: [0.5, 1], series: [{ name: "rising fraud rate", points: series("rising", (x) => x.auc) }, { name: "stationary", points: series("stationary", (x) => x.auc), dashed: true }] }),
        },
        {
          name: "calibration",
          title: "Predicted over observed fraud rate by week",
          svg: lineChart({ title: "Calibration of a fixed model by week (1 = calibrated)", xLabel: "week after deployment", yLabel: "mean predicted / observed fraud rate", series: [{ name: "rising fraud rate", points: series("rising", (x) => x.meanScore / x.prevalence) }, { name: "stationary", points: series("stationary", (x) => x.meanScore / x.prevalence), dashed: true }], hLines: [{ y: 1, label: "calibrated" }] }),
        },
      ],
      facts: {
        eceRise: fmtInterval(meanInterval(runs.map((r) => r.metrics.eceRise as number)), 4),
        aucShift: fmtInterval(meanInterval(runs.map((r) => r.metrics.aucShift as number))),
        agingAuc: fmtInterval(meanInterval(runs.map((r) => r.metrics.agingAuc as number))),
        risingAucSinceFirst: fmtInterval(meanInterval(runs.map((r) => r.metrics.risingAucSinceFirst as number))),
        eceStationary: cell(pick("stationary", last, (x) => x.ece), 4),
        eceRising: cell(pick("rising", last, (x) => x.ece), 4),
        ratioFirst: cell(pick("rising", 0, (x) => x.meanScore / x.prevalence), 2),
        ratioLast: cell(pick("rising", last, (x) => x.meanScore / x.prevalence), 2),
        rateFirst: cell(pick("rising", 0, (x) => x.prevalence * 100), 2),
        rateLast: cell(pick("rising", last, (x) => x.prevalence * 100), 2),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Calibration drift is the probabilities going wrong while the ranking stays right. I let fraud become more common after deployment (${facts.rateFirst} % to ${facts.rateLast} % of payments) with a fixed model and compared it with the same model in a world where nothing changed: after eight weeks its ROC-AUC differed by ${facts.aucShift}, but predicted over observed fell from ${facts.ratioFirst} to ${facts.ratioLast} and ECE was ${facts.eceRising} against ${facts.eceStationary}. An AUC dashboard sees nothing; cost-based thresholds and expected-loss decisions are off by that factor. So I monitor calibration (predicted vs observed rate as labels arrive) and recalibrate, which is cheaper than retraining. (Both models also aged: AUC slipped by ${facts.agingAuc} over the weeks even without the shift.)"`,
    "does not hold": ({ checks, facts }) =>
      checks["auc-stays"]?.verdict === "does not hold"
        ? `"When fraud became more common (${facts.rateFirst} % to ${facts.rateLast} %), calibration did drift (predicted over observed ${facts.ratioFirst} to ${facts.ratioLast}, ECE ${facts.eceRising} against ${facts.eceStationary} without the shift), but AUC did not stay put here: it differed by ${facts.aucShift} from the unshifted world, because more fraud in this world also changes what fraud looks like to the features (terminal risk rates rise). In practice a prior shift rarely comes alone, so watch both."`
        : `"Predicted over observed went from ${facts.ratioFirst} to ${facts.ratioLast} and AUC differed by ${facts.aucShift} from the unshifted world, but ECE rose by only ${facts.eceRise}: with fraud this rare, ECE averages a large miscalibration of a few high scores into a small number. I would monitor the predicted/observed ratio instead of ECE."`,
    inconclusive: ({ checks, facts }) =>
      `"With fraud rising from ${facts.rateFirst} % to ${facts.rateLast} %, predicted over observed went from ${facts.ratioFirst} to ${facts.ratioLast}; against the same model in an unshifted world, ECE differed by ${facts.eceRise} and AUC by ${facts.aucShift}; Not settled: ${openParts(checks)}. A fixed model also ages: AUC slipped by ${facts.agingAuc} without any shift."`,
  },
});
