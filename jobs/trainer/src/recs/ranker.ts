import {
  buildRankerFeaturesOffline,
  DEFAULT_RECS_FEATURE_CONFIG,
  RANKER_FEATURE_COUNT,
  RANKER_FEATURE_NAMES,
  rankerFeatureIndex,
  rankerFeatureSchemaHash,
  type RankerFeatureMatrix,
  type RankerFeatureName,
  type RecsFeatureConfig,
  type RecsSession,
} from "@mlsd/feature-store";
import { Dataset, featureImportance, Predictor, train, type GbdtModel, type TrainParamsInput, type TrainResult } from "@mlsd/gbdt";
import { publishRankerModel } from "@mlsd/model-formats/ranker";
import { ModelRegistry, type RegisteredModel } from "@mlsd/model-registry";
import { Rng } from "@mlsd/random";
import type { ImpressionLog, RecWorld } from "@mlsd/synth";
import { REC_WORLD_ORIGIN_MS, worldCatalogue, worldDayToMs, worldSessions, type RetrievalScorer } from "./ranker-data";
import { ndcgOfScores, type RankingEvalSet } from "./ranker-eval";

// Shallow trees and a small step: the click signal is sparse (a few % of impressions) and the
// validation NDCG on clicks is noisy, so deeper trees overfit and a short patience stops too early.
const TREE_PARAMS = { numRounds: 400, learningRate: 0.05, maxDepth: 4, lambda: 1, subsample: 0.8, colsampleByTree: 0.8, earlyStoppingRounds: 50, seed: 7 };

/** LambdaMART on clicks; early stopping on validation NDCG@k. Pair hessians are small, hence the low minChildWeight. */
export const DEFAULT_LAMBDARANK_PARAMS: TrainParamsInput = { ...TREE_PARAMS, objective: "lambdarank", minChildWeight: 0.01, evalMetric: "ndcg", ndcgAt: 10 };
/** The pointwise baseline (claim 9): the same trees on log-loss of click / no click. */
export const DEFAULT_POINTWISE_PARAMS: TrainParamsInput = { ...TREE_PARAMS, objective: "binary", minChildWeight: 1, evalMetric: "logloss" };

/**
 * Time windows in world days: rows before `warmupDays` only build up counters; train runs up to
 * the validation window, which ends where the held-out test window starts.
 */
export interface RankerSplit {
  warmupDays: number;
  validDays: number;
  /** Default: the world's training cut-off day. */
  testStartDay: number;
}

/** What the ranker's rows are built from: the world, its logged slates and the retrieval score. */
export interface RankerDataOptions {
  world: RecWorld;
  /** Logged impressions with clicks (`simulateInteractions`); one slate becomes one query group. */
  impressions: ImpressionLog;
  scorer: RetrievalScorer;
  split?: Partial<RankerSplit>;
  featureConfig?: RecsFeatureConfig;
}

export interface TrainRankerOptions extends RankerDataOptions {
  /** Recorded in the manifest: serving must feed the ranker scores from the same retrieval model. */
  scorerName: string;
  /** The registry versions of the retrieval model `scorer` stands for; recorded so serving pairs them. */
  retrievalVersions?: readonly string[];
  k?: number;
  lambdarank?: Partial<TrainParamsInput>;
  pointwise?: Partial<TrainParamsInput>;
  /** Publish the LambdaRank model here (alias `current`) when given. */
  registryDir?: string;
  log?: (line: string) => void;
}

export type RankingMethod = "lambdarank" | "pointwise" | "retrieval" | "popularity" | "logged" | "random";

export interface RankingMethodResult {
  method: RankingMethod;
  description: string;
  /** NDCG@k against the world's true relevance (what position bias hides). */
  ndcgTrue: number;
  /** NDCG@k against the logged clicks (what an offline evaluation on logs sees). */
  ndcgClicks: number;
}

export interface TrainedRankerSummary {
  objective: "lambdarank" | "binary";
  trees: number;
  bestIteration: number;
  validMetric: string;
  bestValidScore: number | null;
  trainSeconds: number;
}

export interface RankerTrainingReport {
  k: number;
  scorerName: string;
  featureSchemaHash: string;
  features: readonly string[];
  split: RankerSplit & { endDay: number };
  rows: { train: number; valid: number; test: number };
  groups: { train: number; valid: number; test: number; testWithClicks: number };
  trainClickRate: number;
  methods: RankingMethodResult[];
  models: { lambdarank: TrainedRankerSummary; pointwise: TrainedRankerSummary };
  importance: { feature: string; gain: number }[];
  registered: { version: string; dir: string } | null;
}

export interface TrainRankerResult {
  report: RankerTrainingReport;
  model: GbdtModel;
  pointwiseModel: GbdtModel;
  registered: RegisteredModel | null;
}

interface Window {
  /** First and one-past-last group index in the feature matrix. */
  groups: [number, number];
  rows: [number, number];
}

function windowOf(matrix: RankerFeatureMatrix, sessions: readonly RecsSession[], fromMs: number, toMs: number, rowOffsets: Int32Array): Window {
  let first = -1;
  let last = -1;
  for (let g = 0; g < matrix.groupSessions.length; g++) {
    const t = (sessions[matrix.groupSessions[g] as number] as RecsSession).timeMs;
    if (t >= fromMs && t < toMs) {
      if (first < 0) first = g;
      last = g + 1;
    }
  }
  if (first < 0) return { groups: [0, 0], rows: [0, 0] };
  return { groups: [first, last], rows: [rowOffsets[first] as number, rowOffsets[last] as number] };
}

/**
 * Rows leave the log in slate order, which is the logging policy's ranking. GBDT breaks score ties
 * by row order (in the NDCG metric and the LambdaRank pair order), so that order would leak the
 * logged positions into training and early stopping: shuffle the rows within each slate. Returns
 * the impression-log row of each matrix row.
 */
function shuffleWithinSlates(matrix: RankerFeatureMatrix, sessions: readonly RecsSession[], rowOffsets: Int32Array, rng: Rng): Int32Array {
  const width = RANKER_FEATURE_COUNT;
  // The log row of each session's top slot.
  const firstLogRow = new Int32Array(sessions.length);
  for (let s = 1; s < sessions.length; s++) firstLogRow[s] = (firstLogRow[s - 1] as number) + (sessions[s - 1] as RecsSession).items.length;
  const logRow = new Int32Array(matrix.rows);
  const shuffled = new Float64Array(matrix.values.length);
  for (let g = 0; g < matrix.groups.length; g++) {
    const first = firstLogRow[matrix.groupSessions[g] as number] as number;
    const start = rowOffsets[g] as number;
    const order = rng.shuffle(Array.from({ length: matrix.groups[g] as number }, (_, p) => p));
    order.forEach((p, slot) => {
      logRow[start + slot] = first + p;
      shuffled.set(matrix.values.subarray((start + p) * width, (start + p + 1) * width), (start + slot) * width);
    });
  }
  matrix.values.set(shuffled);
  return logRow;
}

/** Rows of one time window: features, click labels, slates as query groups. */
export interface RankerPart {
  rows: { data: Float64Array; numRows: number; numColumns: number };
  labels: Float64Array;
  groups: Int32Array;
  /** The impression-log row of each row: its position, propensity and true relevance are there. */
  logRows: Int32Array;
}

/** Slates without a click give a pair loss no pair to learn from and NDCG nothing to judge: leave them out. */
export function clickedSlates(p: RankerPart): RankerPart {
  const width = p.rows.numColumns;
  const keep: number[] = [];
  const groups: number[] = [];
  let offset = 0;
  for (const size of p.groups) {
    let clicks = 0;
    for (let r = offset; r < offset + size; r++) clicks += p.labels[r] as number;
    if (clicks > 0) {
      for (let r = offset; r < offset + size; r++) keep.push(r);
      groups.push(size);
    }
    offset += size;
  }
  const data = new Float64Array(keep.length * width);
  keep.forEach((r, i) => data.set(p.rows.data.subarray(r * width, (r + 1) * width), i * width));
  return {
    rows: { data, numRows: keep.length, numColumns: width },
    labels: Float64Array.from(keep, (r) => p.labels[r] as number),
    groups: Int32Array.from(groups),
    logRows: Int32Array.from(keep, (r) => p.logRows[r] as number),
  };
}

function summary(result: TrainResult, objective: "lambdarank" | "binary", seconds: number): TrainedRankerSummary {
  return {
    objective,
    trees: result.model.trees.length,
    bestIteration: result.bestIteration,
    validMetric: result.params.evalMetric,
    bestValidScore: result.bestScore ?? null,
    trainSeconds: seconds,
  };
}

export interface RankerData {
  split: RankerSplit;
  sessions: RecsSession[];
  /** Train and validation rows, every slate; fit a pair loss on `clickedSlates` of them. */
  train: RankerPart;
  valid: RankerPart;
  /** The held-out window, with both truths for NDCG. */
  test: RankerPart;
  evalSet: RankingEvalSet;
  /** One feature's values over the test rows (a single-feature ranking to compare with). */
  testColumn(name: RankerFeatureName): Float64Array;
}

/**
 * The ranker's rows from a logged world: point-in-time features of every slate after the warm-up
 * (rows shuffled within each slate), cut by time into train, validation and test windows.
 */
export function rankerData(options: RankerDataOptions): RankerData {
  const { world, impressions: log } = options;
  const config = options.featureConfig ?? DEFAULT_RECS_FEATURE_CONFIG;
  const testStartDay = options.split?.testStartDay ?? world.options.trainCutoffDay;
  const split: RankerSplit = { warmupDays: options.split?.warmupDays ?? 2, validDays: options.split?.validDays ?? 4, testStartDay };
  const validStartDay = testStartDay - split.validDays;
  if (!(split.warmupDays < validStartDay)) {
    throw new RangeError(`split: warm-up (${split.warmupDays} d) must end before validation starts (day ${validStartDay})`);
  }

  const sessions = worldSessions(world, log);
  const warmupMs = worldDayToMs(split.warmupDays);
  const matrix = buildRankerFeaturesOffline(sessions, {
    catalogue: worldCatalogue(world),
    config,
    include: (s) => s.timeMs >= warmupMs,
    retrievalScore: (s, p) => {
      const session = sessions[s] as RecsSession;
      return options.scorer(Number(session.userId), Number(session.items[p]), session.timeMs);
    },
  });
  const rowOffsets = new Int32Array(matrix.groups.length + 1);
  for (let g = 0; g < matrix.groups.length; g++) rowOffsets[g + 1] = (rowOffsets[g] as number) + (matrix.groups[g] as number);
  const logRow = shuffleWithinSlates(matrix, sessions, rowOffsets, new Rng(17));

  const trainW = windowOf(matrix, sessions, warmupMs, worldDayToMs(validStartDay), rowOffsets);
  const validW = windowOf(matrix, sessions, worldDayToMs(validStartDay), worldDayToMs(testStartDay), rowOffsets);
  const testW = windowOf(matrix, sessions, worldDayToMs(testStartDay), Infinity, rowOffsets);
  for (const [name, w] of [["train", trainW], ["validation", validW], ["test", testW]] as const) {
    if (w.groups[1] === w.groups[0]) throw new RangeError(`split: the ${name} window holds no sessions; the log covers too few days for this split`);
  }

  const width = RANKER_FEATURE_COUNT;
  const part = (w: Window): RankerPart => {
    const logRows = logRow.subarray(w.rows[0], w.rows[1]);
    return {
      rows: { data: matrix.values.subarray(w.rows[0] * width, w.rows[1] * width), numRows: w.rows[1] - w.rows[0], numColumns: width },
      labels: Float64Array.from(logRows, (r) => log.clicked[r] as number),
      groups: matrix.groups.subarray(w.groups[0], w.groups[1]),
      logRows,
    };
  };
  const test = part(testW);
  const testGroupOffsets = new Int32Array(test.groups.length + 1);
  for (let g = 0; g < test.groups.length; g++) testGroupOffsets[g + 1] = (testGroupOffsets[g] as number) + (test.groups[g] as number);
  const evalSet: RankingEvalSet = {
    groupOffsets: testGroupOffsets,
    items: Int32Array.from(test.logRows, (r) => log.item[r] as number),
    trueRelevance: Float64Array.from(test.logRows, (r) => log.trueRelevance[r] as number),
    clicked: Uint8Array.from(test.logRows, (r) => log.clicked[r] as number),
  };
  const testColumn = (name: RankerFeatureName) => {
    const j = rankerFeatureIndex(name);
    return Float64Array.from({ length: test.rows.numRows }, (_, r) => test.rows.data[r * width + j] as number);
  };
  return { split, sessions, train: part(trainW), valid: part(validW), test, evalSet, testColumn };
}

export interface FittedRanker {
  result: TrainResult;
  seconds: number;
}

/** One GBDT fit on ranker rows with early stopping on the validation rows; `weights` are row weights of `fitOn`. */
export function fitRanker(params: TrainParamsInput, fitOn: RankerPart, validOn: RankerPart, weights?: ArrayLike<number>): FittedRanker {
  const names = [...RANKER_FEATURE_NAMES];
  const trainData = Dataset.fromRows(fitOn.rows, { labels: fitOn.labels, groups: fitOn.groups, featureNames: names, seed: 7, ...(weights ? { weights } : {}) });
  const validData = Dataset.fromRows(validOn.rows, { labels: validOn.labels, groups: validOn.groups, reference: trainData });
  const t0 = performance.now();
  const result = train(trainData, params, { validation: validData });
  return { result, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Trains the GBDT ranker on logged slates and judges it on a later window against the world's
 * true relevance and against clicks, next to the retrieval order, observed popularity, the logged
 * order and a random order. The pointwise model is the comparison of claim 9.
 */
export async function trainRanker(options: TrainRankerOptions): Promise<TrainRankerResult> {
  const say = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const { world, impressions: log } = options;
  const k = options.k ?? 10;
  const config = options.featureConfig ?? DEFAULT_RECS_FEATURE_CONFIG;
  const data = rankerData(options);
  const { split, sessions, test, evalSet } = data;
  const validStartDay = split.testStartDay - split.validDays;
  const testStartDay = split.testStartDay;
  const trainPart = data.train;
  const validPart = data.valid;
  const trainLabels = trainPart.labels;

  const names = [...RANKER_FEATURE_NAMES];
  const fit = (params: TrainParamsInput, label: string, fitOn: RankerPart, validOn: RankerPart) => {
    const fitted = fitRanker(params, fitOn, validOn);
    const { result, seconds } = fitted;
    say(`${label}: ${result.model.trees.length} trees (best round ${result.bestIteration}, validation ${result.params.evalMetric} ${result.bestScore?.toFixed(4)}), ${seconds.toFixed(1)} s`);
    return fitted;
  };
  say(
    `ranker data: ${sessions.length} sessions; train ${trainPart.rows.numRows} rows in ${trainPart.groups.length} slates, ` +
      `validation ${validPart.rows.numRows}, test ${test.rows.numRows} (days ${split.warmupDays}-${validStartDay}-${testStartDay}-end)`,
  );
  const ranker = fit({ ...DEFAULT_LAMBDARANK_PARAMS, ...options.lambdarank, objective: "lambdarank" } as TrainParamsInput, "lambdarank", clickedSlates(trainPart), clickedSlates(validPart));
  // Log-loss learns from every impression, the clickless slates' negatives included.
  const pointwise = fit({ ...DEFAULT_POINTWISE_PARAMS, ...options.pointwise, objective: "binary" } as TrainParamsInput, "pointwise (binary log-loss)", trainPart, validPart);

  const testRows = test.rows.numRows;
  const rng = new Rng(99);
  const candidates: [RankingMethod, string, ArrayLike<number>][] = [
    ["lambdarank", "GBDT, LambdaRank objective", new Predictor(ranker.result.model).predictBatchRaw(test.rows)],
    ["pointwise", "GBDT, binary log-loss (pointwise)", new Predictor(pointwise.result.model).predictBatchRaw(test.rows)],
    ["retrieval", `retrieval score alone (${options.scorerName})`, data.testColumn("retrieval_score")],
    ["popularity", "observed popularity: clicks so far", data.testColumn("item_log_clicks")],
    ["logged", "the logging policy's order", Float64Array.from(test.logRows, (r) => -(log.position[r] as number))],
    ["random", "random order", Float64Array.from({ length: testRows }, () => rng.next())],
  ];
  const methods = candidates.map(([method, description, scores]) => {
    const ndcg = ndcgOfScores(evalSet, scores, k);
    return { method, description, ndcgTrue: ndcg.trueRelevance, ndcgClicks: ndcg.clicks, judged: ndcg.groupsWithClicks };
  });
  const testWithClicks = methods[0]?.judged ?? 0;

  const featureSchemaHash = rankerFeatureSchemaHash(config);
  const report: RankerTrainingReport = {
    k,
    scorerName: options.scorerName,
    featureSchemaHash,
    features: names,
    split: { ...split, endDay: world.options.days },
    rows: { train: trainPart.rows.numRows, valid: validPart.rows.numRows, test: testRows },
    groups: { train: trainPart.groups.length, valid: validPart.groups.length, test: test.groups.length, testWithClicks },
    trainClickRate: trainLabels.reduce((a, b) => a + b, 0) / trainLabels.length,
    methods: methods.map(({ method, description, ndcgTrue, ndcgClicks }) => ({ method, description, ndcgTrue, ndcgClicks })),
    models: { lambdarank: summary(ranker.result, "lambdarank", ranker.seconds), pointwise: summary(pointwise.result, "binary", pointwise.seconds) },
    importance: featureImportance(ranker.result.model, "gain")
      .slice(0, 8)
      .map((f) => ({ feature: f.name, gain: f.importance })),
    registered: null,
  };

  let registered: RegisteredModel | null = null;
  if (options.registryDir) {
    const registry = new ModelRegistry(options.registryDir);
    const day = (d: number) => new Date(worldDayToMs(d)).toISOString().slice(0, 10);
    const model = ranker.result.model;
    registered = await publishRankerModel(registry, {
      gbdt: model,
      featureConfig: config,
      dataWindow: {
        dataset: "synthetic recommendation world",
        seed: world.options.seed,
        users: world.numUsers,
        items: world.numItems,
        train: [day(split.warmupDays), day(validStartDay)],
        valid: [day(validStartDay), day(testStartDay)],
        test: [day(testStartDay), day(world.options.days)],
        originMs: REC_WORLD_ORIGIN_MS,
      },
      metrics: {
        [`ndcg@${k}`]: Object.fromEntries(report.methods.map((m) => [m.method, { trueRelevance: m.ndcgTrue, clicks: m.ndcgClicks }])),
        trees: model.trees.length,
        trainSeconds: ranker.seconds,
      },
      extra: { objective: "lambdarank", k, retrievalScorer: options.scorerName },
      ...(options.retrievalVersions ? { retrievalVersions: options.retrievalVersions } : {}),
      attachments: { "report.md": renderRankerReport(report) },
    });
    report.registered = { version: registered.manifest.version, dir: registered.dir };
    say(`ranker model ${registered.manifest.version} -> ${registered.dir}`);
  }
  return { report, model: ranker.result.model, pointwiseModel: pointwise.result.model, registered };
}

/** The report as markdown: the NDCG table first, then how it was obtained. */
export function renderRankerReport(report: RankerTrainingReport): string {
  const k = report.k;
  const lines = [
    `# Ranker: NDCG@${k} on the held-out window`,
    "",
    `Test: days ${report.split.testStartDay}-${report.split.endDay}, ${report.groups.test} slates (${report.rows.test} impressions), ` +
      `${report.groups.testWithClicks} with at least one click. Retrieval score: ${report.scorerName}.`,
    "",
    `| ranking | NDCG@${k} vs true relevance | NDCG@${k} vs clicks |`,
    "|---|---:|---:|",
    ...report.methods.map((m) => `| ${m.description} | ${m.ndcgTrue.toFixed(4)} | ${m.ndcgClicks.toFixed(4)} |`),
    "",
    "True relevance is the world's P(click | examined), used as a linear gain over every slate; clicks are binary gains over",
    "the slates that have one. Clicks carry the logging policy's position bias, true relevance does not.",
    "",
    "| model | trees | best round | validation metric | training time |",
    "|---|---:|---:|---|---:|",
    ...[report.models.lambdarank, report.models.pointwise].map(
      (m) => `| ${m.objective} | ${m.trees} | ${m.bestIteration} | ${m.validMetric} ${m.bestValidScore?.toFixed(4) ?? "-"} | ${m.trainSeconds.toFixed(1)} s |`,
    ),
    "",
    `Split (world days): warm-up 0-${report.split.warmupDays}, train ${report.split.warmupDays}-${report.split.testStartDay - report.split.validDays} ` +
      `(${report.rows.train} rows, click rate ${(100 * report.trainClickRate).toFixed(2)} %), validation ` +
      `${report.split.testStartDay - report.split.validDays}-${report.split.testStartDay} (${report.rows.valid} rows).`,
    "",
    `Top features by gain: ${report.importance.map((f) => `${f.feature} ${f.gain.toFixed(1)}`).join(", ")}.`,
    "",
    `Feature schema ${report.featureSchemaHash}: ${report.features.join(", ")}.`,
    "",
  ];
  return lines.join("\n");
}
