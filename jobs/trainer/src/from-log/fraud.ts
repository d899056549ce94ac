import { buildReference, createDriftReference } from "@mlsd/drift";
import { FraudColumnPlan, fraudFeatureNames, type FraudFeatureMatrix } from "@mlsd/feature-store";
import { Dataset, Predictor, train, type TrainParamsInput } from "@mlsd/gbdt";
import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import { loadFraudModel, publishFraudModel } from "@mlsd/model-formats/fraud";
import { ModelRegistry, newVersion, type RegisteredModel } from "@mlsd/model-registry";
import { OfflineStoreReader, readLabelledDecisions, type LabelledDecision } from "@mlsd/offline-store";
import { chooseThresholds, DEFAULT_DECISION_COSTS, policyCost, type CostedRows, type DecisionCosts } from "@mlsd/decisions";
import { selectFeatureRows as selectRows } from "@mlsd/feature-store";
import { trainFallback } from "../fraud/fallback";
import { DEFAULT_GBDT_PARAMS, DEFAULT_LABEL_EDGES, DEFAULT_RATIO_FEATURES } from "../fraud/selection";
import { dayMs, describeWindows, logWindows, type LogWindowOptions } from "./windows";

export interface FraudFromLogOptions extends LogWindowOptions {
  storeDir: string;
  registryDir: string;
  /** The model in service the candidate is compared with (default `current`). */
  baselineAlias?: string;
  /** Where the candidate is published (default `candidate`: never straight to `current`). */
  alias?: string;
  gbdt?: Partial<TrainParamsInput>;
  costs?: DecisionCosts;
  log?: (line: string) => void;
}

export interface ModelScore {
  version: string;
  rocAuc: number;
  averagePrecision: number;
  /** The cost of deciding the evaluation rows at this model's own thresholds. */
  cost: number;
}

export interface FromLogComparison {
  windows: { train: [string, string]; gap: [string, string]; evaluation: [string, string]; asOf: string };
  rows: { train: number; validation: number; evaluation: number; evaluationFrauds: number };
  candidate: ModelScore;
  /** Null when no model served yet (the first one). */
  baseline: ModelScore | null;
}

export interface FraudFromLogResult {
  registered: RegisteredModel;
  comparison: FromLogComparison;
}

/**
 * Trains the fraud model from what the system logged: the decisions it served (their feature
 * vectors exactly as scored, so there is no training-serving skew by construction) joined to the
 * labels known at `asOf` (a decision older than the label horizon with no fraud label counts as
 * legitimate; younger ones without a label are left out). Windows run train | gap | evaluation,
 * the evaluation window ending a label horizon before `asOf` so its labels are settled. The
 * candidate and the model in service are scored on the same evaluation rows, and the candidate is
 * published under `candidate` with that comparison in its manifest.
 */
export async function trainFraudFromLog(options: FraudFromLogOptions): Promise<FraudFromLogResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const costs = options.costs ?? DEFAULT_DECISION_COSTS;
  const w = logWindows(options);
  const reader = new OfflineStoreReader(options.storeDir);
  const decisions = (await readLabelledDecisions(reader, { from: w.trainFrom, to: w.evalTo, asOf: w.asOf, assumeLegitimateAfterMs: w.labelHorizonMs }))
    // Rule decisions never reached the model, degraded ones lack the store's features: the model learns from full rows.
    .filter((d) => d.decidedBy === "model" && d.label !== null);
  const inWindow = (from: number, to: number) => decisions.filter((d) => d.eventTimeMs >= from && d.eventTimeMs < to);
  const trainAll = inWindow(w.trainFrom, w.trainTo);
  const evaluation = inWindow(w.evalFrom, w.evalTo);
  // The last fifth of the training window (by time) stops the boosting and sets the thresholds.
  const validFrom = w.trainFrom + 0.8 * (w.trainTo - w.trainFrom);
  const fit = trainAll.filter((d) => d.eventTimeMs < validFrom);
  const valid = trainAll.filter((d) => d.eventTimeMs >= validFrom);
  const positives = fit.reduce((s, d) => s + (d.label ?? 0), 0);
  log(`from the log: ${fit.length} training rows (${positives} frauds), ${valid.length} validation, ${evaluation.length} evaluation (${describeWindows(w)})`);
  if (positives === 0 || valid.length === 0 || evaluation.length === 0) {
    throw new RangeError(`not enough logged decisions with known labels in the windows (${describeWindows(w)}): ${fit.length} training (${positives} frauds), ${valid.length} validation, ${evaluation.length} evaluation`);
  }

  // The logged (served) features, and the model's columns computed from them as the trainer's main run does.
  const names = fraudFeatureNames();
  const served = toMatrix([...fit, ...valid, ...evaluation], names);
  const matrix = FraudColumnPlan.compile(names, [...names, ...DEFAULT_RATIO_FEATURES]).matrix(served);
  const rowsOf = (from: number, count: number) => Int32Array.from({ length: count }, (_, i) => from + i);
  const rows = { train: rowsOf(0, fit.length), valid: rowsOf(fit.length, valid.length), test: rowsOf(fit.length + valid.length, evaluation.length) };
  const labels = (ds: LabelledDecision[]) => Float64Array.from(ds, (d) => d.label ?? 0);
  const negatives = fit.length - positives;
  const params: TrainParamsInput = { ...DEFAULT_GBDT_PARAMS, ...options.gbdt, scalePosWeight: Math.sqrt(negatives / positives) };
  const trainData = Dataset.fromRows(selectRows(matrix, rows.train), { labels: labels(fit), featureNames: matrix.names, seed: 7, labelEdges: DEFAULT_LABEL_EDGES });
  const validData = Dataset.fromRows(selectRows(matrix, rows.valid), { labels: labels(valid), reference: trainData });
  const result = train(trainData, params, { validation: validData });
  const predictor = new Predictor(result.model);
  const costRows = (ds: LabelledDecision[], scores: Float64Array): CostedRows => ({
    scores,
    fraud: labels(ds),
    amount: Float64Array.from(ds, (d) => d.features.TX_AMOUNT ?? 0),
    day: Float64Array.from(ds, (d) => Math.floor(d.eventTimeMs / dayMs)),
  });
  const thresholds = chooseThresholds(costRows(valid, predictor.predictBatch(selectRows(matrix, rows.valid))), costs).thresholds;
  const evalLabels = labels(evaluation);
  const score = (version: string, scores: Float64Array, t: { review: number; decline: number }): ModelScore => ({
    version,
    rocAuc: rocAuc(evalLabels, scores),
    averagePrecision: averagePrecision(evalLabels, scores),
    cost: policyCost(costRows(evaluation, scores), t, costs).total,
  });

  const registry = new ModelRegistry(options.registryDir);
  const version = newVersion();
  let baseline: ModelScore | null = null;
  try {
    const current = loadFraudModel(registry, options.baselineAlias ?? "current");
    // The model in service reads its own columns, which may differ from the candidate's.
    const columns = FraudColumnPlan.compile(names, current.gbdt.featureNames).matrix(served);
    baseline = score(current.version, new Predictor(current.gbdt).predictBatch(selectRows(columns, rows.test)), current.thresholds);
  } catch (error) {
    log(`no baseline to compare with (${(error as Error).message}): the candidate is judged alone`);
  }
  const candidateScores = predictor.predictBatch(selectRows(matrix, rows.test));
  const degraded = trainFallback({
    matrix,
    rows,
    labels: { train: labels(fit), valid: labels(valid), test: evalLabels },
    costRows: (_validRows, scores) => costRows(valid, scores),
    costs,
    main: result.model,
    params,
    labelEdges: DEFAULT_LABEL_EDGES,
  });
  const reference = createDriftReference({
    features: names.map((name, j) => buildReference(name, Float64Array.from(rows.train, (i) => served.values[i * names.length + j] as number), { kind: "numeric", bins: 10 })),
    score: buildReference("score", predictor.predictBatch(selectRows(matrix, rows.valid)), { kind: "numeric", bins: 10 }),
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const comparison: FromLogComparison = {
    windows: { train: [iso(w.trainFrom), iso(w.trainTo)], gap: [iso(w.trainTo), iso(w.evalFrom)], evaluation: [iso(w.evalFrom), iso(w.evalTo)], asOf: iso(w.asOf) },
    rows: { train: fit.length, validation: valid.length, evaluation: evaluation.length, evaluationFrauds: evalLabels.reduce((s, y) => s + y, 0) },
    candidate: score(version, candidateScores, thresholds),
    baseline,
  };
  const registered = await publishFraudModel(registry, {
    gbdt: result.model,
    thresholds,
    fallback: degraded.fallback,
    driftReference: reference,
    dataWindow: { source: "offline store", store: options.storeDir, ...comparison.windows },
    metrics: { comparison, degraded: degraded.quality, trees: result.model.trees.length },
    extra: { source: "log", params: result.params },
    version,
    alias: options.alias ?? "candidate",
  });
  log(
    `candidate fraud-gbdt@${registered.manifest.version}: evaluation AUC ${comparison.candidate.rocAuc.toFixed(4)}, AP ${comparison.candidate.averagePrecision.toFixed(4)}, cost ${comparison.candidate.cost.toFixed(0)}` +
      (baseline ? `; in service ${baseline.version}: AUC ${baseline.rocAuc.toFixed(4)}, AP ${baseline.averagePrecision.toFixed(4)}, cost ${baseline.cost.toFixed(0)}` : ""),
  );
  return { registered, comparison };
}

function toMatrix(rows: readonly LabelledDecision[], names: readonly string[]): FraudFeatureMatrix {
  const values = new Float64Array(rows.length * names.length);
  rows.forEach((d, r) => names.forEach((name, j) => (values[r * names.length + j] = d.features[name] ?? Number.NaN)));
  return { names: [...names], rows: rows.length, values };
}
