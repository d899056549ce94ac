import fs from "node:fs";
import path from "node:path";
import { loadMovieLens } from "@mlsd/datasets";
import { recsFeaturesAsOf } from "@mlsd/feature-store";
import { ModelRegistry, newVersion, type RegisteredModel } from "@mlsd/model-registry";
import { Progress } from "@mlsd/progress";
import { buildPopularityLists, publishPopularity, type PopularityLists } from "@mlsd/model-formats/popularity";
import { publishRetrievalModel } from "@mlsd/model-formats/retrieval";
import { Rng } from "@mlsd/random";
import { createRecWorld, REC_TRAFFIC_PRESETS, recWorldMsToDay, simulateInteractions, type RecWorldInput, type RecWorldPreset } from "@mlsd/synth";
import type { TwoTowerConfig } from "@mlsd/two-tower";
import { evaluateWorld, type WorldEvaluation } from "./evaluate-world";
import { materializeRecs } from "./materialize";
import { publishRankerModel } from "@mlsd/model-formats/ranker";
import { saveLinearTowers } from "@mlsd/two-tower";
import { movieLensUserTable } from "./movielens";
import { MODEL_NAMES, runSeed, summarizeSeeds, type SeedRun, type SeedSummary } from "./movielens-eval";
import { MOVIELENS_TWO_STAGE, TWO_STAGE_FEATURE_SET, type TwoStageConfig } from "./two-stage";
import { trainRanker, type RankerTrainingReport } from "./ranker";
import { REC_WORLD_ORIGIN_MS, worldCatalogue, worldDayToMs, worldProfiles, worldSessions } from "./ranker-data";
import { renderMovieLensReport, renderWorldReport, type IndexSweep } from "./report";
import { buildIndexes, effortName, recallAtDefault, searchIndex, sweepIndexRecall, trainTwoTower, userQuery, type BuiltIndexes, type IndexSpec } from "./retrieval-model";
import { clicksBefore, clicksOf, latestHistories, PointInTimeQueries, worldUserFeatures, worldUserTable } from "./world-data";
import { towerAndRankerWindows } from "./windows";

export type RecsPreset = RecWorldPreset;

export interface RecsPresetSpec {
  world: RecWorldInput;
  sessionsPerUser: number;
  slateSize: number;
  twoTower: Partial<TwoTowerConfig>;
  /** Users with held-out clicks the offline comparison ranks for (each scores the whole catalogue). */
  evalUsers: number;
  /** Ranker boosting rounds (early stopping usually ends sooner). */
  rankerRounds: number;
}

/** Sizes chosen so `demo` trains in about 1-2 minutes on two shared cores (two-tower runs at ~1,000 examples/s there). */
export const RECS_PRESETS: Readonly<Record<RecsPreset, RecsPresetSpec>> = Object.freeze({
  small: { world: { preset: "small" }, ...REC_TRAFFIC_PRESETS.small, twoTower: { epochs: 3, batchSize: 128 }, evalUsers: 500, rankerRounds: 200 },
  demo: { world: { preset: "demo" }, ...REC_TRAFFIC_PRESETS.demo, twoTower: { epochs: 2, batchSize: 128 }, evalUsers: 500, rankerRounds: 150 },
  benchmark: { world: { preset: "benchmark" }, ...REC_TRAFFIC_PRESETS.benchmark, twoTower: { epochs: 1, batchSize: 128 }, evalUsers: 200, rankerRounds: 100 },
});

export type RecsDataSource =
  | { kind: "synthetic"; preset: RecsPreset; world?: Partial<RecWorldInput>; sessionsPerUser?: number; seed?: number }
  | { kind: "movielens"; dir: string; seed?: number; seeds?: number[]; epochs?: number; twoTower?: boolean };

export interface TrainRecsOptions {
  source: RecsDataSource;
  registryDir: string;
  reportDir: string;
  /** Materialise features and click histories into this Redis (synthetic worlds only). */
  redisUrl?: string;
  featurePrefix?: string;
  historyPrefix?: string;
  twoTower?: Partial<TwoTowerConfig>;
  /** The index retrieval serves from (synthetic worlds; default HNSW with the library's parameters). MovieLens always builds HNSW. */
  index?: IndexSpec;
  /** Candidates retrieval hands the ranker, offline as online. */
  candidates?: number;
  /**
   * Synthetic worlds: the two-tower model trains on the clicks before this day and the ranker's
   * training rows start there (default: recsTrainingWindows' share of the days before validation).
   */
  towerEndDay?: number;
  /** MovieLens: overrides of the two-stage settings (tests run it smaller). */
  twoStage?: Partial<TwoStageConfig>;
  /** Registry alias to publish under (default: `current` for synthetic worlds, `movielens` for MovieLens). */
  alias?: string;
  /** No progress bars (tests). */
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface PublishedVersions {
  retrieval: RegisteredModel;
  popularity: RegisteredModel;
  ranker: RegisteredModel | null;
}

export interface TrainRecsResult {
  version: string;
  published: PublishedVersions;
  reportPath: string;
  indexSweep: IndexSweep[];
  world?: { evaluation: WorldEvaluation; ranker: RankerTrainingReport };
  movielens?: { runs: SeedRun[]; summary: SeedSummary[] };
  seconds: number;
}

function sweepIndex(indexes: BuiltIndexes, queries: Float32Array[]): IndexSweep[] {
  return sweepIndexRecall(indexes, queries, [10, 100]);
}

function describeIndex(indexes: BuiltIndexes, items: number): string {
  const a = indexes.ann;
  const params = a.kind === "hnsw" ? `M=${a.params.M} efConstruction=${a.params.efConstruction} ef=${a.params.ef}` : `nlist=${a.params.nlist} nprobe=${a.params.nprobe}`;
  return `${a.kind.toUpperCase()} index: ${items} items, ${params}, ${indexes.buildSeconds.toFixed(1)} s`;
}

/** Decayed clicks near the end of the log: what is popular now, not what was popular a month ago. */
function trendingScores(numItems: number, items: Int32Array, days: Float64Array, endDay: number, windowDays = 14, halfLifeDays = 7): Float64Array {
  const scores = new Float64Array(numItems);
  for (let r = 0; r < items.length; r++) {
    const age = endDay - (days[r] as number);
    if (age <= windowDays) scores[items[r] as number]! += 0.5 ** (age / halfLifeDays);
  }
  return scores;
}

/**
 * The recommendation training run: data -> two-tower -> item embeddings -> HNSW or IVF index (stamped
 * with the model version) -> ranker -> offline comparison -> registry (retrieval, ranker-gbdt,
 * recs-popularity) -> report -> optionally Redis.
 */
export async function trainRecs(options: TrainRecsOptions): Promise<TrainRecsResult> {
  const t0 = performance.now();
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  fs.mkdirSync(options.reportDir, { recursive: true });
  const result = options.source.kind === "synthetic" ? await trainOnWorld(options, options.source, log) : await trainOnMovieLens(options, options.source, log);
  return { ...result, seconds: (performance.now() - t0) / 1000 };
}

/** The world and its logged sessions, from the preset and seed alone: training and materialisation agree on them. */
function simulateWorld(source: Extract<RecsDataSource, { kind: "synthetic" }>) {
  const spec = RECS_PRESETS[source.preset];
  const seed = source.seed ?? 1;
  const world = createRecWorld({ ...spec.world, ...source.world, seed });
  const sessionsPerUser = source.sessionsPerUser ?? spec.sessionsPerUser;
  const impressions = simulateInteractions(world, { seed: seed + 1, sessionsPerUser, slateSize: spec.slateSize });
  return { spec, seed, world, impressions, clicks: clicksOf(impressions), sessionsPerUser };
}

/**
 * Loads a synthetic world's features and click histories into Redis without training: the same
 * world (preset, size, seed) as a training run, for a fresh Redis next to existing artifacts.
 */
export async function materializeWorld(source: Extract<RecsDataSource, { kind: "synthetic" }>, redisUrl: string, options: { featurePrefix?: string; historyPrefix?: string; log?: (line: string) => void } = {}): Promise<void> {
  const { world, impressions, clicks } = simulateWorld(source);
  await materializeRecs({
    redisUrl,
    profiles: worldProfiles(world),
    catalogue: worldCatalogue(world),
    sessions: worldSessions(world, impressions),
    asOfMs: worldDayToMs(world.options.days) + 1,
    clicks,
    ...(options.featurePrefix !== undefined ? { featurePrefix: options.featurePrefix } : {}),
    ...(options.historyPrefix !== undefined ? { historyPrefix: options.historyPrefix } : {}),
    log: options.log ?? ((line: string) => process.stderr.write(line + "\n")),
  });
}

async function trainOnWorld(
  options: TrainRecsOptions,
  source: Extract<RecsDataSource, { kind: "synthetic" }>,
  log: (line: string) => void,
): Promise<Omit<TrainRecsResult, "seconds">> {
  const { spec, seed, world, impressions, clicks, sessionsPerUser } = simulateWorld(source);
  const cutoff = world.options.trainCutoffDay;
  // The tower is fitted before the ranker's window; everything before the cut-off is known at serving time.
  const { windows, tower, cutoffRows } = towerAndRankerWindows(world, clicks, options.towerEndDay);
  const towerEnd = windows.towerEndDay;
  const { data, histories, trainRows: towerRows } = tower;
  log(
    `world (${source.preset}, seed ${seed}): ${world.numUsers} users, ${world.numItems} items, ${impressions.sessions} sessions, ${impressions.length} impressions, ` +
      `${clicks.user.length} clicks (${towerRows} before day ${towerEnd} train the two-tower model; the ranker trains on days ${towerEnd}-${cutoff - windows.ranker.validDays}, validates to day ${cutoff}; days ${cutoff}-${world.options.days} are held out)`,
  );

  const version = newVersion();
  const trained = await trainTwoTower(data, { ...spec.twoTower, ...options.twoTower }, { quiet: options.quiet ?? false });
  log(`two-tower: ${trained.epochLoss.length} epochs, loss ${trained.epochLoss.map((l) => l.toFixed(3)).join(" -> ")}, ${trained.examplesPerSecond.toFixed(0)} examples/s`);
  const dim = trained.encoder.dim;
  const indexes = buildIndexes(trained.embeddings, dim, String, version, options.index, { quiet: options.quiet ?? false });
  log(describeIndex(indexes, world.numItems));

  // The user tower as of the cut-off, as serving sees it then: the clicks before the cut-off as input;
  // an own embedding only for users the tower was fitted on.
  const known = new Uint8Array(world.numUsers);
  for (let r = 0; r < towerRows; r++) known[clicks.user[r] as number] = 1;
  const historyAtCutoff = latestHistories(world.numUsers, clicks, cutoffRows);
  const H = historyAtCutoff.length / world.numUsers;
  const featuresAtCutoffForTower = { userFeatures: worldUserFeatures(world, clicks, cutoffRows) };
  const queryAtCutoff = (u: number) => userQuery(featuresAtCutoffForTower, u, known[u] === 1, historyAtCutoff.subarray(u * H, (u + 1) * H));
  const userVectors = new Float32Array(world.numUsers * dim);
  const encoded = new Uint8Array(world.numUsers);
  const userVector = (u: number): Float32Array => {
    const v = userVectors.subarray(u * dim, (u + 1) * dim);
    if (!encoded[u]) {
      trained.encoder.encode(queryAtCutoff(u), v);
      encoded[u] = 1;
    }
    return v;
  };

  const rng = new Rng(seed + 7);
  // Exact search over a million items takes tens of ms per query: fewer queries there.
  const sampleUsers = rng.sampleIndices(world.numUsers, Math.min(world.numUsers, world.numItems > 200_000 ? 300 : 1000));
  const indexSweep = sweepIndex(indexes, sampleUsers.map((u) => userVector(u).slice()));

  const items = trained.embeddings;
  // The ranker's train and validation sessions lie after the tower's window and before the cut-off:
  // each is scored by a tower that never saw its clicks, with the user as they stood at the session
  // (clicks before it), never with the cut-off state that holds the session's own clicks. Sessions
  // after the cut-off (the ranker's test window) meet the cut-off state, as serving does.
  const cutoffMs = worldDayToMs(cutoff);
  const pointInTime = new PointInTimeQueries(world.numUsers, clicks, histories, cutoffRows);
  const nCat = data.userFeatures.categoricalCardinalities.length;
  const sessionVector = new Float32Array(dim);
  // The scorer is called once per slate item in slate order: encode once per session.
  let sessionUser = -1;
  let sessionAtMs = Number.NaN;
  const vectorAt = (u: number, atMs: number): Float32Array => {
    if (atMs >= cutoffMs) return userVector(u);
    if (u !== sessionUser || atMs !== sessionAtMs) {
      const beforeRow = clicksBefore(clicks, recWorldMsToDay(atMs));
      trained.encoder.encode(pointInTime.query(u, beforeRow, known[u] === 1, data.userFeatures.categorical.subarray(u * nCat, (u + 1) * nCat)), sessionVector);
      sessionUser = u;
      sessionAtMs = atMs;
    }
    return sessionVector;
  };
  const ranker = await trainRanker({
    world,
    impressions,
    scorer: (u, i, atMs) => {
      const v = vectorAt(u, atMs);
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += (v[j] as number) * (items[i * dim + j] as number);
      return dot;
    },
    scorerName: `two-tower ${version} (fitted on days 0-${towerEnd}; user tower input as of each session: clicks before it; as of day ${cutoff} from then on)`,
    retrievalVersions: [version],
    split: windows.ranker,
    lambdarank: { numRounds: spec.rankerRounds },
    pointwise: { numRounds: spec.rankerRounds },
    registryDir: options.registryDir,
    log,
  });

  const sessions = worldSessions(world, impressions);
  const featuresAtCutoff = recsFeaturesAsOf(sessions, worldDayToMs(cutoff), { catalogue: worldCatalogue(world) });
  const popularCounts = new Float64Array(world.numItems);
  for (let r = 0; r < cutoffRows; r++) popularCounts[clicks.item[r] as number]! += 1;
  const popularOrder = Int32Array.from({ length: world.numItems }, (_, i) => i).sort((a, b) => (popularCounts[b] as number) - (popularCounts[a] as number) || a - b);
  let progress: Progress | null = null;
  const evaluation = evaluateWorld({
    world,
    clicks,
    trainRows: cutoffRows,
    cutoffDay: cutoff,
    query: queryAtCutoff,
    encoder: trained.encoder,
    index: (q, k) => searchIndex(indexes, q, k),
    indexName: indexes.ann.kind.toUpperCase(),
    exact: (q, k) => indexes.exact.search(q, k),
    popularOrder,
    ranker: ranker.model,
    featuresAtCutoff,
    ...(options.candidates ? { candidates: options.candidates } : {}),
    maxUsers: spec.evalUsers,
    seed,
    onUser: (done, total) => {
      if (options.quiet) return;
      progress ??= new Progress({ total, label: "offline comparison", unit: "users" });
      progress.update(done);
    },
  });
  (progress as Progress | null)?.done();

  const registry = new ModelRegistry(options.registryDir);
  const alias = options.alias ?? "current";
  const day = (d: number) => new Date(worldDayToMs(d)).toISOString().slice(0, 10);
  const dataWindow = { dataset: "synthetic recommendation world", preset: source.preset, seed, users: world.numUsers, items: world.numItems, sessionsPerUser, train: [day(0), day(towerEnd)], rankerTrain: [day(towerEnd), day(cutoff)], servedAsOf: day(world.options.days), originMs: REC_WORLD_ORIGIN_MS };
  const recallAt = (k: number) => recallAtDefault(indexSweep, indexes.ann, k);
  const retrieval = await publishRetrievalModel(registry, {
    version,
    saveTower: (dir) => trained.model.save(dir, { version }),
    index: indexes.ann,
    center: indexes.center,
    itemCategories: Int32Array.from(world.items.category),
    // Serving starts where the log ends: every click so far is in the histories and counts.
    users: worldUserTable(world, clicks, clicks.user.length, towerRows),
    dataWindow,
    metrics: {
      epochLoss: trained.epochLoss,
      index: { kind: indexes.ann.kind, [effortName(indexes.ann)]: indexes.ann.kind === "hnsw" ? indexes.ann.params.ef : indexes.ann.params.nprobe },
      [`indexRecall@10`]: recallAt(10),
      [`indexRecall@100`]: recallAt(100),
      [`ndcg@${evaluation.k}`]: Object.fromEntries(evaluation.methods.map((m) => [m.method, { trueRelevance: m.ndcgTrue, clicks: m.ndcgClicks }])),
    },
    alias,
  });
  const trending = trendingScores(world.numItems, clicks.item, clicks.day, world.options.days);
  const lists = buildPopularityLists({ scores: trending, categories: world.items.category, itemId: String, description: "clicks in the last 14 days of the log, half-life 7 days" });
  const popularity = await publishPopularity(registry, lists, { version, dataWindow, alias });
  log(`published retrieval@${version}, recs-popularity@${version}, ranker-gbdt@${ranker.registered?.manifest.version ?? "-"} into ${options.registryDir}`);

  const reportPath = writeWorldReport(options.reportDir, { version, source, world: { users: world.numUsers, items: world.numItems, sessions: impressions.sessions, impressions: impressions.length, clicks: clicks.user.length, trainClicks: towerRows, towerEndDay: towerEnd, cutoff, days: world.options.days }, trained, indexes, indexSweep, evaluation, ranker: ranker.report, lists });
  log(`report: ${reportPath}`);

  if (options.redisUrl) {
    await materializeRecs({
      redisUrl: options.redisUrl,
      profiles: worldProfiles(world),
      catalogue: worldCatalogue(world),
      sessions,
      asOfMs: worldDayToMs(world.options.days) + 1,
      clicks,
      ...(options.featurePrefix !== undefined ? { featurePrefix: options.featurePrefix } : {}),
      ...(options.historyPrefix !== undefined ? { historyPrefix: options.historyPrefix } : {}),
      log,
    });
  }
  return { version, published: { retrieval, popularity, ranker: ranker.registered }, reportPath, indexSweep, world: { evaluation, ranker: ranker.report } };
}

function writeWorldReport(
  dir: string,
  input: Parameters<typeof renderWorldReport>[0] & { lists: PopularityLists },
): string {
  const report = renderWorldReport(input);
  const reportPath = path.join(dir, "recs-report.md");
  fs.writeFileSync(reportPath, report.markdown);
  for (const [name, svg] of Object.entries(report.charts)) fs.writeFileSync(path.join(dir, name), svg);
  return reportPath;
}

async function trainOnMovieLens(
  options: TrainRecsOptions,
  source: Extract<RecsDataSource, { kind: "movielens" }>,
  log: (line: string) => void,
): Promise<Omit<TrainRecsResult, "seconds">> {
  const dataset = await loadMovieLens(source.dir);
  const seeds = source.seeds ?? [source.seed ?? 42];
  const config: TwoStageConfig = { ...MOVIELENS_TWO_STAGE, ...options.twoStage, ...(options.candidates ? { candidates: options.candidates } : {}) };
  log(`MovieLens ${source.dir} (${dataset.format}): ${dataset.numUsers} users, ${dataset.numItems} items, ${dataset.numRatings} ratings; seeds ${seeds.join(", ")}`);
  const version = newVersion();
  const runs: SeedRun[] = [];
  for (const [k, seed] of seeds.entries()) {
    const twoTower = source.twoTower === false ? false : { ...(source.epochs ? { epochs: source.epochs } : {}), ...options.twoTower };
    runs.push(await runSeed(dataset, seed, { config, version: k === 0 ? version : `${version}-seed${seed}`, twoTower, quiet: options.quiet ?? false, log }));
  }
  const summary = summarizeSeeds(runs);
  const first = runs[0] as SeedRun;
  const table = movieLensUserTable(first.data);
  const indexSweep = sweepIndex(first.indexes, first.userQueries);

  // The first seed's models are the ones served; the others only measure the spread.
  const registry = new ModelRegistry(options.registryDir);
  const alias = options.alias ?? "movielens";
  const itemIds = Array.from(dataset.itemIds, String);
  const dataWindow = { dataset: `MovieLens (${dataset.format})`, split: first.split.protocol, seed: first.seed, users: dataset.numUsers, items: dataset.numItems, trainRatings: first.split.train.nnz };
  const ndcg = Object.fromEntries(first.results.map((r) => [r.recommender, r.ndcg]));
  const retrieval = await publishRetrievalModel(registry, {
    version,
    saveTower: (dir) =>
      saveLinearTowers(dir, first.signals.towers, {
        schema: {
          numUsers: dataset.numUsers,
          userNumericDim: table.numericNames.length,
          userCategoricalCardinalities: table.cardinalities,
          numItemCategories: first.data.itemFeatures.numCategories,
          numTags: first.data.itemFeatures.numTags,
          historyLength: table.historyLength,
        },
        userHistory: (u) => first.split.train.itemsOf(u),
        recentHistory: table.history,
        version,
      }),
    index: first.indexes.ann,
    center: first.indexes.center,
    itemCategories: first.data.itemFeatures.category,
    users: table,
    userIds: Array.from(dataset.userIds, String),
    itemIds,
    dataWindow,
    metrics: { model: `low-rank EASE, dim ${first.signals.towers.dim}, lambda ${config.retrievalLambda}`, ndcg10: ndcg, recallAt200: Object.fromEntries(first.recallAt200.map((r) => [r.model, r.recall])) },
    alias,
  });
  const ranker = await publishRankerModel(registry, {
    gbdt: first.ranker.model,
    featureSet: TWO_STAGE_FEATURE_SET,
    version,
    dataWindow,
    metrics: { ndcg10: ndcg[MODEL_NAMES.twoStage], earlyStoppingNdcg10: first.ranker.validNdcg, trees: first.ranker.bestIteration + 1 },
    extra: { objective: "lambdarank", k: 10, retrievalScorer: `retrieval@${version}`, candidates: config.candidates, config },
    retrievalVersions: [version],
    alias,
  });
  const lists = buildPopularityLists({ scores: first.split.train.itemCounts(), categories: first.data.itemFeatures.category, itemId: (i) => itemIds[i] as string, description: "training ratings per movie" });
  const popularity = await publishPopularity(registry, lists, { version, dataWindow, alias });
  log(`published retrieval@${version}, ranker-gbdt@${version} and recs-popularity@${version} under alias "${alias}"`);

  const report = renderMovieLensReport({ version, dir: source.dir, dataset: { format: dataset.format, users: dataset.numUsers, items: dataset.numItems, ratings: dataset.numRatings }, runs, summary, config, indexSweep });
  const reportPath = path.join(options.reportDir, "recs-movielens-report.md");
  fs.writeFileSync(reportPath, report.markdown);
  for (const [name, svg] of Object.entries(report.charts)) fs.writeFileSync(path.join(options.reportDir, name), svg);
  log(`report: ${reportPath}`);
  return { version, published: { retrieval, popularity, ranker }, reportPath, indexSweep, movielens: { runs, summary } };
}
