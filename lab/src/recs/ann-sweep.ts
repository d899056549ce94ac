import { queryRows, recallOfIds, type ExactIndex, type Vector, type VectorIndex } from "@mlsd/ann";
import { median } from "../harness/stats";
import { microsPerCall } from "../harness/timing";
import type { EmbeddingWorld } from "./embeddings";

/** The embedding world's queries cut in two: settings are chosen on the first half, judged on the second. */
export interface QuerySplit {
  valid: Vector[];
  test: Vector[];
}

export function splitQueries(w: EmbeddingWorld): QuerySplit {
  const rows = queryRows(w.queries, w.dim);
  const half = Math.floor(rows.length / 2);
  if (half < 1) throw new RangeError(`need at least 2 queries to carve a validation half, got ${rows.length}`);
  return { valid: rows.slice(0, half), test: rows.slice(half) };
}

/** The exact top-k ids of each query: the ground truth every approximate answer is judged against. */
export function exactAnswers(exact: ExactIndex<number>, queries: readonly Vector[], k: number): number[][] {
  return queries.map((q) => exact.search(q, k).ids);
}

/** Anything answering top-k searches the way the retrieval service calls an index. */
export type Searchable = Pick<VectorIndex<number>, "search">;

export function meanRecall(index: Searchable, queries: readonly Vector[], truth: readonly (readonly number[])[], k: number, effort?: number): number {
  let total = 0;
  queries.forEach((q, i) => {
    total += recallOfIds(index.search(q, k, effort).ids, truth[i] as number[]);
  });
  return total / queries.length;
}

/** Median microseconds of one top-k search over the queries, the way the retrieval service calls it. */
export function searchMicros(index: Searchable, queries: readonly Vector[], k: number, effort?: number, repeats = 5): number {
  return microsPerCall((i) => index.search(queries[i % queries.length] as Vector, k, effort).ids.length, queries.length, repeats);
}

/**
 * The exact scan's time, measured again before each block of approximate timings; the median of
 * those measurements is the denominator of every speedup, so load that comes and goes during the
 * run hits both sides.
 */
export class ExactClock {
  private readonly samples: number[] = [];

  constructor(
    private readonly exact: ExactIndex<number>,
    private readonly queries: readonly Vector[],
    private readonly k: number,
  ) {}

  tick(): void {
    this.samples.push(searchMicros(this.exact, this.queries, this.k, undefined, 3));
  }

  get micros(): number {
    if (this.samples.length === 0) throw new RangeError("the exact clock was never read");
    return median(this.samples);
  }
}

/** The fastest setting (on the timed test queries) whose validation recall@k reaches the target, or null. */
export function fastestReaching<P extends { k: number; validRecall: number; micros: number }>(points: readonly P[], k: number, target: number): P | null {
  const ok = points.filter((p) => p.k === k && p.validRecall >= target);
  return ok.length === 0 ? null : ok.reduce((a, b) => (b.micros < a.micros ? b : a));
}
