import { HnswIndex } from "@mlsd/ann";
import { assembleRankerRows, RANKER_FEATURE_COUNT, rankerContext } from "@mlsd/feature-store";
import { Predictor } from "@mlsd/gbdt";
import { lineChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts, phraseRatio } from "../harness/phrases";
import { meanInterval, type Interval } from "../harness/stats";
import { cell, fmt, fmtInterval } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { cpuMicrosPerCall } from "../recs/cpu";
import { dot, rankerWorld, releasedItems, sampleUsers, TrueNdcg, type RankerWorldSize } from "../recs/ranker-world";
import { microsPerCall } from "../harness/timing";
import { rankMovieLensThreeWays, type MovieLensArm, type MovieLensRanking, type MovieLensRankingOptions } from "../recs/movielens-two-stage";
import { TWO_STAGE_FEATURES } from "@mlsd/trainer/src/recs/two-stage";

interface Params extends RankerWorldSize {
  requests: number;
  /** ANN candidates handed to the ranker. */
  candidates: number[];
  /** The candidate count the claim is judged at. */
  judgedCandidates: number;
  k: number;
  /** The real-data arm: the project's MovieLens pipeline, ranked three ways. */
  movielens: MovieLensRankingOptions["data"];
  /** Retrieval top-N on MovieLens; the first is the pipeline's own and is judged. */
  movielensCandidates: number[];
  movielensBags: number;
  movielensRequests: number;
}

interface Arm {
  name: string;
  /** Items the ranker scored per request (the whole catalogue for the one-stage arm). */
  ranked: number;
  ndcg: number;
  /** Share of the true top-k that made it into the candidates (1 for the whole catalogue). */
  candidateRecall: number;
  wallMicros: number;
  cpuMicros: number;
}

interface Detail {
  catalogue: number;
  arms: Arm[];
  rankerTrees: number;
  movielens: MovieLensRanking;
}

/** The real-data arm in words, by the sign of the measured NDCG difference (every unseen movie minus top-N). */
function movieLensSentence(cpuRatio: number, loss: Interval, n: number, items: number): string {
  const quality = loss.mean < 0 ? `the two stages ranked better (NDCG@10 ${fmt(-loss.mean, 4)} higher)` : `ranking every movie gained ${fmt(loss.mean, 4)} NDCG@10`;
  return `On MovieLens (${items.toLocaleString("en-US")} movies) the project's own pipeline, HNSW top-${n} then its GBDT bag, used ${phraseRatio(cpuRatio)} less CPU per request than the same ranker over every unseen movie, and ${quality} (difference ${fmtInterval(loss, 4)}).`;
}

/** The quality side in words, by the sign of the measured difference (whole catalogue minus two-stage). */
function qualitySentence(loss: number, n: number): string {
  if (loss < 0) return `the two stages ranked better, not worse: NDCG@10 against true relevance was ${fmt(-loss, 3)} higher than ranking everything, because a ranker trained on logged slates has never seen most of the catalogue's tail and mis-ranks it when asked to score all of it`;
  return `ranking everything gained ${fmt(loss, 3)} NDCG@10 against true relevance over ANN top-${n} then rank`;
}

export default defineClaim<Params, Detail>({
  id: "18",
  aliases: ["43", "49"],
  slug: "two-stage",
  title: "Two-stage retrieval saves compute at little quality cost",
  claim:
    "Ranking every item in the catalogue with the expensive model is too slow; a cheap ANN stage that hands the ranker a few hundred candidates cuts the compute per request by an order of magnitude while losing little ranking quality.",
  question: "Why retrieval then ranking, and what does the first stage cost you? (grill Q18, Q43, Q49)",
  setup: [
    "One recs world per seed (@mlsd/synth), its logged sessions (popularity policy with exploration, position-biased clicks), and the trainer's ranker: `trainRanker` from jobs/trainer, the LambdaRank GBDT on the feature store's ranker features, trained on the logged slates before the cut-off with early stopping on validation NDCG. Retrieval embeddings are the world's taste vectors plus noise (a stand-in for the two-tower model); their dot product is the ranker's retrieval-score feature, as in serving.",
    "",
    "Requests: sampled users at the training cut-off, with the online feature store as it stood then. Each request runs the serving path: fetch the user's and the items' feature states, assemble the ranker rows, score them with the GBDT, keep the top k.",
    "",
    "- **One stage**: the ranker scores every released item (retrieval score = the dot product with every item).",
    "- **Two stage**: `HnswIndex` (package defaults) returns the top N by inner product, the ranker scores those N.",
    "",
    "Quality is NDCG@k against the world's true relevance (P(click | examined)), the ideal list being the k most relevant items of the whole catalogue. Cost is the median wall microseconds per request and CPU microseconds per request (process CPU time over one pass), all arms timed in the same process one after another, single thread.",
    "",
    "**On real data, the project's own pipeline** (MovieLens 100K, read from `MOVIELENS_100K_DIR` or `../shared/datasets/ml-100k`; the quick size uses the trainer's miniature MovieLens folder): per seed, the stratified 75/25 split with seed 41 + the claim's seed (42, 43, 44, the trainer README's) and the ranker trained exactly as `npm run train:recs -- --dataset movielens` trains it (low-rank EASE retrieval, the bag of LambdaRank GBDTs over the retrieval's top 50 with the " + TWO_STAGE_FEATURES.length + " candidate features (iALS's score and rank among them), `MOVIELENS_TWO_STAGE`). The retrieval vectors are indexed by `HnswIndex` as that command indexes them (the norm lift chosen by agreement with exact search). It then ranks three ways: HNSW retrieval alone (top 10 by inner product); HNSW's top N then the ranker, as served; the ranker over every movie the user has not rated (with exact retrieval scores, one of its features). NDCG@10 is against the held-out ratings, over every test user; CPU per request is the whole request (the search or the exact scores, the neighbour models, the candidate rows, the trees) over the timed users.",
  ].join("\n"),
  sizes: {
    default: { users: 2000, items: 20_000, sessionsPerUser: 8, embeddingNoise: 0.5, rankerRounds: 300, requests: 100, candidates: [50, 100, 200, 500, 1000], judgedCandidates: 200, k: 10, movielens: "ml-100k", movielensCandidates: [50, 200], movielensBags: 5, movielensRequests: 200 },
    quick: { users: 400, items: 2000, sessionsPerUser: 5, embeddingNoise: 0.5, rankerRounds: 20, requests: 15, candidates: [50, 200], judgedCandidates: 200, k: 10, movielens: "tiny", movielensCandidates: [20], movielensBags: 1, movielensRequests: 10 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [
    { id: "compute-saved", metric: "cpuRatio", description: "CPU per request of ranking the whole catalogue divided by ANN top-200 then rank", rule: atLeast(10), digits: 1 },
    { id: "little-loss", metric: "ndcgLoss", description: "NDCG@10 of ranking the whole catalogue minus that of ANN top-200 then rank", rule: atMost(0.02), digits: 4 },
    { id: "compute-saved-movielens", metric: "movielensCpuRatio", description: "MovieLens, the project's pipeline: CPU per request of ranking every unseen movie divided by HNSW top-N (the pipeline's 50) then rank", rule: atLeast(10), digits: 1 },
    { id: "little-loss-movielens", metric: "movielensNdcgLoss", description: "MovieLens, the project's pipeline: NDCG@10 (held-out ratings) of ranking every unseen movie minus that of HNSW top-N (the pipeline's 50) then rank", rule: atMost(0.02), digits: 4 },
  ],
  async run(p, ctx) {
    const rw = await rankerWorld(ctx.seed, p, ctx.log);
    const { world, embeddings: emb, features } = rw;
    const cutoffDay = world.options.trainCutoffDay;
    const catalogue = releasedItems(world, cutoffDay);
    const users = sampleUsers(world, cutoffDay, p.requests, ctx.seed + 101);
    const predictor = new Predictor(rw.ranker.model);
    const itemVectors = new Float32Array(catalogue.length * emb.dim);
    catalogue.forEach((item, r) => itemVectors.set(emb.items.subarray(item * emb.dim, (item + 1) * emb.dim), r * emb.dim));
    ctx.log(`HNSW over ${catalogue.length} released items`);
    const hnsw = HnswIndex.build(itemVectors, catalogue, { dim: emb.dim, modelVersion: "lab" });
    const truth = new TrueNdcg(world, catalogue, p.k);

    /** The serving path after retrieval: features, rows, GBDT scores, top k. */
    const rank = (user: number, items: readonly number[], scores: ArrayLike<number>): number[] => {
      const state = features.userSync(String(user));
      const itemStates = items.map((i) => features.itemSync(String(i)));
      const rows = assembleRankerRows(state, itemStates, scores, rankerContext({ timeMs: rw.cutoffMs, device: world.users.device[user] as number }), features.config);
      const s = predictor.predictBatchRaw({ data: rows, numRows: items.length, numColumns: RANKER_FEATURE_COUNT });
      const order = Array.from({ length: items.length }, (_, j) => j).sort((a, b) => (s[b] as number) - (s[a] as number));
      return order.slice(0, p.k).map((j) => items[j] as number);
    };
    const oneStage = (user: number) => {
      const scores = Float64Array.from(catalogue, (item) => dot(emb.users, user, emb.items, item, emb.dim));
      return { candidates: catalogue, top: rank(user, catalogue, scores) };
    };
    const twoStage = (n: number) => (user: number) => {
      const hit = hnsw.search(emb.users.subarray(user * emb.dim, (user + 1) * emb.dim), n);
      return { candidates: hit.ids, top: rank(user, hit.ids, hit.scores) };
    };
    const arms: Arm[] = [];
    const measure = (name: string, ranked: number, serve: (user: number) => { candidates: readonly number[]; top: number[] }) => {
      ctx.log(`${name}`);
      let ndcg = 0;
      let recall = 0;
      for (const u of users) {
        const out = serve(u);
        ndcg += truth.of(u, out.top);
        const ideal = new Set(truth.idealItems(u));
        let found = 0;
        for (const c of out.candidates) if (ideal.has(c)) found++;
        recall += found / ideal.size;
      }
      const call = (i: number) => serve(users[i % users.length] as number).top.length;
      arms.push({ name, ranked, ndcg: ndcg / users.length, candidateRecall: recall / users.length, wallMicros: microsPerCall(call, users.length, 3), cpuMicros: cpuMicrosPerCall(call, users.length) });
    };
    measure("whole catalogue", catalogue.length, oneStage);
    for (const n of p.candidates) measure(`ANN top ${n}`, n, twoStage(n));
    const full = arms[0] as Arm;
    const judged = arms.find((a) => a.ranked === p.judgedCandidates && a !== full) ?? (arms[arms.length - 1] as Arm);
    const movielens = await rankMovieLensThreeWays({ data: p.movielens, candidates: p.movielensCandidates, bags: p.movielensBags, requests: p.movielensRequests, k: p.k }, ctx.seed, ctx.log);
    const mlWhole = movielens.arms[movielens.arms.length - 1] as MovieLensArm;
    const mlJudged = movielens.arms[1] as MovieLensArm;
    return {
      metrics: {
        cpuRatio: full.cpuMicros / judged.cpuMicros,
        wallRatio: full.wallMicros / judged.wallMicros,
        ndcgLoss: full.ndcg - judged.ndcg,
        movielensCpuRatio: mlWhole.cpuMicros / mlJudged.cpuMicros,
        movielensNdcgLoss: mlWhole.ndcg - mlJudged.ndcg,
      },
      detail: { catalogue: catalogue.length, arms, rankerTrees: rw.ranker.model.trees.length, movielens },
    };
  },
  report({ runs, params }) {
    const pick = (j: number, f: (a: Arm) => number) => runs.map((r) => f(r.detail.arms[j] as Arm));
    const pickMl = (j: number, f: (a: MovieLensArm) => number) => runs.map((r) => f(r.detail.movielens.arms[j] as MovieLensArm));
    const first = runs[0]?.detail as Detail;
    const rows = first.arms.map((a, j) => [
      a.name,
      cell(pick(j, (x) => x.ranked), 0),
      cell(pick(j, (x) => x.candidateRecall), 3),
      cell(pick(j, (x) => x.ndcg), 4),
      cell(pick(j, (x) => x.wallMicros / 1000), 2),
      cell(pick(j, (x) => x.cpuMicros / 1000), 2),
      cell(runs.map((r) => (r.detail.arms[0] as Arm).cpuMicros / (r.detail.arms[j] as Arm).cpuMicros), 1),
    ]);
    const mean = (j: number, f: (a: Arm) => number) => meanInterval(pick(j, f)).mean;
    const twoStage = first.arms.map((_, j) => j).filter((j) => j > 0);
    const metric = (name: string) => meanInterval(runs.map((r) => r.metrics[name] as number));
    return {
      tables: [
        {
          title: `One stage (rank the whole catalogue) against ANN top-N then rank, NDCG@${params.k} against true relevance`,
          columns: ["pipeline", "items ranked per request", `true top-${params.k} in the candidates`, `NDCG@${params.k}`, "ms per request (median wall)", "CPU ms per request", "CPU saved (x)"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.requests} requests per seed; the ranker had ${cell(runs.map((r) => r.detail.rankerTrees), 0)} trees. Feature states are read from the in-memory store, so the one-stage cost is a lower bound: a real store would fetch every item's features over the network.`,
        },
        {
          title: `The project's own MovieLens pipeline (${params.movielens === "ml-100k" ? "MovieLens 100K" : "the miniature MovieLens folder"}, ${first.movielens.items.toLocaleString("en-US")} movies), NDCG@${params.k} against held-out ratings`,
          columns: ["pipeline", "movies ranked per request", `NDCG@${params.k}`, "CPU ms per request", "CPU of ranking every unseen movie / this"],
          rows: first.movielens.arms.map((a, j) => [
            a.name,
            cell(pickMl(j, (x) => x.ranked), 0),
            cell(pickMl(j, (x) => x.ndcg), 4),
            cell(pickMl(j, (x) => x.cpuMicros / 1000), 2),
            cell(runs.map((r) => (r.detail.movielens.arms.at(-1) as MovieLensArm).cpuMicros / (r.detail.movielens.arms[j] as MovieLensArm).cpuMicros), 1),
          ]),
          note: `Mean ± half-width of the 95 % interval over seeds (split seeds ${runs.map((r) => r.detail.movielens.splitSeed).join(", ")}); NDCG over every test user (${first.movielens.users} users), CPU over ${params.movielensRequests} timed users; the ranker is a bag of ${params.movielensBags} with ${cell(runs.map((r) => r.detail.movielens.trees), 0)} trees in all; HNSW norm lift ${[...new Set(runs.map((r) => r.detail.movielens.liftFraction))].join(", ")}. Its training lists were the retrieval's top ${params.movielensCandidates[0]}: ranking every unseen movie asks it about rows unlike any it learned from.`,
        },
      ],
      figures: [
        {
          name: "cost-quality",
          title: "NDCG against CPU per request",
          svg: lineChart({
            title: `Two-stage ranking: quality against CPU per request (${first.catalogue.toLocaleString("en-US")} items)`,
            xLabel: "CPU ms per request (log)",
            yLabel: `NDCG@${params.k} vs true relevance (mean over seeds)`,
            xScale: "log",
            series: [
              { name: `ANN top-N then rank (N = ${params.candidates.join(", ")})`, points: twoStage.map((j) => [mean(j, (a) => a.cpuMicros / 1000), mean(j, (a) => a.ndcg)] as [number, number]) },
              { name: "rank the whole catalogue", points: [[mean(0, (a) => a.cpuMicros / 1000), mean(0, (a) => a.ndcg)]] },
            ],
          }),
        },
      ],
      facts: {
        cpuRatio: phraseRatio(metric("cpuRatio").mean),
        wallRatio: phraseRatio(metric("wallRatio").mean),
        ndcgLoss: fmtInterval(metric("ndcgLoss"), 4),
        quality: qualitySentence(metric("ndcgLoss").mean, params.judgedCandidates),
        catalogue: first.catalogue.toLocaleString("en-US"),
        n: String(params.judgedCandidates),
        movielens: movieLensSentence(metric("movielensCpuRatio").mean, metric("movielensNdcgLoss"), params.movielensCandidates[0] as number, first.movielens.items),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Yes: on a ${facts.catalogue}-item catalogue, ANN top-${facts.n} then the GBDT ranker used ${facts.cpuRatio} less CPU per request than ranking everything (${facts.wallRatio} lower latency), and ${facts.quality} (whole-catalogue minus two-stage NDCG@10: ${facts.ndcgLoss}). The ranker only has to be good on the candidates retrieval can find; I size N by the recall of the true top items in the candidates and the latency budget. ${facts.movielens}"`,
    "does not hold": ({ checks, facts }) =>
      `"Not as stated here: ANN top-${facts.n} then rank used ${facts.cpuRatio} less CPU (${facts.wallRatio} lower latency) than ranking all ${facts.catalogue} items, with NDCG@10 of the whole-catalogue ranking minus two-stage ${facts.ndcgLoss} (${Object.values(checks)
        .filter((c) => c.verdict === "does not hold")
        .map((c) => c.check.id)
        .join(", ")} failed). The cost side grows with the catalogue; the quality side depends on how well the ranker does on items it never saw in its training slates. ${facts.movielens}"`,
    inconclusive: ({ checks, facts }) =>
      `"ANN top-${facts.n} then rank used ${facts.cpuRatio} less CPU than ranking all ${facts.catalogue} items, NDCG@10 difference ${facts.ndcgLoss}; not settled (${openParts(checks)}). ${facts.movielens}"`,
  },
});
