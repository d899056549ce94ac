import { describe, expect, it } from "vitest";
import { AnnError } from "./errors";
import { ExactIndex } from "./exact-index";
import { HnswIndex } from "./hnsw-index";
import { Int8ExactIndex } from "./int8-index";
import { IvfIndex } from "./ivf-index";
import { recallOfIds } from "./recall";
import { dot, naiveTopK } from "./testing/reference";
import { clusteredWorld } from "./testing/synthetic-catalogue";
import type { VectorIndex } from "./vector-index";

const DIM = 16;
const N = 2000;
const world = clusteredWorld({ items: N, queries: 40, dim: DIM, seed: 7, clusters: 20 });
const itemId = (row: number): string => `item-${row}`;
const ids = Array.from({ length: N }, (_, i) => itemId(i));
const rowOf = (id: string): number => Number(id.slice("item-".length));
const queries = Array.from({ length: 40 }, (_, q) => world.queries.subarray(q * DIM, (q + 1) * DIM));

interface Implementation {
  name: string;
  build(vectors: Float32Array, ids: string[]): VectorIndex<string>;
  empty(): VectorIndex<string>;
  /** Mean recall@k the implementation must reach against the naive reference. */
  minRecall: number;
  /** Largest allowed |returned score - true inner product| for `query`. */
  scoreTolerance(index: VectorIndex<string>, query: Float32Array): number;
  ef?: number;
}

const implementations: Implementation[] = [
  {
    name: "ExactIndex",
    build: (v, i) => ExactIndex.build(v, i, { dim: DIM }),
    empty: () => new ExactIndex<string>({ dim: DIM, initialCapacity: 4 }),
    minRecall: 1,
    scoreTolerance: () => 1e-9,
  },
  {
    name: "HnswIndex",
    // A small initial capacity so that the contract's addItems calls exercise resizing.
    build: (v, i) => HnswIndex.build(v, i, { dim: DIM, modelVersion: "m1", initialCapacity: 64 }),
    empty: () => HnswIndex.create<string>({ dim: DIM, modelVersion: "m1", initialCapacity: 4 }),
    minRecall: 1,
    scoreTolerance: () => 1e-5,
    // "High ef on a small set": a candidate list of a quarter of the catalogue.
    ef: 500,
  },
  {
    name: "IvfIndex",
    // 16 lists; probing all of them makes the answer exact, which pins list bookkeeping (moves on
    // delete, re-packing on growth) to the reference. Partial probing is tested in ivf-index.test.ts.
    build: (v, i) => IvfIndex.build(v, i, { dim: DIM, modelVersion: "m1", params: { nlist: 16 } }),
    empty: () => IvfIndex.create<string>({ dim: DIM, modelVersion: "m1", params: { nlist: 16 } }),
    minRecall: 1,
    scoreTolerance: () => 1e-9,
    ef: 16,
  },
  {
    name: "Int8ExactIndex",
    build: (v, i) => Int8ExactIndex.build(v, i, { dim: DIM }),
    empty: () => new Int8ExactIndex<string>({ dim: DIM, scales: new Float32Array(DIM).fill(0.02) }),
    minRecall: 0.95,
    // Rounding moves each stored coordinate by at most half a step.
    scoreTolerance: (index, q) => {
      const scales = (index as Int8ExactIndex<string>).scales;
      let bound = 0;
      for (let j = 0; j < DIM; j++) bound += Math.abs(q[j] as number) * (scales[j] as number) * 0.5;
      return bound + 1e-9;
    },
  },
];

function meanRecall(index: VectorIndex<string>, items: Float32Array, idOfRow: (row: number) => string, k: number, ef?: number): number {
  let total = 0;
  for (const q of queries) {
    const reference = naiveTopK(items, DIM, q, k).rows.map(idOfRow);
    total += recallOfIds(index.search(q, k, ef).ids, reference);
  }
  return total / queries.length;
}

function expectAnnError(fn: () => unknown, code: string, field: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AnnError);
  expect(caught).toMatchObject({ code, field });
}

describe.each(implementations)("VectorIndex contract: $name", (impl) => {
  const index = impl.build(world.items, ids);

  it("returns k distinct ids, best first, with scores equal to the inner products", () => {
    for (const q of queries) {
      const { ids: found, scores } = index.search(q, 10, impl.ef);
      expect(found).toHaveLength(10);
      expect(new Set(found).size).toBe(10);
      for (let r = 1; r < scores.length; r++) expect(scores[r]).toBeLessThanOrEqual(scores[r - 1] as number);
      const tolerance = impl.scoreTolerance(index, q);
      found.forEach((id, r) => {
        const row = rowOf(id);
        const truth = dot(q, world.items.subarray(row * DIM, (row + 1) * DIM));
        expect(Math.abs((scores[r] as number) - truth)).toBeLessThanOrEqual(tolerance);
      });
    }
  });

  it(`reaches recall@10 and recall@100 >= ${impl.minRecall} against a full sort`, () => {
    expect(meanRecall(index, world.items, itemId, 10, impl.ef)).toBeGreaterThanOrEqual(impl.minRecall);
    expect(meanRecall(index, world.items, itemId, 100, impl.ef)).toBeGreaterThanOrEqual(impl.minRecall);
  });

  it("answers a plain array query exactly like the Float32Array one", () => {
    const q = queries[3] as Float32Array;
    expect(index.search(Array.from(q), 20, impl.ef)).toEqual(index.search(q, 20, impl.ef));
  });

  it("returns every item when k exceeds the size, and nothing from an empty index", () => {
    const small = impl.empty();
    expect(small.search(queries[0] as Float32Array, 5)).toEqual({ ids: [], scores: [] });
    small.addItems(world.items.subarray(0, 3 * DIM), ["a", "b", "c"]);
    const { ids: found } = small.search(queries[0] as Float32Array, 50);
    expect([...found].sort()).toEqual(["a", "b", "c"]);
    expect(small.size).toBe(3);
  });

  it("makes added items findable without a rebuild", () => {
    const grown = impl.build(world.items, ids);
    const q = queries[5] as Float32Array;
    // Twice the query direction with three times the best score: the new top-1 by construction.
    const best = grown.search(q, 1, impl.ef).scores[0] as number;
    const champion = Float32Array.from(q, (x) => x * 3 * best);
    const extra = clusteredWorld({ items: 300, queries: 0, dim: DIM, seed: 8, clusters: 20 }).items;
    const extraIds = Array.from({ length: 300 }, (_, i) => `extra-${i}`);
    grown.addItems(extra, extraIds);
    grown.addItems(champion, ["champion"]);
    expect(grown.size).toBe(N + 301);
    expect(grown.has("champion")).toBe(true);
    expect(grown.search(q, 1, impl.ef).ids).toEqual(["champion"]);

    const all = new Float32Array((N + 300) * DIM);
    all.set(world.items);
    all.set(extra, N * DIM);
    const idOfRow = (row: number): string => (row < N ? itemId(row) : `extra-${row - N}`);
    // Compare on queries without the champion: recall over the union of old and new items.
    const withoutChampion = impl.build(all, Array.from({ length: N + 300 }, (_, r) => idOfRow(r)));
    expect(meanRecall(withoutChampion, all, idOfRow, 10, impl.ef)).toBeGreaterThanOrEqual(impl.minRecall);
  });

  it("never returns deleted items, and takes a deleted id back as a new item", () => {
    const shrinking = impl.build(world.items, ids);
    const q = queries[9] as Float32Array;
    const top = shrinking.search(q, 20, impl.ef).ids;
    const removed = top.slice(0, 5);
    shrinking.markDeleted(removed);
    expect(shrinking.size).toBe(N - 5);
    for (const id of removed) expect(shrinking.has(id)).toBe(false);
    const after = shrinking.search(q, 20, impl.ef).ids;
    expect(after.filter((id) => removed.includes(id))).toEqual([]);
    // The survivors of the old top-20 keep their places at the head of the new answer.
    expect(after.slice(0, 15)).toEqual(top.slice(5));

    const back = removed[0] as string;
    shrinking.addItems(Float32Array.from(q, (x) => x * 100), [back]);
    expect(shrinking.has(back)).toBe(true);
    expect(shrinking.search(q, 1, impl.ef).ids).toEqual([back]);
  });

  it("rejects bad input with typed errors naming the field, leaving the index unchanged", () => {
    const target = impl.build(world.items.subarray(0, 100 * DIM), ids.slice(0, 100));
    expectAnnError(() => target.search(new Float32Array(DIM + 1), 5), "dimension_mismatch", "query");
    expectAnnError(() => target.search(queries[0] as Float32Array, 0), "invalid_input", "k");
    expectAnnError(() => target.search([...new Array<number>(DIM - 1).fill(0), Number.NaN], 5), "invalid_input", "query");
    expectAnnError(() => target.addItems(new Float32Array(DIM * 2 - 1), ["x", "y"]), "dimension_mismatch", "vectors");
    expectAnnError(() => target.addItems(new Float32Array(DIM * 2), ["x", ids[0] as string]), "duplicate_id", "ids");
    expectAnnError(() => target.addItems(new Float32Array(DIM * 2), ["x", "x"]), "duplicate_id", "ids");
    const withNaN = new Float32Array(DIM * 2);
    withNaN[DIM + 3] = Number.NaN;
    expectAnnError(() => target.addItems(withNaN, ["x", "y"]), "invalid_input", "vectors");
    expectAnnError(() => target.markDeleted([ids[0] as string, "never-added"]), "unknown_id", "ids");
    expect(target.size).toBe(100);
    expect(target.has("x")).toBe(false);
    expect(target.has(ids[0] as string)).toBe(true);
  });
});

describe("numeric ids", () => {
  it.each([
    ["ExactIndex", () => ExactIndex.build(world.items, world.ids, { dim: DIM })],
    ["HnswIndex", () => HnswIndex.build(world.items, world.ids, { dim: DIM, modelVersion: "m1", params: { ef: 200 } })],
    ["IvfIndex", () => IvfIndex.build(world.items, world.ids, { dim: DIM, modelVersion: "m1", params: { nlist: 8, nprobe: 8 } })],
  ])("%s maps numeric ids back to the rows they were added with", (_name, make) => {
    const index: VectorIndex<number> = make();
    const q = queries[1] as Float32Array;
    const reference = naiveTopK(world.items, DIM, q, 10);
    const { ids: found, scores } = index.search(q, 10);
    expect(found).toEqual(reference.rows);
    scores.forEach((s, r) => expect(s).toBeCloseTo(reference.scores[r] as number, 5));
  });
});
