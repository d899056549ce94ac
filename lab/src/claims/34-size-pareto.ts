import { averagePrecision } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { microsPerCall } from "../harness/timing";
import { cell, fmt, fmtInterval } from "../harness/table";
import { atLeast } from "../harness/verdict";
import { matrixRows } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  trees: number[];
  depths: number[];
  latencyRows: number;
  /** AP distance from the best that still counts as "as good" for the knee. */
  kneeTolerance: number;
}

interface SizePoint {
  trees: number;
  depth: number;
  validAp: number;
  testAp: number;
  trainSeconds: number;
  micros: number;
}

interface Detail {
  points: SizePoint[];
}

export default defineClaim<Params, Detail>({
  id: "34",
  aliases: [],
  slug: "size-pareto",
  title: "Compute vs latency vs accuracy: pick two",
  claim:
    "More accuracy takes a bigger model, and a bigger model costs training compute and serving latency; you cannot have the best of all three, so you choose the point on the trade-off curve your latency budget allows.",
  question: "Compute vs latency vs accuracy: pick two? (grill Q34)",
  setup: [
    "One fraud world per seed, time-ordered windows, the fraud features from the feature store. The project's GBDT is trained at every size of a grid of trees x depth (learning rate 0.1, the lab's subsampling).",
    "",
    "For each size: average precision on the validation and test windows, training seconds, and the median microseconds to score one transaction. The 'most accurate' model is chosen by validation AP (never by the test window); the 'fastest' is the smallest grid point. The knee is the fastest model whose mean test AP is within the tolerance of the most accurate model's.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, trees: [10, 30, 100, 300], depths: [2, 4, 6], latencyRows: 2000, kneeTolerance: 0.005 },
    quick: { ...QUICK_WORLD, trees: [10, 30], depths: [2, 4], latencyRows: 300, kneeTolerance: 0.005 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [{ id: "tradeoff", metric: "apGain", description: "test AP of the most accurate size (chosen on validation) minus the fastest size's", rule: atLeast(0.02) }],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { matrix } = s.data;
    const { train, valid, test } = s.split.rows;
    const testMatrix = matrixRows(matrix, test);
    const w = matrix.names.length;
    const n = Math.min(p.latencyRows, test.length);
    const points: SizePoint[] = [];
    for (const depth of p.depths) {
      for (const trees of p.trees) {
        ctx.log(`${trees} trees, depth ${depth}`);
        const m = trainGbdt({ matrix, rows: train, labels: s.trainY, params: { numRounds: trees, maxDepth: depth } });
        points.push({
          trees,
          depth,
          validAp: averagePrecision(s.validY, scoreRows(m.predictor, matrix, valid)),
          testAp: averagePrecision(s.testY, m.predictor.predictBatch(testMatrix)),
          trainSeconds: m.seconds,
          micros: microsPerCall((i) => m.predictor.predictRow(testMatrix.data.subarray((i % n) * w, ((i % n) + 1) * w)), n),
        });
      }
    }
    const best = points.reduce((a, b) => (b.validAp > a.validAp ? b : a));
    const fastest = points.reduce((a, b) => (b.trees * b.depth < a.trees * a.depth ? b : a));
    return { metrics: { apGain: best.testAp - fastest.testAp, latencyRatio: best.micros / fastest.micros }, detail: { points } };
  },
  report({ runs, params }) {
    const first = runs[0]?.detail as Detail;
    const pick = (k: number, f: (x: SizePoint) => number) => runs.map((r) => f(r.detail.points[k] as SizePoint));
    const mean = (k: number, f: (x: SizePoint) => number) => meanInterval(pick(k, f)).mean;
    const k = first.points.length;
    const means = Array.from({ length: k }, (_, j) => ({ j, ap: mean(j, (x) => x.testAp), validAp: mean(j, (x) => x.validAp), micros: mean(j, (x) => x.micros) }));
    // Pareto on the means: no other size is both faster and more accurate.
    const pareto = new Set(means.filter((a) => !means.some((b) => b.micros < a.micros && b.ap > a.ap)).map((a) => a.j));
    const best = means.reduce((a, b) => (b.validAp > a.validAp ? b : a));
    const knee = means.filter((m) => m.ap >= best.ap - params.kneeTolerance).reduce((a, b) => (b.micros < a.micros ? b : a));
    const rows = first.points.map((pt, j) => [
      `${pt.trees} x depth ${pt.depth}`,
      cell(pick(j, (x) => x.validAp)),
      cell(pick(j, (x) => x.testAp)),
      cell(pick(j, (x) => x.trainSeconds), 2),
      cell(pick(j, (x) => x.micros), 2),
      [pareto.has(j) ? "Pareto" : "", j === best.j ? "most accurate (validation)" : "", j === knee.j ? "knee" : ""].filter(Boolean).join(", "),
    ]);
    const name = (j: number) => `${first.points[j]?.trees} trees of depth ${first.points[j]?.depth}`;
    return {
      tables: [
        {
          title: "Size sweep: accuracy, training compute, latency",
          columns: ["trees x depth", "validation AP", "test AP", "train s", "us per transaction", "note"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds. Pareto: no other size is both faster and more accurate (on the means). Knee: the fastest size within ${params.kneeTolerance} test AP of the most accurate.`,
        },
      ],
      figures: [
        {
          name: "pareto",
          title: "Latency against test AP by model size",
          svg: lineChart({
            title: "GBDT size sweep: latency vs accuracy",
            xLabel: "microseconds per transaction (log)",
            yLabel: "test average precision (mean over seeds)",
            xScale: "log",
            series: params.depths.map((d) => ({ name: `depth ${d} (trees ${params.trees.join(", ")})`, points: means.filter((m) => first.points[m.j]?.depth === d).map((m) => [m.micros, m.ap] as [number, number]) })),
          }),
        },
      ],
      facts: {
        apGain: fmtInterval(meanInterval(runs.map((r) => r.metrics.apGain as number))),
        latencyRatio: phraseRatio(meanInterval(runs.map((r) => r.metrics.latencyRatio as number)).mean),
        best: name(best.j),
        knee: name(knee.j),
        kneeRatio: phraseRatio(best.micros / knee.micros),
        kneeAp: fmt(knee.ap),
        bestAp: fmt(best.ap),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"It is a real trade-off: in a GBDT size sweep the most accurate model (${facts.best}) had ${facts.apGain} more AP than the smallest but cost ${facts.latencyRatio} its latency. It is also a curve with a knee: ${facts.knee} was within 0.005 AP of the best (${facts.kneeAp} vs ${facts.bestAp}) at 1/${facts.kneeRatio} of its latency. So I pick the size from the latency budget, then check where the knee is before paying for more."`,
    "does not hold": ({ facts }) =>
      `"Not on this problem: the most accurate GBDT (${facts.best}) beat the smallest by only ${facts.apGain} AP while costing ${facts.latencyRatio} its latency. Accuracy saturated early (${facts.knee} was within 0.005 AP of the best), so past the knee you pay compute and latency for nothing. 'Pick two' assumes accuracy keeps growing with size; measure where it stops before buying latency."`,
    inconclusive: ({ checks, facts }) =>
      `"The most accurate size (${facts.best}) gained ${facts.apGain} AP over the smallest at ${facts.latencyRatio} the latency, not settled (${openParts(checks)}); ${facts.knee} was already within 0.005 AP of the best, so the trade-off flattens quickly."`,
  },
});
