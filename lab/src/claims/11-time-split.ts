import { rocAuc } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import type { FraudRegime } from "@mlsd/synth";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { cell, fmtInterval } from "../harness/table";
import { meanInterval } from "../harness/stats";
import { atLeast } from "../harness/verdict";
import { cutoffAt, days, fraudData, knownLabels, truth, type FraudData } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";

interface Params {
  customers: number;
  /** Days of history before the development window, so that 30-day features are complete. */
  warmupDays: number;
  devDays: number;
  /** Time split: the last days of the development window used to validate (before the label delay). */
  validDays: number;
  /** Days between the end of the development window and the start of the future (label delay). */
  delayDays: number;
  futureDays: number;
  /** The drifting world changes every this many days from the start of the development window. */
  driftEveryDays: number;
  randomTrainShare: number;
}

interface Protocol {
  estimate: number;
  future: number;
  futureByWeek: number[];
}

interface Detail {
  drifting: { random: Protocol; time: Protocol };
  stationary: { random: Protocol; time: Protocol };
  frauds: number;
  rows: number;
}

/**
 * Fraudsters get subtler (smaller multiples of the card's usual amount), the bank moves its
 * large-amount policy up, and terminal attacks grow: the relationship between features and fraud
 * keeps changing, as it does in production.
 */
function driftRegimes(p: Params): FraudRegime[] {
  const regimes: FraudRegime[] = [];
  const total = p.warmupDays + p.devDays + p.delayDays + p.futureDays;
  for (let k = 1, day = p.warmupDays + p.driftEveryDays; day < total; k++, day += p.driftEveryDays) {
    regimes.push({ fromDay: day, scenarios: { customerAmountMultiplier: 5 * 0.8 ** k, amountThreshold: 220 + 20 * k, terminalsPerDay: 1 + Math.floor(k / 2) } });
  }
  return regimes;
}

function evaluateWorld(data: FraudData, p: Params, seed: number): { random: Protocol; time: Protocol } {
  const { table, matrix } = data;
  const devStart = p.warmupDays;
  const devEnd = devStart + p.devDays;
  const futureStart = devEnd + p.delayDays;
  const cutoff = cutoffAt(table, devEnd);
  const future = days(table, futureStart, futureStart + p.futureDays);
  const futureY = truth(table, future);
  const weeks = Array.from({ length: Math.ceil(p.futureDays / 7) }, (_, w) => days(table, futureStart + 7 * w, Math.min(futureStart + 7 * (w + 1), futureStart + p.futureDays)));
  const judge = (predictor: ReturnType<typeof trainGbdt>["predictor"]) => ({
    future: rocAuc(futureY, scoreRows(predictor, matrix, future)),
    futureByWeek: weeks.map((rows) => rocAuc(truth(table, rows), scoreRows(predictor, matrix, rows))),
  });

  // Random split: shuffle the development window, train on one part, estimate on the rest.
  const dev = Array.from(days(table, devStart, devEnd));
  new Rng(seed * 7919 + 1).shuffle(dev);
  const cut = Math.floor(dev.length * p.randomTrainShare);
  const rTrain = dev.slice(0, cut);
  const rHold = dev.slice(cut);
  const randomModel = trainGbdt({ matrix, rows: rTrain, labels: knownLabels(table, rTrain, cutoff) });
  const random = { estimate: rocAuc(knownLabels(table, rHold, cutoff), scoreRows(randomModel.predictor, matrix, rHold)), ...judge(randomModel.predictor) };

  // Time split: train on the older part, validate on the newest days whose labels are complete.
  const validEnd = devEnd - p.delayDays;
  const tTrain = days(table, devStart, validEnd - p.validDays);
  const tValid = days(table, validEnd - p.validDays, validEnd);
  const timeModel = trainGbdt({ matrix, rows: tTrain, labels: knownLabels(table, tTrain, cutoff) });
  const time = { estimate: rocAuc(knownLabels(table, tValid, cutoff), scoreRows(timeModel.predictor, matrix, tValid)), ...judge(timeModel.predictor) };
  return { random, time };
}

export default defineClaim<Params, Detail>({
  id: "11",
  aliases: [],
  slug: "time-split",
  title: "Split time-ordered data by time, never at random",
  claim:
    "When the data changes over time, a random train/test split mixes the future into training and tests on the same period it learnt from, so its estimate is too rosy. A split by time (train on the past, validate on the most recent labelled days) estimates what the model will do next.",
  question: "How do you split for time-series data? (grill Q11; quick fire Q51: time-based, never random)",
  setup: [
    "The fraud world (@mlsd/synth) runs for a warm-up, an eight-week development window, a label delay, and a four-week future. In the drifting world, every two weeks from the start of the development window fraudsters use smaller multiples of the card's usual amount, the large-amount rule moves up by 20 and terminal attacks grow; the stationary world keeps the handbook's settings throughout.",
    "",
    "Features come from the feature store's point-in-time replay; every model is the lab GBDT trained on labels as known at the end of the development window (later chargebacks look legitimate, as in production).",
    "",
    "- **Random split**: the development window shuffled, 80 % to train, the estimate is the AUC on the other 20 %.",
    "- **Time split**: train on the older part, the estimate is the AUC on the last week whose labels are complete (the week before the label delay).",
    "",
    "Each protocol's estimate is compared with the AUC its own model actually reaches on the future four weeks, against every fraud in them (the ground truth).",
  ].join("\n"),
  sizes: {
    default: { customers: 2000, warmupDays: 35, devDays: 56, validDays: 7, delayDays: 7, futureDays: 28, driftEveryDays: 14, randomTrainShare: 0.8 },
    quick: { customers: 400, warmupDays: 35, devDays: 28, validDays: 7, delayDays: 7, futureDays: 14, driftEveryDays: 14, randomTrainShare: 0.8 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "random-optimism", metric: "randomOptimism", description: "random-split AUC estimate minus the AUC reached on the future (drifting world)", rule: atLeast(0.01) },
    { id: "time-closer", metric: "closerBy", description: "random-split error minus the time split's absolute error (drifting world)", rule: atLeast(0.005) },
  ],
  run(p, ctx) {
    const total = p.warmupDays + p.devDays + p.delayDays + p.futureDays;
    const base = { seed: ctx.seed, customers: p.customers, terminals: 2 * p.customers, days: total, scenarios: { customersPerDay: Math.max(1, Math.round(p.customers / 1000)), terminalsPerDay: 1 } };
    ctx.log("drifting world");
    const driftData = fraudData({ ...base, regimes: driftRegimes(p) });
    const drifting = evaluateWorld(driftData, p, ctx.seed);
    ctx.log("stationary world");
    const stationary = evaluateWorld(fraudData(base), p, ctx.seed);
    const randomOptimism = drifting.random.estimate - drifting.random.future;
    const timeError = drifting.time.estimate - drifting.time.future;
    return {
      metrics: { randomOptimism, timeError, closerBy: randomOptimism - Math.abs(timeError), stationaryRandomOptimism: stationary.random.estimate - stationary.random.future },
      detail: { drifting, stationary, frauds: driftData.table.fraud.reduce((a, b) => a + b, 0), rows: driftData.table.length },
    };
  },
  report({ runs }) {
    const row = (world: "drifting" | "stationary", protocol: "random" | "time", name: string) => {
      const pick = (f: (x: Protocol) => number) => runs.map((r) => f(r.detail[world][protocol]));
      return [world, name, cell(pick((x) => x.estimate)), cell(pick((x) => x.future)), cell(pick((x) => x.estimate - x.future))];
    };
    const weeks = runs[0]?.detail.drifting.random.futureByWeek.length ?? 0;
    const meanOf = (f: (d: Detail) => number) => meanInterval(runs.map((r) => f(r.detail))).mean;
    const series = (protocol: "random" | "time", name: string, color: string) => [
      { name: `${name}: AUC on the future`, color, points: Array.from({ length: weeks }, (_, w) => [w + 1, meanOf((d) => d.drifting[protocol].futureByWeek[w] as number)] as [number, number]) },
      { name: `${name}: its estimate`, color, dashed: true, markers: false, points: [[1, meanOf((d) => d.drifting[protocol].estimate)], [weeks, meanOf((d) => d.drifting[protocol].estimate)]] as [number, number][] },
    ];
    const optimism = meanInterval(runs.map((r) => r.metrics.randomOptimism as number));
    const stationaryOptimism = meanInterval(runs.map((r) => r.metrics.stationaryRandomOptimism as number));
    const timeErr = meanInterval(runs.map((r) => r.metrics.timeError as number));
    return {
      tables: [
        {
          title: "Estimate against the future (ROC-AUC)",
          columns: ["world", "split", "estimated AUC", "AUC on the future 4 weeks", "estimate minus future"],
          rows: [row("drifting", "random", "random 80/20"), row("drifting", "time", "by time"), row("stationary", "random", "random 80/20"), row("stationary", "time", "by time")],
          note: "Mean ± half-width of the 95 % interval over seeds. Positive 'estimate minus future' is optimism: the split promised more than the future gave.",
        },
      ],
      figures: [
        {
          name: "future-auc",
          title: "Drifting world: AUC week by week after deployment, against each split's estimate",
          svg: lineChart({ title: "Drifting world: each split's estimate (dashed) and what its model reached", xLabel: "week after deployment", yLabel: "ROC-AUC (mean over seeds)", series: [...series("random", "random split", "#d62728"), ...series("time", "time split", "#1f77b4")] }),
        },
      ],
      facts: { optimism: fmtInterval(optimism), stationaryOptimism: fmtInterval(stationaryOptimism), timeError: fmtInterval(timeErr) },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Split by time. On drifting fraud data a random split overstated the future AUC by ${facts.optimism}, while a time split (train on the past, validate on the latest fully labelled week) was off by ${facts.timeError}. Without drift the random split's optimism was ${facts.stationaryOptimism}, so the damage comes from the drift: a random split tests on the same period it trained on. I also leave a gap the length of the label delay before the validation week, so its labels are complete."`,
    "does not hold": ({ facts }) =>
      `"I still split by time, but I measured it: on this drifting fraud world the random split's estimate was off by ${facts.optimism} against the future and the time split's by ${facts.timeError}, so the random split was not clearly worse here. The risk grows with how fast the world changes and with leakage between rows (the same card in train and test); a time split protects against both at no cost, so it stays the default."`,
    inconclusive: ({ checks, facts }) =>
      `"Split by time. In my measurement the random split overstated the future by ${facts.optimism} and the time split was off by ${facts.timeError}, but it was not settled (${openParts(checks)}); the mechanism (testing on the period you trained on) is why I would not rely on a random split when the data drifts."`,
  },
});
