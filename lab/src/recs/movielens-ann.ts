import { defaultEffort, ExactIndex, type SearchResult, type Vector } from "@mlsd/ann";
import { buildHnswChoosingLift, trainingUserQueries } from "@mlsd/trainer/src/recs/retrieval-model";
import { fitRetrievalTowers } from "@mlsd/trainer/src/recs/two-stage";
import type { UserItemMatrix } from "@mlsd/rec-eval";
import type { LinearTowers } from "@mlsd/two-tower";
import { ExactClock, exactAnswers, fastestReaching, meanRecall, searchMicros, type Searchable } from "./ann-sweep";
import { labPipelineConfig, labSplit, loadLabMovieLens, type LabMovieLens } from "./movielens-data";

export interface MovieLensAnnOptions {
  data: LabMovieLens;
  /** Answer sizes (capped at the catalogue). */
  ks: readonly number[];
  /** Search efforts swept on the served graph (hnswlib searches with max(ef, k)). */
  efs: readonly number[];
  /** Validation recall@k a setting must reach to be chosen. */
  targetRecall: number;
}

export interface MovieLensAnnPoint {
  k: number;
  ef: number;
  validRecall: number;
  testRecall: number;
  micros: number;
  speedup: number;
}

export interface MovieLensAnn {
  users: number;
  items: number;
  dim: number;
  splitSeed: number;
  /** The norm lift the trainer's rule chose on the validation users, and each lift's recall. */
  liftFraction: number;
  liftTried: { liftFraction: number; recall: number }[];
  /** The ef the retrieval service searches with when not told otherwise. */
  servedEf: number;
  ks: number[];
  exactMicros: Record<string, number>;
  /** Test recall@k, time and speedup of the served graph at the served ef, per k. */
  served: { k: number; testRecall: number; micros: number; speedup: number }[];
  points: MovieLensAnnPoint[];
  chosen: { k: number; point: MovieLensAnnPoint | null }[];
}

/** The user vectors of everyone with training ratings, cut in two: the lift and the setting are chosen on the first half, judged on the second. */
function userQueryHalves(towers: LinearTowers, train: UserItemMatrix): { valid: Float32Array[]; test: Float32Array[] } {
  const all = trainingUserQueries(towers, train);
  const half = Math.floor(all.length / 2);
  if (half < 1) throw new RangeError(`need at least 2 users with training ratings, got ${all.length}`);
  return { valid: all.slice(0, half), test: all.slice(half) };
}

/**
 * The retrieval stage of the project's MovieLens pipeline as `npm run train:recs -- --dataset
 * movielens` builds and serves it (low-rank EASE item vectors on the split's training half, the
 * HNSW graph with the norm lift chosen against exact search), against the exact WebAssembly scan
 * over the same vectors, on the users' own query vectors.
 */
export async function sweepMovieLensHnsw(options: MovieLensAnnOptions, seed: number, log: (line: string) => void): Promise<MovieLensAnn> {
  const dataset = await loadLabMovieLens(options.data);
  const config = labPipelineConfig(options.data);
  const { split, splitSeed } = labSplit(dataset, seed);
  const towers = await fitRetrievalTowers(split.train, config, splitSeed);
  const d = towers.dim;
  const n = towers.numItems;
  const queries = userQueryHalves(towers, split.train);
  const ks = [...new Set(options.ks.map((k) => Math.min(k, n)))];
  log(`MovieLens (${options.data}) retrieval vectors: ${n} movies, dim ${d}, split seed ${splitSeed}; ${queries.valid.length} validation and ${queries.test.length} test users`);

  // The trainer's rule (agreement with exact search at the default ef), on the validation users only.
  const lift = buildHnswChoosingLift(towers.itemVectors, d, String, "lab", queries.valid, Math.max(...ks));
  log(`norm lift ${lift.liftFraction} (${lift.tried.map((t) => `${t.liftFraction} -> ${t.recall.toFixed(4)}`).join(", ")})`);
  const ann = lift.indexes.ann;
  // The graph holds the centred vectors; a query's scores shift by one constant, so the ids match exact search's.
  const hnsw: Searchable = {
    search: (q: Vector, k: number, ef?: number): SearchResult<number> => {
      const r = ann.search(q, k, ef);
      return { ids: r.ids.map(Number), scores: r.scores };
    },
  };
  const exact = ExactIndex.build(towers.itemVectors, Array.from({ length: n }, (_, i) => i), { dim: d });
  const servedEf = defaultEffort(ann);

  const points: Omit<MovieLensAnnPoint, "speedup">[] = [];
  const exactMicros: Record<string, number> = {};
  const servedPoints: { k: number; testRecall: number; micros: number }[] = [];
  for (const k of ks) {
    const truth = { valid: exactAnswers(exact, queries.valid, k), test: exactAnswers(exact, queries.test, k) };
    const clock = new ExactClock(exact, queries.test, k);
    clock.tick();
    for (const ef of options.efs) {
      points.push({ k, ef, validRecall: meanRecall(hnsw, queries.valid, truth.valid, k, ef), testRecall: meanRecall(hnsw, queries.test, truth.test, k, ef), micros: searchMicros(hnsw, queries.test, k, ef) });
    }
    servedPoints.push({ k, testRecall: meanRecall(hnsw, queries.test, truth.test, k), micros: searchMicros(hnsw, queries.test, k) });
    clock.tick();
    exactMicros[String(k)] = clock.micros;
  }
  const swept = points.map((p) => ({ ...p, speedup: (exactMicros[String(p.k)] as number) / p.micros }));
  return {
    users: dataset.numUsers,
    items: n,
    dim: d,
    splitSeed,
    liftFraction: lift.liftFraction,
    liftTried: lift.tried,
    servedEf,
    ks,
    exactMicros,
    served: servedPoints.map((s) => ({ ...s, speedup: (exactMicros[String(s.k)] as number) / s.micros })),
    points: swept,
    chosen: ks.map((k) => ({ k, point: fastestReaching(swept, k, options.targetRecall) })),
  };
}
