import { barChart, lineChart } from "@mlsd/plot";
import { formatResultsTable } from "@mlsd/rec-eval";
import type { PopularityLists } from "@mlsd/model-formats/popularity";
import type { WorldEvaluation } from "./evaluate-world";
import { MODEL_NAMES, type SeedRun, type SeedSummary } from "./movielens-eval";
import type { RankerTrainingReport } from "./ranker";
import type { IndexKind } from "@mlsd/ann";
import { effortName, type BuiltIndexes, type IndexRecall, type TrainedTwoTower } from "./retrieval-model";
import type { TwoStageConfig } from "./two-stage";
import type { HistorySetting } from "./movielens";

export type IndexSweep = IndexRecall;

export interface RenderedReport {
  markdown: string;
  /** File name -> SVG document. */
  charts: Record<string, string>;
}

const f4 = (x: number) => x.toFixed(4);

function historiesLine(h: HistorySetting): string {
  return h.kind === "sampled"
    ? `Each training rating's user-tower history: up to ${h.length} of the user's other training ratings, drawn at random (a random per-user split holds out random ratings, not the next ones in time); scoring pools the user's latest ${h.length}.`
    : `Each training rating's user-tower history: the user's ${h.length} ratings just before it in time; scoring pools the user's latest ${h.length}.`;
}

function twoTowerLines(trained: TrainedTwoTower, examples: number): string[] {
  const c = trained.model.config;
  return [
    `Two-tower: id dim ${c.idDim}, hidden [${c.hiddenDims.join(", ")}], output ${c.outputDim}, temperature ${c.temperature}, batch ${c.batchSize}, ` +
      `${trained.epochLoss.length} epochs over ${examples} interactions; in-batch softmax loss ${trained.epochLoss.map((l) => l.toFixed(3)).join(" -> ")}; ` +
      `${trained.examplesPerSecond.toFixed(0)} examples/s (${trained.seconds.toFixed(1)} s).` +
      (trained.validation.length
        ? ` Early stopping on a validation split: NDCG@10 ${trained.validation.map((v) => v.toFixed(4)).join(" -> ")}, weights of epoch ${trained.keptEpoch} kept.`
        : ""),
  ];
}

const EFFORT_AXIS: Readonly<Record<IndexKind, string>> = { hnsw: "ef (HNSW candidate list)", ivf: "nprobe (IVF lists scanned)" };

function sweepTable(sweep: readonly IndexSweep[], kind: IndexKind): string[] {
  const effort = kind === "hnsw" ? "ef" : "nprobe";
  return [
    `| k | ${effort} | recall@k vs exact | ${kind.toUpperCase()} median us | exact median us |`,
    "|---:|---:|---:|---:|---:|",
    ...sweep.map((s) => `| ${s.k} | ${s.effort} | ${f4(s.recall)} | ${s.annMedianUs.toFixed(0)} | ${s.exactMedianUs.toFixed(0)} |`),
  ];
}

function sweepChart(sweep: readonly IndexSweep[], title: string, kind: IndexKind): string {
  const ks = [...new Set(sweep.map((s) => s.k))];
  return lineChart({
    title,
    xLabel: EFFORT_AXIS[kind],
    yLabel: "recall@k against exact search",
    xScale: "log",
    series: ks.map((k) => ({ name: `recall@${k}`, points: sweep.filter((s) => s.k === k).map((s) => [s.effort, s.recall] as const), markers: true })),
    hLines: [{ y: 0.95, label: "budget 0.95" }],
  });
}

export interface WorldReportInput {
  version: string;
  source: { preset: string; seed?: number };
  world: { users: number; items: number; sessions: number; impressions: number; clicks: number; trainClicks: number; towerEndDay: number; cutoff: number; days: number };
  trained: TrainedTwoTower;
  indexes: BuiltIndexes;
  indexSweep: readonly IndexSweep[];
  evaluation: WorldEvaluation;
  ranker: RankerTrainingReport;
  lists: PopularityLists;
}

export function renderWorldReport(input: WorldReportInput): RenderedReport {
  const { evaluation: e, world: w, ranker } = input;
  const k = e.k;
  const ann = input.indexes.ann;
  const kindName = ann.kind.toUpperCase();
  const indexLine =
    ann.kind === "hnsw"
      ? `HNSW (hnswlib, inner product with the norm lift): M=${ann.params.M}, efConstruction=${ann.params.efConstruction}, default ef=${ann.params.ef}`
      : `IVF (k-means lists, exact scan of the probed lists): nlist=${ann.params.nlist}, default nprobe=${ann.params.nprobe}`;
  const markdown = [
    `# Recommendations on the synthetic world: retrieval, ranking, popularity`,
    "",
    `Model version ${input.version}; world preset ${input.source.preset}, seed ${input.source.seed ?? 1}: ${w.users} users, ${w.items} items, ` +
      `${w.sessions} sessions, ${w.impressions} impressions shown by the popularity logging policy, ${w.clicks} clicks. ` +
      `Clicks before day ${w.towerEndDay} (${w.trainClicks}) train the two-tower model, the ranker trains on the sessions of days ${w.towerEndDay}-${ranker.split.testStartDay - ranker.split.validDays} ` +
      `and validates on days ${ranker.split.testStartDay - ranker.split.validDays}-${w.cutoff}; days ${w.cutoff}-${w.days} are held out. Retrieval and the two-stage path serve users with every click before day ${w.cutoff} as their history.`,
    "",
    `## NDCG@${k}: retrieval alone vs two-stage vs popularity`,
    "",
    `${e.users} users with held-out clicks (${e.usersWithClicks} of them still have one after their training clicks are excluded), ` +
      `each ranked over the whole catalogue minus their training clicks.`,
    "",
    `| method | NDCG@${k} vs true relevance | NDCG@${k} vs held-out clicks | recall@${k} of held-out clicks |`,
    "|---|---:|---:|---:|",
    ...e.methods.map((m) => `| ${m.description} | ${f4(m.ndcgTrue)} | ${f4(m.ndcgClicks)} | ${f4(m.recallClicks)} |`),
    "",
    `True relevance is the world's P(click | examined) for the user and item, a graded gain; the ideal list is the ${k} most ` +
      "relevant items of the catalogue, so it is free of the logging policy's bias. Held-out clicks are what an offline " +
      "evaluation on logs sees: they were shown by a popularity policy, which favours popularity in this column.",
    "",
    `Candidate recall: the top ${e.candidates.n} candidates contain ${(100 * e.candidates.index).toFixed(1)} % of the held-out clicked items ` +
      `through ${kindName} and ${(100 * e.candidates.exact).toFixed(1)} % through exact search: the ceiling of any ranker on top.`,
    "",
    "![NDCG by method](recs-ndcg.svg)",
    "",
    "## Retrieval model and index",
    "",
    ...twoTowerLines(input.trained, w.trainClicks),
    "",
    `${indexLine}, built in ` +
      `${input.indexes.buildSeconds.toFixed(1)} s over ${w.items} item embeddings; saved with model version ${input.version}. ` +
      `Recall against exact search on the user-tower vectors of ${input.indexSweep[0]?.queries ?? 0} users:`,
    "",
    ...sweepTable(input.indexSweep, ann.kind),
    "",
    `![index recall vs ${effortName(ann)}](recs-index-recall.svg)`,
    "",
    "## Ranker",
    "",
    `GBDT trained on the logged slates (${ranker.rows.train} rows) with the two-tower score as its first feature ` +
      `(${ranker.scorerName}); held-out days ${ranker.split.testStartDay}-${ranker.split.endDay}, slates as logged:`,
    "",
    `| ranking | NDCG@${ranker.k} vs true relevance | NDCG@${ranker.k} vs clicks |`,
    "|---|---:|---:|",
    ...ranker.methods.map((m) => `| ${m.description} | ${f4(m.ndcgTrue)} | ${f4(m.ndcgClicks)} |`),
    "",
    `Ranker version ${ranker.registered?.version ?? "(not published)"}; top features by gain: ${ranker.importance.slice(0, 5).map((f) => f.feature).join(", ")}.`,
    `The retrieval score of every training and validation row comes from the tower as served: fitted on the clicks before day ${w.towerEndDay}, ` +
      "before the ranker's first training session, so its weights never saw the clicks the ranker learns from; and fed the user's input " +
      "as of that session (the clicks before it), never a later state that holds the session's own clicks.",
    "",
    "## Popularity fallback",
    "",
    `${input.lists.description}: ${input.lists.overall.length} items overall, ${Object.keys(input.lists.byCategory).length} category lists. ` +
      `Top 10: ${input.lists.overall.slice(0, 10).map((i) => `${i.itemId} (cat ${i.category ?? "-"})`).join(", ")}.`,
    "",
  ].join("\n");
  const charts = {
    "recs-ndcg.svg": barChart({
      title: `NDCG@${k} on the held-out days`,
      xLabel: "method",
      yLabel: `NDCG@${k}`,
      categories: e.methods.map((m) => m.method),
      series: [
        { name: "vs true relevance", values: e.methods.map((m) => m.ndcgTrue) },
        { name: "vs held-out clicks", values: e.methods.map((m) => m.ndcgClicks) },
      ],
    }),
    "recs-index-recall.svg": sweepChart(input.indexSweep, `${kindName} recall vs exact, ${w.items} items`, ann.kind),
  };
  return { markdown, charts };
}

export interface MovieLensReportInput {
  version: string;
  dir: string;
  dataset: { format: string; users: number; items: number; ratings: number };
  runs: readonly SeedRun[];
  summary: readonly SeedSummary[];
  config: TwoStageConfig;
  indexSweep: readonly IndexSweep[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Every number here is computed by this run; nothing is copied from a README. */
export function renderMovieLensReport(input: MovieLensReportInput): RenderedReport {
  const { runs, summary, config } = input;
  const first = runs[0] as SeedRun;
  const seeds = runs.map((r) => r.seed);
  const metrics = ["NDCG@10", "P@10", "R@10"];
  const models = [...new Set(summary.filter((s) => s.metric === "NDCG@10").map((s) => s.model))];
  const cell = (model: string, metric: string) => {
    const s = summary.find((x) => x.model === model && x.metric === metric);
    if (!s) return "-";
    return runs.length > 1 ? `${s.mean.toFixed(4)} ± ${s.sd.toFixed(4)} (${s.min.toFixed(4)}-${s.max.toFixed(4)})` : s.mean.toFixed(4);
  };
  const recallModels = [...new Set(summary.filter((s) => s.metric === "R@200").map((s) => s.model))];
  const twoStage = summary.find((s) => s.model === MODEL_NAMES.twoStage && s.metric === "NDCG@10");
  const ease = summary.find((s) => s.model === MODEL_NAMES.ease && s.metric === "NDCG@10");
  const retrievalRecall = summary.find((s) => s.model === MODEL_NAMES.retrieval && s.metric === "R@200");
  const easeRecall = summary.find((s) => s.model === MODEL_NAMES.ease && s.metric === "R@200");
  const verdicts: string[] = [];
  if (twoStage && ease) {
    verdicts.push(
      `- Two-stage vs EASE, NDCG@10: ${twoStage.mean.toFixed(4)} vs ${ease.mean.toFixed(4)} (${twoStage.mean >= ease.mean ? "+" : ""}${(twoStage.mean - ease.mean).toFixed(4)}); ` +
        `two-stage above EASE on ${runs.filter((_, k) => (twoStage.values[k] as number) > (ease.values[k] as number)).length} of ${runs.length} seeds.`,
    );
  }
  if (retrievalRecall && easeRecall) {
    verdicts.push(`- Retrieval stage alone vs EASE, recall@200: ${retrievalRecall.mean.toFixed(4)} vs ${easeRecall.mean.toFixed(4)} (${(retrievalRecall.mean - easeRecall.mean).toFixed(4)}).`);
  }
  const markdown = [
    "# Recommendations on MovieLens: the two-stage pipeline against the baselines",
    "",
    `Model version ${input.version}; ${input.dir} (${input.dataset.format}): ${input.dataset.users} users, ${input.dataset.items} movies, ` +
      `${input.dataset.ratings} ratings, every rating a positive. Protocol: rec-eval's ${first.split.protocol} split per seed ` +
      `(${first.split.train.nnz} train / ${first.split.test.nnz} test ratings for seed ${first.seed}), all movies a user has not rated in training ranked, k = 10. ` +
      `Seeds: ${seeds.join(", ")}. Every model is fitted on the training half of its seed only.`,
    "",
    runs.length > 1 ? `## Over ${runs.length} seeds: mean ± standard deviation (min-max)` : "## Results",
    "",
    `| model | ${metrics.join(" | ")} |`,
    `|---|${metrics.map(() => "---:").join("|")}|`,
    ...models.map((m) => `| ${m} | ${metrics.map((x) => cell(m, x)).join(" | ")} |`),
    "",
    `Recall@200 (the retrieval stage's job: what the ranker can reach):`,
    "",
    "| model | recall@200 |",
    "|---|---:|",
    ...recallModels.map((m) => `| ${m} | ${cell(m, "R@200")} |`),
    "",
    ...verdicts,
    "",
    "## The pipeline",
    "",
    `Retrieval: low-rank EASE, the ${first.signals.towers.dim} leading eigen-directions of X^T X (lambda ${config.retrievalLambda}), ` +
      "served as a two-tower model with linear towers (user vector = sum of the history items' vectors) over an HNSW index. " +
      `Ranker: ${(config.bags ?? 1) > 1 ? `a bag of ${config.bags} ${config.ranker.objective} GBDTs averaged into one model` : `${config.ranker.objective} GBDT`} (depth ${config.ranker.maxDepth ?? 6}, ${config.features.length} features) on the top ${config.candidates} candidates with ${first.ranker.topFeatures.length ? "features led by " + first.ranker.topFeatures.join(", ") : "its features"}; ` +
      `trained on ${config.folds} folds of each seed's training ratings (signals fitted on ${config.folds - 1} folds, the held-out fold labels the candidates), ` +
      `early-stopped on a fifth of the users${(config.bags ?? 1) > 1 ? `; each member deals the folds by its own seed` : ""}.`,
    "",
    `| seed | ranker trees${(config.bags ?? 1) > 1 ? " (mean per member)" : ""} | early-stopping NDCG@10${(config.bags ?? 1) > 1 ? " (mean)" : ""} | fold candidate recall | two-tower epochs kept | seconds: two-tower / ranker / signals / evaluation |`,
    "|---:|---:|---:|---:|---:|---|",
    ...runs.map(
      (r) =>
        `| ${r.seed} | ${r.ranker.bestIteration + 1} | ${r.ranker.validNdcg?.toFixed(4) ?? "-"} | ${pct(r.ranker.candidateRecall)} | ${r.twoTower ? `${r.twoTower.keptEpoch} of ${r.twoTower.epochLoss.length}` : "-"} | ` +
        `${r.seconds.twoTower.toFixed(0)} / ${r.seconds.ranker.toFixed(0)} / ${r.seconds.signals.toFixed(0)} / ${r.seconds.evaluation.toFixed(0)} |`,
    ),
    "",
    ...(first.twoTower ? [...twoTowerLines(first.twoTower, first.split.train.nnz), ...(first.twoTowerHistories ? [historiesLine(first.twoTowerHistories)] : []), ""] : []),
    `HNSW's norm lift (the extra coordinate that turns inner-product search into a nearest-neighbour one; the ann package's default is 0.5) is chosen per seed by recall@${first.lift.k} against exact search on ${first.lift.queries} training users' vectors at the default ef, no rating read:`,
    "",
    `| seed | ${first.lift.tried.map((t) => `lift ${t.liftFraction}`).join(" | ")} | chosen |`,
    `|---:|${first.lift.tried.map(() => "---:").join("|")}|---:|`,
    ...runs.map((r) => `| ${r.seed} | ${r.lift.tried.map((t) => t.recall.toFixed(4)).join(" | ")} | ${r.lift.liftFraction} |`),
    "",
    `HNSW over the ${input.dataset.items} retrieval item vectors (seed ${first.seed}, lift ${first.lift.liftFraction}), recall against exact search on the users' vectors:`,
    "",
    ...sweepTable(input.indexSweep, "hnsw"),
    "",
    `## Seed ${first.seed} in full`,
    "",
    formatResultsTable(first.results, ["precision", "recall", "ndcg", "map", "coverage", "fitSeconds", "recommendSeconds"]),
    "",
    "![NDCG@10 on MovieLens](recs-movielens-ndcg.svg)",
    "",
  ].join("\n");
  const ndcgRows = summary.filter((s) => s.metric === "NDCG@10");
  const charts = {
    "recs-movielens-ndcg.svg": barChart({
      title: `MovieLens: NDCG@10, mean over ${runs.length} seed${runs.length > 1 ? "s" : ""}`,
      xLabel: "model",
      yLabel: "NDCG@10",
      categories: ndcgRows.map((s) => s.model),
      series: [
        { name: "mean", values: ndcgRows.map((s) => s.mean) },
        { name: "min", values: ndcgRows.map((s) => s.min) },
      ],
      width: 1000,
    }),
  };
  return { markdown, charts };
}
