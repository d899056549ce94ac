import fs from "node:fs";
import path from "node:path";
import { buildReference, createDriftReference } from "@mlsd/drift";
import { chooseThresholds, DEFAULT_DECISION_COSTS, policyCost, type DecisionCosts, type PolicyCost } from "@mlsd/decisions";
import {
  FraudColumnPlan,
  fraudLabelInputs,
  fraudTransactionInputs,
  RedisFraudFeatureStore,
  type FraudFeatureMatrix,
  type LabelInput,
  type TransactionInput,
} from "@mlsd/feature-store";
import { featureImportance } from "@mlsd/gbdt";
import { publishFraudModel } from "@mlsd/model-formats/fraud";
import { ModelRegistry, type RegisteredModel } from "@mlsd/model-registry";
import { Progress } from "@mlsd/progress";
import { createFraudWorld, simulateTransactions, type FraudWorldInput, type FraudWorldPreset } from "@mlsd/synth";
import { labelsKnownAt, type TransactionTable } from "@mlsd/datasets";
import { openRedis } from "../redis-target";
import { buildFeatures } from "./data";
import { evaluateScores, meanMetrics, rankingMetrics, type FraudEvaluation, type RankingMetrics } from "./evaluate";
import { exportPredictions, type ExportFormat, type ExportPart, type ExportResult } from "./export";
import {
  dateOfDay,
  dayStarts,
  foldCutoffMs,
  foldRows,
  resolveProtocol,
  rowsOfDays,
  summarizeWindow,
  testFolds,
  validationFolds,
  type FoldRows,
  type ProtocolInput,
  type ProtocolSpec,
  type WindowSummary,
} from "./protocol";
import { renderFraudReport } from "./report";
import { trainFallback, type DegradedQuality } from "./fallback";
import { DEFAULT_GBDT_PARAMS, DEFAULT_GRID, DEFAULT_LABEL_EDGES, DEFAULT_RATIO_FEATURES, describeParams, expandGrid, fitFold, prequentialSearch, scoreRows, type FittedFold, type FraudData, type FraudModelParams, type GridAxes, type SelectionMetric, type SelectionResult } from "./selection";

export type FraudDataSource =
  | {
      kind: "synthetic";
      world: FraudWorldInput | FraudWorldPreset;
      /** World seeds to run the whole protocol on (default: the world's own seed); the first seed's model is published. */
      seeds?: number[];
    }
  | { kind: "table"; table: TransactionTable; name: string };

export interface TrainFraudOptions {
  source: FraudDataSource;
  protocol?: ProtocolInput;
  /** Replaces axes of the default candidate grid. */
  grid?: Partial<GridAxes>;
  /** Fixes parameters: the grid keeps only this value on their axes. */
  gbdt?: Partial<FraudModelParams>;
  /** Validation metric that picks the candidate (default ap). */
  selectBy?: SelectionMetric;
  /** Bin edges per feature placed by the training labels instead of the quantiles (default DEFAULT_LABEL_EDGES). */
  labelEdges?: number;
  /** Columns the model computes from the served features, ratios `A/B` (default DEFAULT_RATIO_FEATURES; [] for none). */
  ratioFeatures?: readonly string[];
  costs?: DecisionCosts;
  registryDir: string;
  reportDir: string;
  /** Features and predictions of the published seed's train, validation and test rows. */
  export?: { dir: string; format: ExportFormat };
  /** Replays the most recent history into this Redis so the service starts with warm features. */
  materializeRedisUrl?: string;
  /** The command line that made this run, printed at the top of the report. */
  command?: string;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface FoldSummary {
  train: WindowSummary;
  assess: WindowSummary;
  /** Assessment rows dropped because their card was known compromised. */
  dropped: number;
  droppedCards: number;
  knownFrauds?: number;
  hiddenFrauds?: number;
}

export interface TestFoldResult extends FoldSummary {
  metrics: RankingMetrics;
  trees: number;
  trainSeconds: number;
  scalePosWeight: number;
}

/** What the report keeps of one seed's run (the heavy arrays are dropped once a seed is done). */
export interface SeedRun {
  label: string;
  describe: Record<string, unknown>;
  history: WindowSummary;
  labelDelayDays: { min: number; max: number } | undefined;
  spec: ProtocolSpec;
  validation: FoldSummary[];
  selection: Omit<SelectionResult, "bestScores">;
  tests: TestFoldResult[];
  testMean: RankingMetrics;
}

export interface TrainFraudResult {
  registered: RegisteredModel;
  runs: SeedRun[];
  /** The published model on its test window (test fold 0 of the first seed). */
  evaluation: FraudEvaluation;
  chosen: PolicyCost;
  atHalf: PolicyCost;
  /** Test-window quality of degraded answers (feature store down): the fallback model against the main model without store features. */
  degraded: DegradedQuality;
  exported?: ExportResult;
  reportPath: string;
}

interface LoadedData {
  table: TransactionTable;
  describe: Record<string, unknown>;
  label: string;
}

function* loadSources(source: FraudDataSource, log: (l: string) => void, quiet: boolean): Generator<LoadedData> {
  if (source.kind === "table") {
    yield { table: source.table, describe: { dataset: source.name }, label: source.name };
    return;
  }
  const base = createFraudWorld(source.world).options;
  for (const seed of source.seeds ?? [base.seed]) {
    const world = createFraudWorld({ ...base, seed });
    const progress = quiet ? undefined : new Progress({ total: world.options.days, label: `simulate transactions (world seed ${seed})`, unit: "days" });
    const table = simulateTransactions(world, { onDay: (done) => progress?.update(done) });
    progress?.done();
    log(`world seed ${seed}: ${world.options.customers} customers, ${world.options.terminals} terminals, ${world.options.days} days: ${table.length} transactions`);
    yield {
      table,
      label: `world seed ${seed}`,
      describe: {
        dataset: "synthetic fraud world",
        customers: world.options.customers,
        terminals: world.options.terminals,
        days: world.options.days,
        seed,
        startDate: world.options.startDate,
      },
    };
  }
}

function labelDelayOf(table: TransactionTable): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < table.length; i++) {
    if (table.fraud[i] !== 1) continue;
    const d = ((table.labelKnownAt[i] as number) - (table.timeSeconds[i] as number)) / 86_400;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  return Number.isFinite(min) ? { min, max } : undefined;
}

function foldSummary(table: TransactionTable, fold: FoldRows): FoldSummary {
  const cards = new Set<number>();
  for (const i of fold.dropped) cards.add(table.customerId[i] as number);
  return {
    train: summarizeWindow(table, fold.windows.train, fold.train),
    assess: summarizeWindow(table, fold.windows.assess, fold.assess),
    dropped: fold.dropped.length,
    droppedCards: cards.size,
  };
}

function candidatesFor(options: TrainFraudOptions) {
  const axes: GridAxes = { ...DEFAULT_GRID, ...options.grid };
  const fixed = options.gbdt ?? {};
  return expandGrid({
    maxDepth: fixed.maxDepth !== undefined ? [fixed.maxDepth] : axes.maxDepth,
    learningRate: fixed.learningRate !== undefined ? [fixed.learningRate] : axes.learningRate,
    numRounds: fixed.numRounds !== undefined ? [fixed.numRounds] : axes.numRounds,
    positiveWeight: fixed.positiveWeight !== undefined ? [fixed.positiveWeight] : axes.positiveWeight,
  });
}

interface FullRun {
  run: SeedRun;
  data: FraudData;
  txs: TransactionInput[];
  labels: LabelInput[];
  validation: FoldRows[];
  test: FoldRows[];
  bestScores: Float64Array[];
  fitted: FittedFold[];
  testScores: Float64Array[];
  /** The served features (the model's first columns): what the drift monitor sees in decision events. */
  served: FraudFeatureMatrix;
}

function runProtocol(loaded: LoadedData, options: TrainFraudOptions, log: (l: string) => void): FullRun {
  const { table } = loaded;
  const quiet = options.quiet ?? false;
  const days = table.length ? (table.timeDays[table.length - 1] as number) + 1 : 0;
  const spec = resolveProtocol(options.protocol ?? {}, { originEpochSeconds: table.originEpochSeconds, days });
  const txs = fraudTransactionInputs(table);
  const labels = fraudLabelInputs(table, txs);
  const served: FraudFeatureMatrix = buildFeatures(txs, labels, quiet);
  const matrix = FraudColumnPlan.compile(served.names, [...served.names, ...(options.ratioFeatures ?? DEFAULT_RATIO_FEATURES)]).matrix(served);
  const data: FraudData = { table, matrix, labelEdges: options.labelEdges ?? DEFAULT_LABEL_EDGES };
  const starts = dayStarts(table);
  const validation = validationFolds(spec).map((w) => foldRows(table, w, spec.knownCompromised, starts));
  const test = testFolds(spec).map((w) => foldRows(table, w, spec.knownCompromised, starts));
  const date = (d: number) => dateOfDay(d, table.originEpochSeconds);
  log(
    `${loaded.label}: train ${date(spec.trainStart)} + ${spec.trainDays} d, delay ${spec.delayDays} d, test ${test.map((f) => date(f.windows.assess.from)).join(", ")} (${spec.testDays} d each), ` +
      `${spec.folds} validation folds, known-compromised cards: ${spec.knownCompromised}`,
  );

  const selection = prequentialSearch(data, validation, candidatesFor(options), options.selectBy ?? "ap", { quiet });
  log(`${loaded.label}: chose ${describeParams(selection.best.candidate.params)} (validation AP ${selection.best.mean.ap.toFixed(4)}, ${selection.seconds.toFixed(0)} s)`);

  const fitted: FittedFold[] = [];
  const testScores: Float64Array[] = [];
  const tests: TestFoldResult[] = test.map((fold) => {
    const fit = fitFold(data, fold, selection.best.candidate.params);
    const scores = scoreRows(fit.model, matrix, fold.assess);
    fitted.push(fit);
    testScores.push(scores);
    return {
      ...foldSummary(table, fold),
      knownFrauds: fit.knownFrauds,
      hiddenFrauds: fit.hiddenFrauds,
      metrics: rankingMetrics(table, fold.assess, scores),
      trees: fit.model.trees.length,
      trainSeconds: fit.seconds,
      scalePosWeight: fit.scalePosWeight,
    };
  });
  const testMean = meanMetrics(tests.map((t) => t.metrics));
  log(`${loaded.label}: test AUC ${testMean.auc.toFixed(4)}, AP ${testMean.ap.toFixed(4)}, CP@100 ${testMean.cp100.toFixed(4)} (mean of ${tests.length} test fold(s))`);
  const { bestScores, ...selectionSummary } = selection;
  return {
    run: {
      label: loaded.label,
      describe: loaded.describe,
      history: summarizeWindow(table, { from: 0, to: days }, Int32Array.from({ length: table.length }, (_, i) => i)),
      labelDelayDays: labelDelayOf(table),
      spec,
      validation: validation.map((f) => foldSummary(table, f)),
      selection: selectionSummary,
      tests,
      testMean,
    },
    data,
    served,
    txs,
    labels,
    validation,
    test,
    bestScores,
    fitted,
    testScores,
  };
}

export async function trainFraud(options: TrainFraudOptions): Promise<TrainFraudResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const costs = options.costs ?? DEFAULT_DECISION_COSTS;
  const runs: SeedRun[] = [];
  let published: Omit<TrainFraudResult, "runs" | "reportPath"> & { importance: ReturnType<typeof featureImportance> } | undefined;

  for (const loaded of loadSources(options.source, log, options.quiet ?? false)) {
    const full = runProtocol(loaded, options, log);
    runs.push(full.run);
    if (published) continue;
    published = await publish(full, options, costs, log);
    if (options.materializeRedisUrl) await materialize(options.materializeRedisUrl, full.txs, full.labels, log);
  }
  if (!published) throw new RangeError("no data to train on");

  fs.mkdirSync(options.reportDir, { recursive: true });
  const reportPath = path.join(options.reportDir, "fraud-report.md");
  const report = renderFraudReport({
    version: published.registered.manifest.version,
    command: options.command,
    runs,
    evaluation: published.evaluation,
    chosen: published.chosen,
    atHalf: published.atHalf,
    costs,
    degraded: published.degraded,
    importance: published.importance,
    exported: published.exported,
    prCurvePath: "fraud-pr-curve.svg",
  });
  fs.writeFileSync(reportPath, report.markdown);
  fs.writeFileSync(path.join(options.reportDir, "fraud-pr-curve.svg"), report.prCurveSvg);
  fs.copyFileSync(reportPath, published.registered.file("report.md"));
  const { importance: _importance, ...rest } = published;
  return { ...rest, runs, reportPath };
}

async function publish(full: FullRun, options: TrainFraudOptions, costs: DecisionCosts, log: (l: string) => void) {
  const { data, run } = full;
  const { table, matrix } = data;
  const testFold = full.test[0] as FoldRows;
  const fit = full.fitted[0] as FittedFold;
  const testScores = full.testScores[0] as Float64Array;
  const validFold = full.validation[0] as FoldRows;
  const validScores = full.bestScores[0] as Float64Array;

  const costRows = (rows: Int32Array, scores: Float64Array, fraud: Float64Array) => ({
    scores,
    fraud,
    amount: Float64Array.from(rows, (i) => table.amount[i] as number),
    day: Float64Array.from(rows, (i) => table.timeDays[i] as number),
  });
  // Thresholds are chosen on the newest validation window (labels as known when the model is
  // deployed), with the chosen hyper-parameters' scores there, then judged on the test window.
  const knownAtDeployment = (rows: Int32Array) => labelsKnownAt(table, rows, foldCutoffMs(table, testFold)).labels;
  const chosenOnValid = chooseThresholds(costRows(validFold.assess, validScores, knownAtDeployment(validFold.assess)), costs);
  const testRows = costRows(testFold.assess, testScores, Float64Array.from(testFold.assess, (i) => table.fraud[i] as number));
  const chosen = policyCost(testRows, chosenOnValid.thresholds, costs);
  const atHalf = policyCost(testRows, { review: 0.5, decline: 0.5 }, costs);
  const evaluation = evaluateScores(table, testFold.assess, testScores);
  const importance = featureImportance(fit.model, "gain");

  // The fallback is fitted on validation fold 0's layout, not the test fold's: that fold's
  // validation window is the last week of the published model's training window, so early
  // stopping and thresholds there would be judged on the fallback's own training rows.
  const degraded = trainFallback({
    matrix,
    rows: { train: validFold.train, valid: validFold.assess, test: testFold.assess },
    labels: {
      train: labelsKnownAt(table, validFold.train, foldCutoffMs(table, validFold)).labels,
      valid: knownAtDeployment(validFold.assess),
      test: Float64Array.from(testFold.assess, (i) => table.fraud[i] as number),
    },
    costRows: (rows, scores) => costRows(rows, scores, knownAtDeployment(rows)),
    costs,
    main: fit.model,
    params: { ...DEFAULT_GBDT_PARAMS, scalePosWeight: fit.scalePosWeight },
    labelEdges: data.labelEdges,
  });
  const q = degraded.quality;
  log(
    `degraded answers (test, no feature store): fallback model AUC ${q.fallback.rocAuc.toFixed(4)} AP ${q.fallback.averagePrecision.toFixed(4)}; ` +
      `main model without store features AUC ${q.mainWithoutStore.rocAuc.toFixed(4)} AP ${q.mainWithoutStore.averagePrecision.toFixed(4)}; full AUC ${q.full.rocAuc.toFixed(4)}`,
  );

  // The score reference must come from the model in service, on rows it did not train on: the
  // delay period's (scored the day it is deployed, no label needed), else the test window's.
  // Validation fold 0's scores are another model's and would read as drift from the start.
  const delayRows = rowsOfDays(table, testFold.windows.delay);
  const referenceScores = delayRows.length > 0 ? scoreRows(fit.model, matrix, delayRows) : testScores;
  // Of the served features only: the decision events carry those, not the columns the model computes.
  const { served } = full;
  const width = served.names.length;
  const reference = createDriftReference({
    features: served.names.map((name, f) => {
      const column = Float64Array.from(testFold.train, (i) => served.values[i * width + f] as number);
      return buildReference(name, column, { kind: "numeric", bins: 10 });
    }),
    score: buildReference("score", referenceScores, { kind: "numeric", bins: 10 }),
  });

  const date = (d: number) => dateOfDay(d, table.originEpochSeconds);
  const range = (r: { from: number; to: number }) => [date(r.from), date(r.to - 1)];
  const test0 = run.tests[0] as TestFoldResult;
  const registered = await publishFraudModel(new ModelRegistry(options.registryDir), {
    gbdt: fit.model,
    thresholds: chosenOnValid.thresholds,
    fallback: degraded.fallback,
    driftReference: reference,
    dataWindow: {
      ...run.describe,
      train: range(testFold.windows.train),
      delay: range(testFold.windows.delay),
      test: range(testFold.windows.assess),
      validation: full.validation.map((f) => range(f.windows.assess)),
      knownCompromised: run.spec.knownCompromised,
    },
    metrics: {
      test: { rocAuc: test0.metrics.auc, averagePrecision: test0.metrics.ap, cardPrecisionAt100: test0.metrics.cp100, ece: evaluation.ece },
      validation: { selectBy: run.selection.selectBy, ...run.selection.best.mean },
      costs: { chosen: chosen.total, atHalf: atHalf.total, currency: "amount units" },
      degraded: degraded.quality,
      trees: fit.model.trees.length,
      trainSeconds: fit.seconds,
    },
    extra: { costs, scalePosWeight: fit.scalePosWeight, params: run.selection.best.candidate.params },
  });
  log(`published ${registered.manifest.version} -> ${registered.dir}`);

  let exported: ExportResult | undefined;
  if (options.export) {
    const parts: ExportPart[] = [
      { split: "train", fold: 0, rows: testFold.train, scores: scoreRows(fit.model, matrix, testFold.train), cutoffSeconds: testFold.cutoffSeconds },
      ...full.validation.map((f, k): ExportPart => ({ split: "validation", fold: k, rows: f.assess, scores: full.bestScores[k] as Float64Array, cutoffSeconds: f.cutoffSeconds })),
      ...full.test.map((f, j): ExportPart => ({ split: "test", fold: j, rows: f.assess, scores: full.testScores[j] as Float64Array, cutoffSeconds: f.cutoffSeconds })),
    ];
    exported = await exportPredictions(options.export.dir, { table, matrix, modelVersion: registered.manifest.version, parts }, options.export.format);
    log(`exported ${exported.rows.train} train, ${exported.rows.validation} validation and ${exported.rows.test} test rows to ${options.export.dir}`);
  }
  return { registered, evaluation, chosen, atHalf, degraded: degraded.quality, exported, importance };
}

/**
 * Replays the last 37 days (the longest window plus the label delay) into Redis so the service
 * starts with the features it would have had running all along.
 */
async function materialize(url: string, txs: readonly TransactionInput[], labels: readonly LabelInput[], log: (l: string) => void): Promise<void> {
  const redis = openRedis(url);
  try {
    const store = new RedisFraudFeatureStore(redis);
    const end = txs.length ? (txs[txs.length - 1] as TransactionInput).timeMs : 0;
    const from = end - (30 + 7 + 1) * 86_400_000;
    const recent = txs.filter((t) => t.timeMs >= from);
    // Labels known after the end are stored too (the store counts a fraud only once its label is
    // known): the service takes labels only for transactions it scored, so the chargebacks still
    // due for the history's last week would otherwise never arrive, and terminal risk would sag
    // for a week of live traffic.
    const pending = [...labels].sort((a, b) => a.knownAtMs - b.knownAtMs);
    const progress = new Progress({ total: Math.max(1, recent.length), label: "materialise features into Redis", unit: "tx" });
    let next = 0;
    let inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < recent.length; i++) {
      const tx = recent[i] as TransactionInput;
      while (next < pending.length && (pending[next] as LabelInput).knownAtMs <= tx.timeMs) inFlight.push(store.applyKnownLabel(pending[next++] as LabelInput));
      // One connection keeps commands in order, so a window of unawaited calls is still a replay in time order.
      inFlight.push(store.observe(tx));
      if (inFlight.length >= 2000) {
        await Promise.all(inFlight);
        inFlight = [];
        progress.update(i + 1);
      }
    }
    while (next < pending.length) inFlight.push(store.applyKnownLabel(pending[next++] as LabelInput));
    await Promise.all(inFlight);
    progress.done();
    log(`materialised ${recent.length} transactions and ${pending.length} labels into ${url}`);
  } finally {
    redis.disconnect();
  }
}
