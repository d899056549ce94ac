import { Rng } from "@mlsd/random";
import { UserItemMatrix } from "@mlsd/rec-eval";
import type { LinearTowers } from "@mlsd/two-tower";
import { describe, expect, it } from "vitest";
import { buildHnswChoosingLift, sweepIndexRecall, trainingUserQueries } from "./retrieval-model";

/** Items with norms spread over two orders of magnitude, like low-rank EASE's item vectors. */
function spreadEmbeddings(n: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const norm = 0.01 + 1.4 * rng.next() ** 3;
    let sq = 0;
    const v = Array.from({ length: dim }, () => rng.normal());
    for (const x of v) sq += x * x;
    v.forEach((x, r) => (out[i * dim + r] = (x / Math.sqrt(sq)) * norm));
  }
  return out;
}

describe("the HNSW norm lift", () => {
  const dim = 16;
  const embeddings = spreadEmbeddings(1500, dim, 3);
  const rng = new Rng(5);
  const queries = Array.from({ length: 60 }, () => Float32Array.from({ length: dim }, () => rng.normal()));

  it("is chosen by recall against exact search among the lifts tried, and the index kept is the chosen lift's", () => {
    const choice = buildHnswChoosingLift(embeddings, dim, String, "v1", queries, 50, [0.5, 0, 0.25]);
    expect(choice.tried.map((t) => t.liftFraction)).toEqual([0, 0.25, 0.5]);
    const best = Math.max(...choice.tried.map((t) => t.recall));
    // Ties go to the smaller lift.
    expect(choice.liftFraction).toBe(choice.tried.find((t) => t.recall === best)?.liftFraction);
    const ann = choice.indexes.ann;
    expect(ann.kind === "hnsw" && ann.params.liftFraction).toBe(choice.liftFraction);
    const again = sweepIndexRecall(choice.indexes, queries, [50], [400])[0];
    expect(again?.recall).toBeCloseTo(best, 12);
    for (const t of choice.tried) {
      expect(t.recall).toBeGreaterThan(0);
      expect(t.recall).toBeLessThanOrEqual(1);
    }
    expect(choice.queries).toBe(queries.length);
  });

  it("refuses an empty list of lifts", () => {
    expect(() => buildHnswChoosingLift(embeddings, dim, String, "v1", queries, 50, [])).toThrow(/lifts/);
  });
});

describe("the training users' query vectors", () => {
  // Two dims, three items: item i adds (i + 1, 10 (i + 1)) to a user's vector.
  const towers: LinearTowers = {
    dim: 2,
    numItems: 3,
    historyVectors: Float32Array.from([1, 10, 2, 20, 3, 30]),
    itemVectors: new Float32Array(6),
    eigenvalues: new Float64Array(2),
    lambda: 1,
  };
  // Users 0 and 2 rated; user 1 did not; user 3 rated item 2 only.
  const users = [0, 0, 2, 3];
  const items = [0, 2, 1, 2];
  const train = UserItemMatrix.fromRatings({
    numUsers: 4,
    numItems: 3,
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    values: new Float32Array(users.length).fill(1),
    timestamps: new Float64Array(users.length),
  });

  it("sums each rater's history vectors, in user order, skipping users with no training rating", () => {
    expect(trainingUserQueries(towers, train).map((q) => Array.from(q))).toEqual([
      [4, 40],
      [2, 20],
      [3, 30],
    ]);
  });

  it("stops at the limit, counting only users with a query", () => {
    expect(trainingUserQueries(towers, train, 2).map((q) => Array.from(q))).toEqual([
      [4, 40],
      [2, 20],
    ]);
    expect(trainingUserQueries(towers, train, 0)).toEqual([]);
  });
});
