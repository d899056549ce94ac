import { Dataset, Predictor, train as trainModel } from "@mlsd/gbdt";
import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { microsPerCall } from "../harness/timing";
import { cell, fmtInterval } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { matrixRows } from "../fraud/data";
import { LAB_GBDT } from "../fraud/model";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  teacher: { trees: number; depth: number; learningRate: number };
  studentTrees: number[];
  studentDepth: number;
  /** The student size the claim is judged at. */
  judgedTrees: number;
  latencyRows: number;
}

interface ModelPoint {
  name: string;
  trees: number;
  kind: "teacher" | "distilled" | "labels";
  auc: number;
  ap: number;
  micros: number;
}

interface Detail {
  models: ModelPoint[];
}

export default defineClaim<Params, Detail>({
  id: "25",
  aliases: [],
  slug: "distillation",
  title: "Distillation: a small student trained on a big teacher's scores is much faster for a small loss",
  claim:
    "Train a large, accurate teacher offline, then train a small student to reproduce the teacher's scores and serve the student: inference becomes many times cheaper while accuracy drops only a little, and the student learns more from the teacher's soft scores than it would from the labels alone.",
  question: "Distillation: what is it for? (grill Q25)",
  setup: [
    "One fraud world per seed, time-ordered windows, the fraud features from the feature store.",
    "",
    "- **Teacher**: a large GBDT (the project's @mlsd/gbdt), trained on the labels of the training window.",
    "- **Distilled students**: GBDTs with a few shallow trees trained by regression on the teacher's raw scores (log-odds) over the training and validation windows (the validation labels are not used).",
    "- **Label students**: the same small sizes trained directly on the training labels.",
    "",
    "Accuracy is ROC-AUC and average precision on the test window against every fraud; latency is the median microseconds to score one transaction (the fraud service's per-request path), teacher and students timed side by side.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, teacher: { trees: 400, depth: 7, learningRate: 0.05 }, studentTrees: [3, 10, 30], studentDepth: 4, judgedTrees: 10, latencyRows: 2000 },
    quick: { ...QUICK_WORLD, teacher: { trees: 80, depth: 6, learningRate: 0.1 }, studentTrees: [10], studentDepth: 4, judgedTrees: 10, latencyRows: 300 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "speedup", metric: "speedup", description: "teacher latency per transaction divided by the 10-tree student's", rule: atLeast(10), digits: 1 },
    { id: "small-loss", metric: "aucLoss", description: "teacher ROC-AUC minus the 10-tree distilled student's", rule: atMost(0.01) },
    { id: "teacher-helps", metric: "distillGain", description: "ROC-AUC of the 10-tree distilled student minus a 10-tree student trained on the labels", rule: atLeast(0.002) },
  ],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { matrix } = s.data;
    const { train, valid, test } = s.split.rows;
    const trainData = Dataset.fromRows(matrixRows(matrix, train), { labels: s.trainY, featureNames: matrix.names, seed: 7 });
    const testMatrix = matrixRows(matrix, test);
    const w = matrix.names.length;
    const n = Math.min(p.latencyRows, test.length);
    const point = (name: string, trees: number, kind: ModelPoint["kind"], predictor: Predictor): ModelPoint => {
      const scores = predictor.predictBatchRaw(testMatrix);
      return {
        name,
        trees,
        kind,
        auc: rocAuc(s.testY, scores),
        ap: averagePrecision(s.testY, scores),
        micros: microsPerCall((i) => predictor.predictRowRaw(testMatrix.data.subarray((i % n) * w, ((i % n) + 1) * w)), n),
      };
    };
    ctx.log(`teacher: ${p.teacher.trees} trees of depth ${p.teacher.depth}`);
    const teacher = new Predictor(trainModel(trainData, { ...LAB_GBDT, objective: "binary", numRounds: p.teacher.trees, maxDepth: p.teacher.depth, learningRate: p.teacher.learningRate }).model);
    const models: ModelPoint[] = [point(`teacher (${p.teacher.trees} trees, depth ${p.teacher.depth})`, p.teacher.trees, "teacher", teacher)];
    // The transfer set: training and validation rows, scored by the teacher (no labels needed).
    const transfer = Int32Array.from([...train, ...valid]);
    const soft = teacher.predictBatchRaw(matrixRows(matrix, transfer));
    const transferData = Dataset.fromRows(matrixRows(matrix, transfer), { labels: soft, featureNames: matrix.names, seed: 7 });
    for (const trees of p.studentTrees) {
      const student = { numRounds: trees, maxDepth: p.studentDepth, learningRate: Math.min(0.5, 3 / trees), subsample: 1, colsampleByTree: 1, seed: 7 };
      const distilled = new Predictor(trainModel(transferData, { objective: "regression", ...student }).model);
      const labelled = new Predictor(trainModel(trainData, { objective: "binary", ...student }).model);
      models.push(point(`${trees} trees, distilled from the teacher`, trees, "distilled", distilled));
      models.push(point(`${trees} trees, trained on labels`, trees, "labels", labelled));
    }
    const teacherPoint = models[0] as ModelPoint;
    const judged = (kind: ModelPoint["kind"]) => models.find((m) => m.kind === kind && m.trees === p.judgedTrees) as ModelPoint;
    return {
      metrics: {
        speedup: teacherPoint.micros / judged("distilled").micros,
        aucLoss: teacherPoint.auc - judged("distilled").auc,
        distillGain: judged("distilled").auc - judged("labels").auc,
      },
      detail: { models },
    };
  },
  report({ runs }) {
    const first = runs[0]?.detail as Detail;
    const pick = (k: number, f: (m: ModelPoint) => number) => runs.map((r) => f(r.detail.models[k] as ModelPoint));
    const teacherMicros = (r: (typeof runs)[number]) => (r.detail.models[0] as ModelPoint).micros;
    const rows = first.models.map((m, k) => [m.name, cell(pick(k, (x) => x.auc)), cell(pick(k, (x) => x.ap)), cell(pick(k, (x) => x.micros), 2), cell(runs.map((r) => teacherMicros(r) / (r.detail.models[k] as ModelPoint).micros), 1)]);
    const mean = (k: number, f: (m: ModelPoint) => number) => meanInterval(pick(k, f)).mean;
    const series = (kind: ModelPoint["kind"], name: string) => ({
      name,
      points: first.models.map((m, k) => (m.kind === kind ? ([mean(k, (x) => x.micros), mean(k, (x) => x.auc)] as [number, number]) : null)).filter((x): x is [number, number] => x !== null),
    });
    const iv = (metric: string, digits = 3) => fmtInterval(meanInterval(runs.map((r) => r.metrics[metric] as number)), digits);
    return {
      tables: [
        {
          title: "Teacher and students on the test window",
          columns: ["model", "ROC-AUC", "average precision", "us per transaction", "speed-up over the teacher"],
          rows,
          note: "Mean ± half-width of the 95 % interval over seeds. Latencies are medians of single-transaction scoring measured side by side; the ratio is the number to quote.",
        },
      ],
      figures: [
        {
          name: "latency-auc",
          title: "Latency against ROC-AUC: teacher, distilled students, label-trained students",
          svg: lineChart({
            title: "Distillation: latency vs accuracy",
            xLabel: "microseconds per transaction (log)",
            yLabel: "ROC-AUC (mean over seeds)",
            xScale: "log",
            series: [series("teacher", "teacher"), series("distilled", "students distilled from the teacher"), series("labels", "students trained on labels")],
          }),
        },
      ],
      facts: {
        speedup: phraseRatio(meanInterval(runs.map((r) => r.metrics.speedup as number)).mean),
        aucLoss: iv("aucLoss"),
        distillGain: iv("distillGain"),
        teacherAuc: fmtInterval(meanInterval(pick(0, (m) => m.auc))),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Distillation trains a small student on a big teacher's outputs. With trees: a 10-tree student fitted to the teacher's log-odds scored ${facts.speedup} faster per transaction, lost ${facts.aucLoss} ROC-AUC against the teacher's ${facts.teacherAuc}, and beat a 10-tree model trained on the labels by ${facts.distillGain}: the soft scores carry more information per example than 0/1 labels, and the transfer set can include unlabelled rows."`,
    "does not hold": ({ checks, facts }) =>
      checks["teacher-helps"]?.verdict === "does not hold" && checks["speedup"]?.verdict === "holds"
        ? `"A small model is the speed win: 10 trees scored ${facts.speedup} faster than the teacher and lost ${facts.aucLoss} ROC-AUC. But on this data the teacher's scores did not teach the student more than the labels did (distilled minus label-trained: ${facts.distillGain}), so the benefit came from model size, not from distillation itself. Distillation pays when the teacher knows something the labels do not show directly: a deep model with embeddings, extra features, or lots of unlabelled traffic to transfer on."`
        : `"Measured: the 10-tree distilled student was ${facts.speedup} faster, lost ${facts.aucLoss} ROC-AUC and gained ${facts.distillGain} over a label-trained student of the same size; not every part of the claim held here (see the checks), so I would size the student on the latency budget and measure what it loses."`,
    inconclusive: ({ checks, facts }) =>
      `"The 10-tree student was ${facts.speedup} faster and lost ${facts.aucLoss} ROC-AUC; not settled: ${openParts(checks)}."`,
  },
});
