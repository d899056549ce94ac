import { confusionAt, prCurve, recallAtPrecision } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { scoreRows, trainGbdt } from "../fraud/model";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  floor: number;
}

interface Point {
  threshold: number;
  validPrecision: number;
  testPrecision: number;
  testRecall: number;
  flaggedPerDay: number;
}

interface Detail {
  naive: Point;
  safe: Point;
  oracleRecall: number;
  curve: { precision: number; recall: number }[];
}

/** One-sided 95 % Wilson lower bound of a proportion k / n. */
function wilsonLower(k: number, n: number): number {
  if (n === 0) return 0;
  const z = 1.645;
  const p = k / n;
  const centre = p + (z * z) / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return (centre - half) / (1 + (z * z) / n);
}

export default defineClaim<Params, Detail>({
  id: "X6",
  aliases: [],
  slug: "precision-floor",
  title: "Precision-constrained recall: maximise recall subject to 99.5 % precision",
  claim:
    "When false positives are unacceptable (a legitimate email lost to spam, a good customer's card blocked), set the operating point as the highest recall whose precision stays above a floor such as 99.5 %, choosing the threshold on validation data.",
  question: "Design a spam filter: the metric? 'Maximise recall subject to precision > 99.5 %.' (seed 003)",
  setup: [
    "One fraud world per seed (the fraud model plays the spam filter: flag automatically only when nearly certain), time-ordered windows, the lab GBDT without class weights.",
    "",
    "- **Naive**: the threshold with the highest validation recall among those with validation precision at least 99.5 % (the textbook recipe).",
    "- **Confidence bound**: the same, but requiring the one-sided 95 % Wilson lower bound of the validation precision to clear 99.5 %, so that the few false positives a small validation set shows are not taken at face value.",
    "",
    "Both thresholds are then applied to the next weeks (the test window), where precision and recall are measured against every fraud. The oracle is the best recall any threshold reaches at the floor on the test window itself.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, floor: 0.995 },
    quick: { ...QUICK_WORLD, floor: 0.995 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "floor-kept", metric: "naivePrecision", description: "test precision at the threshold chosen on validation for 99.5 % precision", rule: atLeast(0.995), digits: 4 },
    { id: "useful-recall", metric: "naiveRecall", description: "test recall at that threshold", rule: atLeast(0.2) },
  ],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { matrix } = s.data;
    const { train, valid, test } = s.split.rows;
    const model = trainGbdt({ matrix, rows: train, labels: s.trainY });
    const validScores = scoreRows(model.predictor, matrix, valid);
    const testScores = scoreRows(model.predictor, matrix, test);
    const never = Math.max(...testScores, ...validScores) + 1;
    const naive = recallAtPrecision(s.validY, validScores, p.floor);
    const curve = prCurve(s.validY, validScores);
    const positives = s.validY.reduce((a, b) => a + b, 0);
    let safe = { threshold: never, precision: Number.NaN };
    for (let j = 0; j < curve.thresholds.length; j++) {
      const tp = Math.round((curve.recall[j] as number) * positives);
      const flagged = Math.round(tp / (curve.precision[j] as number));
      // The curve runs from the highest threshold down: the last point clearing the bound has the most recall.
      if (wilsonLower(tp, flagged) >= p.floor) safe = { threshold: curve.thresholds[j] as number, precision: curve.precision[j] as number };
    }
    const point = (threshold: number, validPrecision: number): Point => {
      const c = confusionAt(s.testY, testScores, threshold);
      return { threshold, validPrecision, testPrecision: c.precision, testRecall: c.recall, flaggedPerDay: (c.truePositives + c.falsePositives) / p.testDays };
    };
    const naivePoint = point(naive?.threshold ?? never, naive?.precision ?? Number.NaN);
    const safePoint = point(safe.threshold, safe.precision);
    ctx.log(`naive threshold ${naivePoint.threshold.toFixed(4)}: test precision ${naivePoint.testPrecision.toFixed(4)}`);
    const testCurve = prCurve(s.testY, testScores);
    const step = Math.max(1, Math.floor(testCurve.precision.length / 300));
    return {
      metrics: { naivePrecision: naivePoint.testPrecision, naiveRecall: naivePoint.testRecall, safePrecision: safePoint.testPrecision, safeRecall: safePoint.testRecall },
      detail: {
        naive: naivePoint,
        safe: safePoint,
        oracleRecall: recallAtPrecision(s.testY, testScores, p.floor)?.recall ?? 0,
        curve: testCurve.precision.filter((_, j) => j % step === 0).map((pr, k) => ({ precision: pr, recall: testCurve.recall[k * step] as number })),
      },
    };
  },
  report({ runs, params }) {
    const row = (name: string, f: (d: Detail) => Point) => {
      const pick = (g: (x: Point) => number) => runs.map((r) => g(f(r.detail)));
      return [name, cell(pick((x) => x.threshold), 4), cell(pick((x) => x.validPrecision), 4), cell(pick((x) => x.testPrecision), 4), cell(pick((x) => x.testRecall)), cell(pick((x) => x.flaggedPerDay), 0), String(runs.filter((r) => f(r.detail).testPrecision >= params.floor).length) + ` of ${runs.length}`];
    };
    const curve = runs[0]?.detail.curve ?? [];
    const iv = (metric: string, digits = 3) => fmtInterval(meanInterval(runs.map((r) => r.metrics[metric] as number)), digits);
    return {
      tables: [
        {
          title: `Threshold for ${(params.floor * 100).toFixed(1)} % precision, chosen on validation, judged on the next weeks`,
          columns: ["threshold rule", "threshold", "validation precision", "test precision", "test recall", "flagged per day", "seeds keeping the floor"],
          rows: [
            row("naive: best validation recall at the floor", (d) => d.naive),
            row("confidence bound: Wilson 95 % lower bound at the floor", (d) => d.safe),
            ["oracle: best recall at the floor on the test window itself", "-", "-", "-", cell(runs.map((r) => r.detail.oracleRecall)), "-", "-"],
          ],
          note: "Mean ± half-width of the 95 % interval over seeds. A precision of n/a means the rule flagged nothing.",
        },
      ],
      figures: [
        {
          name: "pr-curve",
          title: "Test-window precision-recall curve near the floor (seed 1)",
          svg: lineChart({
            title: "Precision-recall on the test window (seed 1)",
            xLabel: "recall",
            yLabel: "precision",
            xDomain: [0, 1],
            yDomain: [0.9, 1],
            series: [{ name: "GBDT", markers: false, points: curve.filter((c) => c.precision >= 0.9).map((c) => [c.recall, c.precision] as [number, number]) }],
            hLines: [{ y: params.floor, label: `floor ${(params.floor * 100).toFixed(1)} %` }],
          }),
        },
      ],
      facts: {
        naivePrecision: iv("naivePrecision", 4),
        naiveRecall: iv("naiveRecall"),
        safePrecision: iv("safePrecision", 4),
        safeRecall: iv("safeRecall"),
        kept: `${runs.filter((r) => r.detail.naive.testPrecision >= params.floor).length} of ${runs.length}`,
        safeKept: `${runs.filter((r) => r.detail.safe.testPrecision >= params.floor).length} of ${runs.length}`,
        oracle: fmtInterval(meanInterval(runs.map((r) => r.detail.oracleRecall))),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Maximise recall subject to precision above 99.5 %, threshold chosen on validation. It held out of sample here: test precision ${facts.naivePrecision} at recall ${facts.naiveRecall} (the best any threshold could do on the test weeks was ${facts.oracle}). Because a 99.5 % floor allows one mistake in 200, I still check the floor with a confidence bound on a large validation set and monitor precision in production."`,
    "does not hold": ({ checks, facts }) =>
      checks["floor-kept"]?.verdict !== "holds"
        ? `"Maximise recall subject to 99.5 % precision is the right objective, but choosing the threshold naively on validation did not keep the floor on the next weeks: test precision ${facts.naivePrecision} (kept in ${facts.kept} seeds) at recall ${facts.naiveRecall}. At 99.5 % one extra false positive per 200 flags breaks it, and a week of validation has few flags. Requiring the Wilson lower bound of validation precision to clear the floor gave ${facts.safePrecision} precision (kept in ${facts.safeKept} seeds) for recall ${facts.safeRecall}. So: a confidence bound, a large validation set, and precision monitored live."`
        : `"The floor held (test precision ${facts.naivePrecision}) but the recall it leaves is small: ${facts.naiveRecall} (best possible on the test weeks ${facts.oracle}). At 99.5 % precision most of the work goes to a second stage (review, step-up authentication) rather than to automatic blocking."`,
    inconclusive: ({ checks, facts }) =>
      `"With the threshold chosen on validation for 99.5 % precision, test precision was ${facts.naivePrecision} (floor kept in ${facts.kept} seeds) at recall ${facts.naiveRecall}; a Wilson lower-bound rule gave ${facts.safePrecision} (kept in ${facts.safeKept}) at recall ${facts.safeRecall}. Not settled: ${openParts(checks)}. That uncertainty is itself the lesson: at 99.5 % you need a confidence bound."`,
  },
});
