import { averagePrecision, confusionAt, maxF1Point, rocAuc } from "@mlsd/ml-metrics";
import { lineChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { checkSummary } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast, within } from "../harness/verdict";
import { prevalence } from "../fraud/data";
import { scoreRows, trainGbdt } from "../fraud/model";
import { resampleToPrevalence, undersampleNegatives } from "../fraud/resample";
import { DEFAULT_WORLD, QUICK_WORLD, splitWorld, type WorldSize } from "../fraud/world";

interface Params extends WorldSize {
  /** Test-set prevalences of the sweep; "natural" is added. */
  prevalences: number[];
  /** Random draws per prevalence level. */
  draws: number;
  /** Share of legitimate training rows kept by undersampling. */
  undersampleShare: number;
}

interface ModelResult {
  name: string;
  auc: number;
  ap: number;
  f1AtHalf: number;
  f1Tuned: number;
  tunedThreshold: number;
  meanScore: number;
  seconds: number;
}

interface Detail {
  natural: number;
  sweep: { prevalence: number; frauds: number; auc: number; ap: number }[];
  models: ModelResult[];
}

const LOWEST = 0.0005;
const BALANCED = 0.5;

export default defineClaim<Params, Detail>({
  id: "12",
  aliases: [],
  slug: "imbalance",
  title: "Imbalanced data: PR-AUC, class weights, threshold tuning, resample the training set only",
  claim:
    "With rare positives: judge models by PR-AUC (average precision), not ROC-AUC, which hides how rare the class is; use class weights; tune the decision threshold instead of using 0.5; resample the training set if you like, never the test set, because a resampled test set reports a prevalence that production does not have.",
  question: "How do you handle imbalanced data? (grill Q12; quick fire Q50: PR-AUC and threshold tuning)",
  setup: [
    "One fraud world per seed (fraud near 1 % of payments), time-ordered train, validation and test windows, features from the feature store, the lab GBDT.",
    "",
    "- **Metric vs prevalence**: the unweighted model's test scores, with the test set resampled to each prevalence (frauds dropped to lower it, legitimate payments dropped to raise it, several random draws per level). The 50 % level is what a 'balanced' test set reports.",
    "- **Class weights**: fraud rows weighted 1x (none), sqrt(negatives/positives) (the trainer's default) and negatives/positives (fully balanced).",
    "- **Threshold tuning**: F1 on the test window at 0.5 against F1 at the threshold that maximised F1 on the validation window.",
    "- **Resampling the training set**: legitimate training rows undersampled, model otherwise unchanged.",
    "",
    "Focal loss is not in the project's GBDT and is not measured.",
  ].join("\n"),
  sizes: {
    default: { ...DEFAULT_WORLD, prevalences: [0.5, 0.1, 0.002, 0.0005], draws: 20, undersampleShare: 0.1 },
    quick: { ...QUICK_WORLD, prevalences: [0.5, 0.1, 0.0005], draws: 2, undersampleShare: 0.1 },
  },
  seeds: { default: 5, quick: 2 },
  checks: [
    { id: "roc-blind", metric: "rocShift", description: "ROC-AUC at 0.05 % prevalence minus ROC-AUC at the natural prevalence", rule: within(-0.02, 0.02) },
    { id: "pr-sensitive", metric: "apDrop", description: "average precision at the natural prevalence minus at 0.05 %", rule: atLeast(0.1) },
    { id: "weights-help", metric: "weightGain", description: "AP with sqrt-balance class weights minus AP without weights", rule: atLeast(0.005) },
    { id: "tuning-helps", metric: "tuningGain", description: "test F1 at the validation-tuned threshold minus F1 at 0.5 (sqrt-weighted model)", rule: atLeast(0.02) },
    { id: "train-resampling-ok", metric: "undersampleEffect", description: "AP with the training set undersampled minus AP without", rule: atLeast(-0.01) },
    { id: "test-resampling-misleads", metric: "balancedInflation", description: "AP reported on a balanced (50 %) test set minus AP at the natural prevalence", rule: atLeast(0.1) },
  ],
  run(p, ctx) {
    const s = splitWorld(ctx.seed, p);
    const { matrix } = s.data;
    const { train, valid, test } = s.split.rows;
    const positives = s.trainY.reduce((a, b) => a + b, 0);
    const negatives = s.trainY.length - positives;
    const rng = new Rng(ctx.seed * 31 + 7);

    const fit = (name: string, scalePosWeight: number, rows: ArrayLike<number> = train, labels: ArrayLike<number> = s.trainY): { result: ModelResult; testScores: Float64Array } => {
      ctx.log(`model: ${name}`);
      const m = trainGbdt({ matrix, rows, labels, params: { scalePosWeight } });
      const validScores = scoreRows(m.predictor, matrix, valid);
      const testScores = scoreRows(m.predictor, matrix, test);
      const tuned = maxF1Point(s.validY, validScores);
      return {
        testScores,
        result: {
          name,
          auc: rocAuc(s.testY, testScores),
          ap: averagePrecision(s.testY, testScores),
          f1AtHalf: confusionAt(s.testY, testScores, 0.5).f1,
          f1Tuned: confusionAt(s.testY, testScores, tuned.threshold).f1,
          tunedThreshold: tuned.threshold,
          meanScore: testScores.reduce((a, b) => a + b, 0) / testScores.length,
          seconds: m.seconds,
        },
      };
    };
    const plain = fit("no weights", 1);
    const sqrt = fit("sqrt-balance weights (trainer default)", Math.sqrt(negatives / positives));
    const balanced = fit("full balance weights", negatives / positives);
    const kept = undersampleNegatives(s.trainY, p.undersampleShare, rng);
    const under = fit(
      `no weights, legitimate training rows undersampled to ${Math.round(p.undersampleShare * 100)} %`,
      1,
      kept.map((i) => train[i] as number),
      kept.map((i) => s.trainY[i] as number),
    );

    const natural = prevalence(s.testY);
    const levels = [...new Set([...p.prevalences, natural])].sort((a, b) => b - a);
    const sweep = levels.map((level) => {
      if (level === natural) return { prevalence: level, frauds: s.testY.reduce((a, b) => a + b, 0), auc: plain.result.auc, ap: plain.result.ap };
      let auc = 0;
      let ap = 0;
      let frauds = 0;
      for (let d = 0; d < p.draws; d++) {
        const idx = resampleToPrevalence(s.testY, level, rng);
        const y = idx.map((i) => s.testY[i] as number);
        const sc = idx.map((i) => plain.testScores[i] as number);
        auc += rocAuc(y, sc) / p.draws;
        ap += averagePrecision(y, sc) / p.draws;
        frauds += y.reduce((a, b) => a + b, 0) / p.draws;
      }
      return { prevalence: level, frauds, auc, ap };
    });
    const at = (level: number) => sweep.find((x) => x.prevalence === level) as Detail["sweep"][number];
    return {
      metrics: {
        rocShift: at(LOWEST).auc - at(natural).auc,
        apDrop: at(natural).ap - at(LOWEST).ap,
        weightGain: sqrt.result.ap - plain.result.ap,
        tuningGain: sqrt.result.f1Tuned - sqrt.result.f1AtHalf,
        undersampleEffect: under.result.ap - plain.result.ap,
        balancedInflation: at(BALANCED).ap - at(natural).ap,
      },
      detail: { natural, sweep, models: [plain.result, sqrt.result, balanced.result, under.result] },
    };
  },
  report({ runs }) {
    const first = runs[0]?.detail as Detail;
    const levels = first.sweep.length;
    const sweepRow = (k: number) => {
      const pick = (f: (x: Detail["sweep"][number]) => number) => runs.map((r) => f(r.detail.sweep[k] as Detail["sweep"][number]));
      const isNatural = first.sweep[k]?.prevalence === first.natural;
      const label = isNatural ? `natural: ${cell(pick((x) => x.prevalence * 100), 2)} %` : `${((first.sweep[k]?.prevalence ?? 0) * 100).toString()} %`;
      return [label, cell(pick((x) => x.frauds), 0), cell(pick((x) => x.auc)), cell(pick((x) => x.ap))];
    };
    const modelRow = (k: number) => {
      const pick = (f: (x: ModelResult) => number) => runs.map((r) => f(r.detail.models[k] as ModelResult));
      return [first.models[k]?.name ?? "", cell(pick((x) => x.auc)), cell(pick((x) => x.ap)), cell(pick((x) => x.f1AtHalf)), cell(pick((x) => x.tunedThreshold)), cell(pick((x) => x.f1Tuned)), cell(pick((x) => x.meanScore), 4), cell(pick((x) => x.seconds), 1)];
    };
    const meanAt = (k: number, f: (x: Detail["sweep"][number]) => number) => meanInterval(runs.map((r) => f(r.detail.sweep[k] as Detail["sweep"][number]))).mean;
    const points = (f: (x: Detail["sweep"][number]) => number) => Array.from({ length: levels }, (_, k) => [meanAt(k, (x) => x.prevalence), meanAt(k, f)] as [number, number]);
    const iv = (metric: string) => fmtInterval(meanInterval(runs.map((r) => r.metrics[metric] as number)));
    const naturalAp = meanInterval(runs.map((r) => r.detail.models[0]?.ap as number));
    return {
      tables: [
        {
          title: "Same scores, test set resampled to each prevalence (unweighted model)",
          columns: ["test prevalence", "frauds in the test set", "ROC-AUC", "average precision"],
          rows: Array.from({ length: levels }, (_, k) => sweepRow(k)),
          note: "Mean ± half-width of the 95 % interval over seeds; each level averages several random draws. ROC-AUC barely moves because it compares the two classes' score distributions, which resampling does not change; AP measures precision, which depends on how many legitimate payments share each score.",
        },
        {
          title: "Class weights, threshold tuning and training-set resampling (natural test set)",
          columns: ["model", "ROC-AUC", "average precision", "F1 at 0.5", "tuned threshold", "F1 at tuned threshold", "mean score", "train s"],
          rows: first.models.map((_, k) => modelRow(k)),
          note: "The tuned threshold maximises F1 on the validation window; F1 is then measured on the test window. Mean score against the test prevalence shows how weights and undersampling inflate scores.",
        },
      ],
      figures: [
        {
          name: "prevalence",
          title: "ROC-AUC and average precision of the same scores as the test prevalence falls",
          svg: lineChart({ title: "Same model, test set resampled: ROC-AUC stays, AP falls", xLabel: "test-set prevalence (log)", yLabel: "metric (mean over seeds)", xScale: "log", yDomain: [0, 1], series: [{ name: "ROC-AUC", points: points((x) => x.auc) }, { name: "average precision", points: points((x) => x.ap) }] }),
        },
      ],
      facts: {
        rocShift: iv("rocShift"),
        apDrop: iv("apDrop"),
        naturalAp: fmtInterval(naturalAp),
        weightGain: iv("weightGain"),
        tuningGain: iv("tuningGain"),
        undersampleEffect: iv("undersampleEffect"),
        balancedInflation: iv("balancedInflation"),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Use PR-AUC: as fraud went from its natural rate to 0.05 % of the test set, ROC-AUC moved by ${facts.rocShift} while AP fell by ${facts.apDrop}. Class weights helped AP by ${facts.weightGain}; tuning the threshold on validation gained ${facts.tuningGain} F1 over 0.5; undersampling the training set changed AP by ${facts.undersampleEffect}. And never resample the test set: a balanced test set reported AP ${facts.balancedInflation} higher than the natural one, a number production will never see."`,
    "does not hold": ({ checks, facts }) => {
      return `"I measured each piece of the standard advice: ${checkSummary(checks)}. Metric: from the natural rate to 0.05 % fraud, ROC-AUC moved by ${facts.rocShift} while AP fell by ${facts.apDrop}, so report PR-AUC. Class weights changed AP by ${facts.weightGain}${checks["weights-help"]?.verdict === "does not hold" ? ": with gradient-boosted trees they rescale scores rather than improve the ranking, so I treat them as a calibration choice, not a fix" : ""}. Threshold tuning gained ${facts.tuningGain} F1 over 0.5. Undersampling the training set changed AP by ${facts.undersampleEffect}. A balanced test set overstated AP by ${facts.balancedInflation}: resample train only, never test."`;
    },
    inconclusive: ({ checks, facts }) =>
      `"${checkSummary(checks)}. As fraud got rarer ROC-AUC moved by ${facts.rocShift} and AP fell by ${facts.apDrop}, so PR-AUC is the metric to report; class weights changed AP by ${facts.weightGain}, threshold tuning F1 by ${facts.tuningGain}, undersampling the training set AP by ${facts.undersampleEffect}, and a balanced test set overstated AP by ${facts.balancedInflation}."`,
  },
});
