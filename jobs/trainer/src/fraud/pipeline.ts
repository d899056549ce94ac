import fs from "node:fs";
import path from "node:path";
import { buildReference, createDriftReference } from "@mlsd/drift";
import { RedisFraudFeatureStore, type LabelInput, type TransactionInput } from "@mlsd/feature-store";
import { Dataset, featureImportance, Predictor, train, type TrainParamsInput } from "@mlsd/gbdt";
import { publishFraudModel } from "@mlsd/model-formats/fraud";
import { ModelRegistry, type RegisteredModel } from "@mlsd/model-registry";
import { Progress } from "@mlsd/progress";
import { createFraudWorld, simulateTransactions, type FraudWorldInput, type FraudWorldPreset } from "@mlsd/synth";
import { type TransactionTable } from "@mlsd/datasets";
import { Redis } from "ioredis";
import { chooseThresholds, DEFAULT_DECISION_COSTS, policyCost, type DecisionCosts, type PolicyCost } from "./costs";
import { buildFeatures, DEFAULT_SPLIT, fraudLabels, labelsKnownAt, selectRows, timeSplit, transactionInputs, type SplitSpec, type TimeSplit } from "./data";
import { evaluateScores, renderFraudReport, type FraudEvaluation } from "./evaluate";
import { trainFallback } from "./fallback";

export const DEFAULT_GBDT_PARAMS: TrainParamsInput = {
  objective: "binary",
  numRounds: 300,
  learningRate: 0.1,
  maxDepth: 6,
  lambda: 1,
  minChildWeight: 1,
  subsample: 0.8,
  colsampleByTree: 0.8,
  earlyStoppingRounds: 30,
  evalMetric: "logloss",
  seed: 7,
};

export type FraudDataSource =
  | { kind: "synthetic"; world: FraudWorldInput | FraudWorldPreset }
  | { kind: "table"; table: TransactionTable; name: string };

export interface TrainFraudOptions {
  source: FraudDataSource;
  split?: SplitSpec;
  gbdt?: Partial<TrainParamsInput>;
  /**
   * Weight of fraud rows relative to legitimate ones. `"sqrt-balance"` uses sqrt(negatives /
   * positives): enough to stop the rare class being ignored, without the calibration damage of a
   * full rebalance.
   */
  positiveWeight?: number | "sqrt-balance";
  costs?: DecisionCosts;
  registryDir: string;
  reportDir: string;
  /** Replays the most recent history into this Redis so the service starts with warm features. */
  materializeRedisUrl?: string;
  log?: (line: string) => void;
}

export interface TrainFraudResult {
  registered: RegisteredModel;
  evaluation: FraudEvaluation;
  split: TimeSplit;
  chosen: PolicyCost;
  atHalf: PolicyCost;
  reportPath: string;
  trainSeconds: number;
}

function loadSource(source: FraudDataSource, log: (l: string) => void): { table: TransactionTable; describe: Record<string, unknown> } {
  if (source.kind === "table") return { table: source.table, describe: { dataset: source.name } };
  const world = createFraudWorld(source.world);
  const progress = new Progress({ total: world.options.days, label: "simulate transactions", unit: "days" });
  const table = simulateTransactions(world, { onDay: (done) => progress.update(done) });
  progress.done();
  log(`world: ${world.options.customers} customers, ${world.options.terminals} terminals, ${world.options.days} days, seed ${world.options.seed}: ${table.length} transactions`);
  return {
    table,
    describe: {
      dataset: "synthetic fraud world",
      customers: world.options.customers,
      terminals: world.options.terminals,
      days: world.options.days,
      seed: world.options.seed,
      startDate: new Date(table.originEpochSeconds * 1000).toISOString().slice(0, 10),
    },
  };
}

export async function trainFraud(options: TrainFraudOptions): Promise<TrainFraudResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const costs = options.costs ?? DEFAULT_DECISION_COSTS;
  const { table, describe } = loadSource(options.source, log);
  const txs = transactionInputs(table);
  const labels = fraudLabels(table, txs);
  const matrix = buildFeatures(txs, labels);
  const split = timeSplit(table, options.split ?? DEFAULT_SPLIT);

  const trainY = labelsKnownAt(table, split.rows.train, split.cutoffMs);
  const validY = labelsKnownAt(table, split.rows.valid, split.cutoffMs);
  const positives = trainY.labels.reduce((s, v) => s + v, 0);
  if (positives === 0) throw new RangeError("no known fraud in the training window: use a longer history or window");
  const negatives = trainY.labels.length - positives;
  const weight = options.positiveWeight ?? "sqrt-balance";
  const scalePosWeight = weight === "sqrt-balance" ? Math.sqrt(negatives / positives) : weight;
  log(
    `split: train days ${split.train.join("-")} (${split.rows.train.length} rows, ${positives} known frauds, ${trainY.hidden} not yet known), ` +
      `valid ${split.valid.join("-")} (${split.rows.valid.length}), delay ${split.spec.delayDays} d, test ${split.test.join("-")} (${split.rows.test.length})`,
  );

  const trainData = Dataset.fromRows(selectRows(matrix, split.rows.train), { labels: trainY.labels, featureNames: matrix.names, seed: 7 });
  const validData = Dataset.fromRows(selectRows(matrix, split.rows.valid), { labels: validY.labels, reference: trainData });
  const params: TrainParamsInput = { ...DEFAULT_GBDT_PARAMS, ...options.gbdt, scalePosWeight };
  const rounds = params.numRounds ?? 300;
  const progress = new Progress({ total: rounds, label: "train GBDT", unit: "trees" });
  const t0 = performance.now();
  const result = train(trainData, params, { validation: validData, onIteration: (r) => progress.update(r.iteration + 1) });
  const trainSeconds = (performance.now() - t0) / 1000;
  progress.done();
  log(`gbdt: ${result.model.trees.length} trees (best iteration ${result.bestIteration}), ${trainSeconds.toFixed(1)} s`);

  const predictor = new Predictor(result.model);
  const score = (rows: Int32Array) => predictor.predictBatch(selectRows(matrix, rows));
  const validScores = score(split.rows.valid);
  const testScores = score(split.rows.test);

  const costRows = (rows: Int32Array, scores: Float64Array, useTruth: boolean) => ({
    scores,
    fraud: useTruth ? Float64Array.from(rows, (i) => table.fraud[i] as number) : labelsKnownAt(table, rows, split.cutoffMs).labels,
    amount: Float64Array.from(rows, (i) => table.amount[i] as number),
    day: Float64Array.from(rows, (i) => table.timeDays[i] as number),
  });
  // Thresholds are chosen on validation data, then judged on the untouched test window.
  const chosenOnValid = chooseThresholds(costRows(split.rows.valid, validScores, false), costs);
  const testRows = costRows(split.rows.test, testScores, true);
  const chosen = policyCost(testRows, chosenOnValid.thresholds, costs);
  const atHalf = policyCost(testRows, { review: 0.5, decline: 0.5 }, costs);

  const evaluation = evaluateScores(table, split.rows.test, testScores, split);
  const degraded = trainFallback({
    matrix,
    rows: split.rows,
    labels: { train: trainY.labels, valid: validY.labels, test: Float64Array.from(split.rows.test, (i) => table.fraud[i] as number) },
    costRows: (rows, scores) => costRows(rows, scores, false),
    costs,
    main: result.model,
    params,
  });
  const q = degraded.quality;
  log(
    `degraded answers (test, no feature store): fallback model AUC ${q.fallback.rocAuc.toFixed(4)} AP ${q.fallback.averagePrecision.toFixed(4)}; ` +
      `main model without store features AUC ${q.mainWithoutStore.rocAuc.toFixed(4)} AP ${q.mainWithoutStore.averagePrecision.toFixed(4)}; full AUC ${q.full.rocAuc.toFixed(4)}`,
  );
  const importance = featureImportance(result.model, "gain");

  const reference = createDriftReference({
    features: matrix.names.map((name, f) => {
      const column = new Float64Array(split.rows.train.length);
      split.rows.train.forEach((i, r) => (column[r] = matrix.values[i * matrix.names.length + f] as number));
      return buildReference(name, column, { kind: "numeric", bins: 10 });
    }),
    score: buildReference("score", validScores, { kind: "numeric", bins: 10 }),
  });

  const registry = new ModelRegistry(options.registryDir);
  const origin = table.originEpochSeconds * 1000;
  const day = (d: number) => new Date(origin + d * 86_400_000).toISOString().slice(0, 10);
  const metrics = {
    test: { rocAuc: evaluation.rocAuc, averagePrecision: evaluation.averagePrecision, cardPrecisionAt100: evaluation.cardPrecisionAt100, ece: evaluation.ece },
    costs: { chosen: chosen.total, atHalf: atHalf.total, currency: "amount units" },
    degraded: degraded.quality,
    trees: result.model.trees.length,
    trainSeconds,
  };
  const registered = await publishFraudModel(registry, {
    gbdt: result.model,
    thresholds: chosenOnValid.thresholds,
    fallback: degraded.fallback,
    driftReference: reference,
    dataWindow: { ...describe, train: [day(split.train[0]), day(split.train[1])], valid: [day(split.valid[0]), day(split.valid[1])], test: [day(split.test[0]), day(split.test[1])] },
    metrics,
    extra: { costs, scalePosWeight, params: result.params },
  });

  fs.mkdirSync(options.reportDir, { recursive: true });
  const reportPath = path.join(options.reportDir, "fraud-report.md");
  const report = renderFraudReport({
    version: registered.manifest.version,
    describe,
    split,
    days: day,
    evaluation,
    chosen,
    atHalf,
    costs,
    importance,
    trees: result.model.trees.length,
    trainSeconds,
    scalePosWeight,
    rows: { train: split.rows.train.length, valid: split.rows.valid.length, test: split.rows.test.length, positives, hidden: trainY.hidden },
    prCurvePath: "fraud-pr-curve.svg",
  });
  fs.writeFileSync(reportPath, report.markdown);
  fs.writeFileSync(path.join(options.reportDir, "fraud-pr-curve.svg"), report.prCurveSvg);
  fs.copyFileSync(reportPath, registered.file("report.md"));

  if (options.materializeRedisUrl) await materialize(options.materializeRedisUrl, txs, labels, log);
  return { registered, evaluation, split, chosen, atHalf, reportPath, trainSeconds };
}

/**
 * Replays the last 37 days (the longest window plus the label delay) into Redis so the service
 * starts with the features it would have had running all along.
 */
async function materialize(url: string, txs: readonly TransactionInput[], labels: readonly LabelInput[], log: (l: string) => void): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    const store = new RedisFraudFeatureStore(redis);
    const end = txs.length ? (txs[txs.length - 1] as TransactionInput).timeMs : 0;
    const from = end - (30 + 7 + 1) * 86_400_000;
    const recent = txs.filter((t) => t.timeMs >= from);
    const pending = labels.filter((l) => l.knownAtMs <= end).sort((a, b) => a.knownAtMs - b.knownAtMs);
    const progress = new Progress({ total: recent.length, label: "materialise features into Redis", unit: "tx" });
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
    log(`materialised ${recent.length} transactions and their known labels into ${url}`);
  } finally {
    redis.disconnect();
  }
}
