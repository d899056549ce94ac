import { buildReference, createDriftReference } from "@mlsd/drift";
import { RANKER_FEATURE_NAMES } from "@mlsd/feature-store";
import { Dataset, Predictor, train, type TrainParamsInput } from "@mlsd/gbdt";
import { loadRankerModel, publishRankerModel } from "@mlsd/model-formats/ranker";
import { ModelRegistry, newVersion, type RegisteredModel } from "@mlsd/model-registry";
import { OfflineStoreReader, readLabelledImpressions, type LabelledImpression } from "@mlsd/offline-store";
import { DEFAULT_LAMBDARANK_PARAMS } from "../recs/ranker";
import { ndcgOfScores, type RankingEvalSet } from "../recs/ranker-eval";
import { describeWindows, logWindows, type LogWindowOptions } from "./windows";

export interface RankerFromLogOptions extends Omit<LogWindowOptions, "labelHorizonDays"> {
  storeDir: string;
  registryDir: string;
  /** A click counts for an impression within this long after it (event time; default 30 min). */
  attributionWindowMs?: number;
  baselineAlias?: string;
  alias?: string;
  k?: number;
  lambdarank?: Partial<TrainParamsInput>;
  log?: (line: string) => void;
}

export interface RankerScore {
  version: string;
  /** NDCG@k of the logged clicks, over the evaluation answers that got at least one click. */
  ndcgClicks: number;
}

export interface RankerComparison {
  windows: { train: [string, string]; gap: [string, string]; evaluation: [string, string]; asOf: string };
  rows: { train: number; validation: number; evaluation: number };
  answers: { train: number; evaluation: number; evaluationWithClicks: number };
  k: number;
  candidate: RankerScore;
  baseline: RankerScore | null;
}

export interface RankerFromLogResult {
  registered: RegisteredModel;
  comparison: RankerComparison;
}

interface Slate {
  requestId: string;
  rows: LabelledImpression[];
}

/**
 * Trains the ranker from what the system served: each answer a model gave is one query group,
 * its items' feature rows exactly as the ranker scored them (logged in recs.served, so there is
 * no point-in-time leak and no skew by construction), labelled by the clicks that came within the
 * attribution window. Windows run train | gap | evaluation; the candidate and the ranker in
 * service are compared by NDCG@k of the clicks on the same evaluation answers, and the candidate
 * is published under `candidate` with that comparison in its manifest.
 */
export async function trainRankerFromLog(options: RankerFromLogOptions): Promise<RankerFromLogResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const k = options.k ?? 10;
  const attribution = options.attributionWindowMs ?? 30 * 60_000;
  const w = logWindows({ ...options, labelHorizonDays: attribution / 86_400_000 });
  const reader = new OfflineStoreReader(options.storeDir);
  const impressions = await readLabelledImpressions(reader, { from: w.trainFrom, to: w.evalTo, asOf: w.asOf, attributionWindowMs: attribution });
  const slates = groupSlates(impressions.filter((r) => r.itemFeatures !== null && Object.keys(r.itemFeatures).length > 0));
  const inWindow = (from: number, to: number) => slates.filter((s) => (s.rows[0] as LabelledImpression).eventTimeMs >= from && (s.rows[0] as LabelledImpression).eventTimeMs < to);
  const trainAll = inWindow(w.trainFrom, w.trainTo);
  const evaluation = inWindow(w.evalFrom, w.evalTo);
  const validFrom = w.trainFrom + 0.8 * (w.trainTo - w.trainFrom);
  const clicked = (s: Slate) => s.rows.some((r) => r.clicked === 1);
  // LambdaRank learns from answers with at least one click (a group without one has no pairs).
  const fit = trainAll.filter((s) => (s.rows[0] as LabelledImpression).eventTimeMs < validFrom && clicked(s));
  const valid = trainAll.filter((s) => (s.rows[0] as LabelledImpression).eventTimeMs >= validFrom && clicked(s));
  const judged = evaluation.filter(clicked);
  log(`from the log: ${fit.length} clicked training answers, ${valid.length} validation, ${judged.length} of ${evaluation.length} evaluation answers with a click (${describeWindows(w)})`);
  if (fit.length === 0 || valid.length === 0 || judged.length === 0) {
    throw new RangeError(`not enough served answers with clicks in the windows (${describeWindows(w)}): ${fit.length} training, ${valid.length} validation, ${judged.length} evaluation`);
  }

  const names = [...RANKER_FEATURE_NAMES];
  const part = (set: Slate[]) => {
    const rows = set.flatMap((s) => s.rows);
    const data = new Float64Array(rows.length * names.length);
    rows.forEach((r, i) => names.forEach((name, j) => (data[i * names.length + j] = r.itemFeatures?.[name] ?? Number.NaN)));
    return { matrix: { data, numRows: rows.length, numColumns: names.length }, labels: Float64Array.from(rows, (r) => r.clicked), groups: set.map((s) => s.rows.length), rows };
  };
  const trainPart = part(fit);
  const validPart = part(valid);
  const evalPart = part(judged);
  const trainData = Dataset.fromRows(trainPart.matrix, { labels: trainPart.labels, groups: trainPart.groups, featureNames: names, seed: 7 });
  const validData = Dataset.fromRows(validPart.matrix, { labels: validPart.labels, groups: validPart.groups, reference: trainData });
  const result = train(trainData, { ...DEFAULT_LAMBDARANK_PARAMS, ndcgAt: k, ...options.lambdarank, objective: "lambdarank" } as TrainParamsInput, { validation: validData });

  const offsets = new Int32Array(judged.length + 1);
  judged.forEach((s, g) => (offsets[g + 1] = (offsets[g] as number) + s.rows.length));
  const itemIndex = new Map<string, number>();
  const evalSet: RankingEvalSet = {
    groupOffsets: offsets,
    items: Int32Array.from(evalPart.rows, (r) => itemIndex.get(r.itemId) ?? (itemIndex.set(r.itemId, itemIndex.size), itemIndex.size - 1)),
    // The system knows clicks, not relevance: clicks are both the gain and the judgement here.
    trueRelevance: evalPart.labels,
    clicked: evalPart.labels,
  };
  const scoreOf = (version: string, scores: ArrayLike<number>): RankerScore => ({ version, ndcgClicks: ndcgOfScores(evalSet, scores, k).clicks });

  const registry = new ModelRegistry(options.registryDir);
  const version = newVersion();
  let baseline: RankerScore | null = null;
  try {
    const current = loadRankerModel(registry, options.baselineAlias ?? "current");
    baseline = scoreOf(current.version, new Predictor(current.gbdt).predictBatchRaw(evalPart.matrix));
  } catch (error) {
    log(`no ranker to compare with (${(error as Error).message}): the candidate is judged alone`);
  }
  const predictor = new Predictor(result.model);
  const iso = (ms: number) => new Date(ms).toISOString();
  const comparison: RankerComparison = {
    windows: { train: [iso(w.trainFrom), iso(w.trainTo)], gap: [iso(w.trainTo), iso(w.evalFrom)], evaluation: [iso(w.evalFrom), iso(w.evalTo)], asOf: iso(w.asOf) },
    rows: { train: trainPart.rows.length, validation: validPart.rows.length, evaluation: evalPart.rows.length },
    answers: { train: fit.length, evaluation: evaluation.length, evaluationWithClicks: judged.length },
    k,
    candidate: scoreOf(version, predictor.predictBatchRaw(evalPart.matrix)),
    baseline,
  };
  const retrievalVersions = new Map<string, number>();
  for (const s of fit) {
    const v = (s.rows[0] as LabelledImpression).modelVersions.retrieval;
    if (v) retrievalVersions.set(v, (retrievalVersions.get(v) ?? 0) + 1);
  }
  const retrievalScorer = [...retrievalVersions].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "unknown";
  const reference = createDriftReference({
    features: names.map((name, j) => buildReference(name, Float64Array.from({ length: trainPart.rows.length }, (_, i) => trainPart.matrix.data[i * names.length + j] as number), { kind: "numeric", bins: 10 })),
    score: buildReference("score", predictor.predictBatchRaw(validPart.matrix), { kind: "numeric", bins: 10 }),
  });
  const registered = await publishRankerModel(registry, {
    gbdt: result.model,
    dataWindow: { source: "offline store", store: options.storeDir, ...comparison.windows },
    metrics: { comparison, trees: result.model.trees.length },
    extra: { objective: "lambdarank", k, retrievalScorer, source: "log" },
    driftReference: reference,
    version,
    alias: options.alias ?? "candidate",
  });
  log(`candidate ranker-gbdt@${registered.manifest.version}: NDCG@${k} of clicks ${comparison.candidate.ndcgClicks.toFixed(4)}` + (baseline ? `; in service ${baseline.version}: ${baseline.ndcgClicks.toFixed(4)}` : ""));
  return { registered, comparison };
}

function groupSlates(rows: readonly LabelledImpression[]): Slate[] {
  const byRequest = new Map<string, LabelledImpression[]>();
  for (const r of rows) {
    const list = byRequest.get(r.requestId) ?? [];
    list.push(r);
    byRequest.set(r.requestId, list);
  }
  return [...byRequest.entries()]
    .map(([requestId, list]) => ({ requestId, rows: list.sort((a, b) => a.position - b.position) }))
    .sort((a, b) => (a.rows[0] as LabelledImpression).eventTimeMs - (b.rows[0] as LabelledImpression).eventTimeMs);
}
