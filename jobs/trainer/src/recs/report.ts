import { barChart, lineChart } from "@mlsd/plot";
import { formatResultsTable } from "@mlsd/rec-eval";
import type { PopularityLists } from "@mlsd/model-formats/popularity";
import type { WorldEvaluation } from "./evaluate-world";
import type { MovieLensComparison } from "./movielens";
import type { RankerTrainingReport } from "./ranker";
import type { BuiltIndexes, IndexRecall, TrainedTwoTower } from "./retrieval-model";

export type IndexSweep = IndexRecall;

export interface RenderedReport {
  markdown: string;
  /** File name -> SVG document. */
  charts: Record<string, string>;
}

const f4 = (x: number) => x.toFixed(4);

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

function sweepTable(sweep: readonly IndexSweep[]): string[] {
  return [
    "| k | ef | recall@k vs exact | HNSW median us | exact median us |",
    "|---:|---:|---:|---:|---:|",
    ...sweep.map((s) => `| ${s.k} | ${s.ef} | ${f4(s.recall)} | ${s.hnswMedianUs.toFixed(0)} | ${s.exactMedianUs.toFixed(0)} |`),
  ];
}

function sweepChart(sweep: readonly IndexSweep[], title: string): string {
  const ks = [...new Set(sweep.map((s) => s.k))];
  return lineChart({
    title,
    xLabel: "ef (HNSW candidate list)",
    yLabel: "recall@k against exact search",
    xScale: "log",
    series: ks.map((k) => ({ name: `recall@${k}`, points: sweep.filter((s) => s.k === k).map((s) => [s.ef, s.recall] as const), markers: true })),
    hLines: [{ y: 0.95, label: "budget 0.95" }],
  });
}

export interface WorldReportInput {
  version: string;
  source: { preset: string; seed?: number };
  world: { users: number; items: number; sessions: number; impressions: number; clicks: number; trainClicks: number; cutoff: number; days: number };
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
  const p = input.indexes.hnsw.params;
  const markdown = [
    `# Recommendations on the synthetic world: retrieval, ranking, popularity`,
    "",
    `Model version ${input.version}; world preset ${input.source.preset}, seed ${input.source.seed ?? 1}: ${w.users} users, ${w.items} items, ` +
      `${w.sessions} sessions, ${w.impressions} impressions shown by the popularity logging policy, ${w.clicks} clicks. ` +
      `Clicks before day ${w.cutoff} (${w.trainClicks}) train the two-tower model; days ${w.cutoff}-${w.days} are held out.`,
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
    `Candidate recall: the top ${e.candidates.n} candidates contain ${(100 * e.candidates.hnsw).toFixed(1)} % of the held-out clicked items ` +
      `through HNSW and ${(100 * e.candidates.exact).toFixed(1)} % through exact search: the ceiling of any ranker on top.`,
    "",
    "![NDCG by method](recs-ndcg.svg)",
    "",
    "## Retrieval model and index",
    "",
    ...twoTowerLines(input.trained, w.trainClicks),
    "",
    `HNSW (hnswlib, inner product with the norm lift): M=${p.M}, efConstruction=${p.efConstruction}, default ef=${p.ef}, built in ` +
      `${input.indexes.buildSeconds.toFixed(1)} s over ${w.items} item embeddings; saved with model version ${input.version}. ` +
      `Recall against exact search on the user-tower vectors of ${input.indexSweep[0]?.queries ?? 0} users:`,
    "",
    ...sweepTable(input.indexSweep),
    "",
    "![index recall vs ef](recs-index-recall.svg)",
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
    "The two-tower model was trained on the clicks of the sessions the ranker trains on, so the retrieval score is more " +
      "telling there than on new candidates; the held-out rows above are free of that.",
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
    "recs-index-recall.svg": sweepChart(input.indexSweep, `HNSW recall vs exact, ${w.items} items`),
  };
  return { markdown, charts };
}

export interface MovieLensReportInput {
  version: string;
  dir: string;
  dataset: { users: number; items: number; ratings: number };
  /** `fit` of the `train` ratings fit the model; the rest is its early-stopping validation. */
  split: { protocol: string; seed: number; train: number; fit: number; test: number };
  trained: TrainedTwoTower;
  indexSweep: readonly IndexSweep[];
  comparison: MovieLensComparison;
  candidates: number;
}

export function renderMovieLensReport(input: MovieLensReportInput): RenderedReport {
  const results = input.comparison.results;
  const markdown = [
    "# Recommendations on MovieLens: two-tower retrieval vs rec-eval's baselines",
    "",
    `Model version ${input.version}; ${input.dir}: ${input.dataset.users} users, ${input.dataset.items} movies, ${input.dataset.ratings} ratings, ` +
      `every rating a positive. Protocol: rec-eval's ${input.split.protocol} split (seed ${input.split.seed}; ${input.split.train} train, ` +
      `${input.split.test} test ratings), all movies a user has not rated in training ranked, k = 10.`,
    "",
    formatResultsTable(results, ["precision", "recall", "ndcg", "map", "coverage", "fitSeconds", "recommendSeconds"]),
    "",
    "MostPop and EASE are rec-eval's own baselines, run here in the same process on the same split; its README lists, for " +
      "seed 42, MostPop NDCG@10 0.2515 and EASE(lambda=500) 0.4855. The two-tower model's fit time is not in its row (it " +
      `was trained before the evaluation, below). The two-stage row re-ranks the HNSW top-${input.candidates} with EASE: ` +
      "its distance to the EASE row is what the candidate stage costs. There is no GBDT ranker for MovieLens: it learns from " +
      "logged impressions with positions, which MovieLens does not have.",
    "",
    ...twoTowerLines(input.trained, input.split.fit),
    "",
    ...sweepTable(input.indexSweep),
    "",
    "![NDCG@10 on MovieLens](recs-movielens-ndcg.svg)",
    "",
  ].join("\n");
  const charts = {
    "recs-movielens-ndcg.svg": barChart({
      title: "MovieLens: NDCG@10 and recall@10",
      xLabel: "model",
      yLabel: "metric@10",
      categories: results.map((r) => r.recommender),
      series: [
        { name: "NDCG@10", values: results.map((r) => r.ndcg) },
        { name: "recall@10", values: results.map((r) => r.recall) },
      ],
      width: 900,
    }),
  };
  return { markdown, charts };
}
