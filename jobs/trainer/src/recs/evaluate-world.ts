import type { SearchResult } from "@mlsd/ann";
import { assembleRankerRows, RANKER_FEATURE_COUNT, rankerContext, type MemoryRecsFeatureStore } from "@mlsd/feature-store";
import { Predictor, type GbdtModel } from "@mlsd/gbdt";
import { ndcgAtK } from "@mlsd/ml-metrics";
import { Rng } from "@mlsd/random";
import type { RecWorld } from "@mlsd/synth";
import type { UserEncoder, UserQuery } from "@mlsd/two-tower";
import { worldDayToMs } from "./ranker-data";
import type { ClickLog } from "./world-data";

export type WorldMethod = "popularity" | "retrieval-exact" | "retrieval-index" | "two-stage";

export interface WorldMethodResult {
  method: WorldMethod;
  description: string;
  /** Mean NDCG@k with the world's true relevance as the gain, ideal = the best k of the whole catalogue. */
  ndcgTrue: number;
  /** Mean NDCG@k against the user's held-out clicks (binary), over users with one. */
  ndcgClicks: number;
  /** Share of held-out clicked items in the list (top k). */
  recallClicks: number;
}

export interface CandidateRecall {
  n: number;
  /** Share of held-out clicked items among the top-n candidates, through the index and through exact search. */
  index: number;
  exact: number;
}

export interface WorldEvaluation {
  k: number;
  users: number;
  usersWithClicks: number;
  methods: WorldMethodResult[];
  candidates: CandidateRecall;
}

export interface WorldEvalInput {
  world: RecWorld;
  clicks: ClickLog;
  /** Clicks [0, trainRows) are training data, the rest held out. */
  trainRows: number;
  cutoffDay: number;
  /** User-tower query of a user as of the cut-off. */
  query: (user: number) => UserQuery;
  encoder: UserEncoder;
  /** Top k by the index and by exact search, scores on the same (inner product) scale. */
  index: (q: Float32Array, k: number) => SearchResult<string>;
  /** What the index is called in the method descriptions ("HNSW", "IVF"). */
  indexName: string;
  exact: (q: Float32Array, k: number) => SearchResult<string>;
  /** Items by training popularity, most popular first. */
  popularOrder: Int32Array;
  ranker: GbdtModel;
  /** Online features as of the cut-off, as the ranker would read them. */
  featuresAtCutoff: MemoryRecsFeatureStore;
  k?: number;
  /** Candidates retrieval hands the ranker. */
  candidates?: number;
  maxUsers?: number;
  seed?: number;
  onUser?: (done: number, total: number) => void;
}

/** Top `n` item indices of a search, skipping excluded ones (the index is asked for enough extra). */
function topOf(search: (q: Float32Array, k: number) => SearchResult<string>, q: Float32Array, n: number, exclude: ReadonlySet<number>, numItems: number): { items: number[]; scores: number[] } {
  const result = search(q, Math.min(numItems, n + exclude.size));
  const items: number[] = [];
  const scores: number[] = [];
  for (let j = 0; j < result.ids.length && items.length < n; j++) {
    const item = Number(result.ids[j]);
    if (exclude.has(item)) continue;
    items.push(item);
    scores.push(result.scores[j] as number);
  }
  return { items, scores };
}

/** NDCG@k with graded gains, the ideal being the k best gains of every eligible item. */
function gradedNdcg(ranked: readonly number[], gains: Float64Array, exclude: ReadonlySet<number>, k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) dcg += (gains[ranked[i] as number] as number) / Math.log2(i + 2);
  const best: number[] = [];
  for (let item = 0; item < gains.length; item++) {
    if (exclude.has(item)) continue;
    const g = gains[item] as number;
    if (best.length < k) {
      best.push(g);
      best.sort((a, b) => b - a);
    } else if (g > (best[k - 1] as number)) {
      best[k - 1] = g;
      best.sort((a, b) => b - a);
    }
  }
  let idcg = 0;
  best.forEach((g, i) => (idcg += g / Math.log2(i + 2)));
  return idcg > 0 ? dcg / idcg : 0;
}

/**
 * Retrieval alone (exact and HNSW), the two-stage path (HNSW candidates ordered by the GBDT
 * ranker on the features as of the cut-off) and popularity, for users with held-out clicks:
 * NDCG@k against those clicks, and against the world's true relevance over the whole catalogue,
 * which no logging policy biases. Each user's training clicks are excluded from every list.
 */
export function evaluateWorld(input: WorldEvalInput): WorldEvaluation {
  const { world, clicks, trainRows } = input;
  const k = input.k ?? 10;
  const nCandidates = input.candidates ?? 200;
  const numItems = world.numItems;
  const seen = new Map<number, Set<number>>();
  for (let r = 0; r < trainRows; r++) {
    const u = clicks.user[r] as number;
    let s = seen.get(u);
    if (!s) seen.set(u, (s = new Set()));
    s.add(clicks.item[r] as number);
  }
  const heldOut = new Map<number, { items: Set<number>; firstDay: number }>();
  for (let r = trainRows; r < clicks.user.length; r++) {
    const u = clicks.user[r] as number;
    const entry = heldOut.get(u) ?? { items: new Set<number>(), firstDay: clicks.day[r] as number };
    entry.items.add(clicks.item[r] as number);
    heldOut.set(u, entry);
  }
  let users = [...heldOut.keys()].sort((a, b) => a - b);
  const maxUsers = input.maxUsers ?? 1000;
  if (users.length > maxUsers) users = new Rng(input.seed ?? 11).sampleIndices(users.length, maxUsers).map((i) => users[i] as number);

  const predictor = new Predictor(input.ranker);
  const config = input.featuresAtCutoff.config;
  const sums: Record<WorldMethod, { ndcgTrue: number; ndcgClicks: number; recall: number }> = {
    popularity: { ndcgTrue: 0, ndcgClicks: 0, recall: 0 },
    "retrieval-exact": { ndcgTrue: 0, ndcgClicks: 0, recall: 0 },
    "retrieval-index": { ndcgTrue: 0, ndcgClicks: 0, recall: 0 },
    "two-stage": { ndcgTrue: 0, ndcgClicks: 0, recall: 0 },
  };
  let withClicks = 0;
  let candidateHitsIndex = 0;
  let candidateHitsExact = 0;
  let candidateTotal = 0;
  const gains = new Float64Array(numItems);
  const q = new Float32Array(input.encoder.dim);

  users.forEach((u, done) => {
    const exclude = seen.get(u) ?? new Set<number>();
    const truth = heldOut.get(u) as { items: Set<number>; firstDay: number };
    const relevant = new Set([...truth.items].filter((i) => !exclude.has(i)));
    for (let i = 0; i < numItems; i++) gains[i] = world.relevanceUnchecked(u, i);
    input.encoder.encode(input.query(u), q);

    const popular: number[] = [];
    for (let j = 0; j < input.popularOrder.length && popular.length < k; j++) {
      const item = input.popularOrder[j] as number;
      if (!exclude.has(item)) popular.push(item);
    }
    const exact = topOf(input.exact, q, nCandidates, exclude, numItems);
    const viaIndex = topOf(input.index, q, nCandidates, exclude, numItems);

    const userState = input.featuresAtCutoff.userSync(String(u));
    const itemStates = viaIndex.items.map((i) => input.featuresAtCutoff.itemSync(String(i)));
    const context = rankerContext({ timeMs: worldDayToMs(truth.firstDay), device: world.users.device[u] as number });
    const rows = assembleRankerRows(userState, itemStates, viaIndex.scores, context, config);
    const rankScores = predictor.predictBatchRaw({ data: rows, numRows: viaIndex.items.length, numColumns: RANKER_FEATURE_COUNT });
    const order = viaIndex.items.map((_, j) => j).sort((a, b) => (rankScores[b] as number) - (rankScores[a] as number) || a - b);
    const twoStage = order.slice(0, k).map((j) => viaIndex.items[j] as number);

    const lists: Record<WorldMethod, number[]> = {
      popularity: popular,
      "retrieval-exact": exact.items.slice(0, k),
      "retrieval-index": viaIndex.items.slice(0, k),
      "two-stage": twoStage,
    };
    for (const method of Object.keys(lists) as WorldMethod[]) {
      const list = lists[method];
      sums[method].ndcgTrue += gradedNdcg(list, gains, exclude, k);
      if (relevant.size > 0) {
        sums[method].ndcgClicks += ndcgAtK(list, relevant, k);
        sums[method].recall += list.filter((i) => relevant.has(i)).length / relevant.size;
      }
    }
    if (relevant.size > 0) {
      withClicks++;
      const inIndex = new Set(viaIndex.items);
      const inExact = new Set(exact.items);
      for (const i of relevant) {
        if (inIndex.has(i)) candidateHitsIndex++;
        if (inExact.has(i)) candidateHitsExact++;
      }
      candidateTotal += relevant.size;
    }
    input.onUser?.(done + 1, users.length);
  });

  const n = Math.max(1, users.length);
  const c = Math.max(1, withClicks);
  const describe: Record<WorldMethod, string> = {
    popularity: "popularity (training clicks)",
    "retrieval-exact": "two-tower, exact search",
    "retrieval-index": `two-tower, ${input.indexName}`,
    "two-stage": `two-stage: ${input.indexName} top-${nCandidates} -> GBDT ranker`,
  };
  return {
    k,
    users: users.length,
    usersWithClicks: withClicks,
    methods: (Object.keys(sums) as WorldMethod[]).map((method) => ({
      method,
      description: describe[method],
      ndcgTrue: sums[method].ndcgTrue / n,
      ndcgClicks: sums[method].ndcgClicks / c,
      recallClicks: sums[method].recall / c,
    })),
    candidates: { n: nCandidates, index: candidateTotal ? candidateHitsIndex / candidateTotal : 0, exact: candidateTotal ? candidateHitsExact / candidateTotal : 0 },
  };
}
