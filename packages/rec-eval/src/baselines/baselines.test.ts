import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { UserItemMatrix } from "../matrix";
import { topK } from "../top-k";
import { Ease } from "./ease";
import { Ials } from "./ials";
import { NeighborLists } from "./item-item";
import { ItemKnn } from "./item-knn";
import { MostPopular, RandomRecommender } from "./simple";
import { Rp3Beta } from "./rp3beta";
import { UserKnn } from "./user-knn";

function matrix(numUsers: number, numItems: number, lists: number[][]): UserItemMatrix {
  const rows = lists.flatMap((items, u) => items.map((i) => [u, i] as const));
  return UserItemMatrix.fromRatings({
    numUsers,
    numItems,
    users: Int32Array.from(rows, (r) => r[0]),
    items: Int32Array.from(rows, (r) => r[1]),
    values: new Float32Array(rows.length).fill(1),
    timestamps: new Float64Array(rows.length),
  });
}

// Item counts 2, 2, 2, 1; co-occurrences (0,1) = 2, (0,2) = (1,2) = (2,3) = 1.
const toy = matrix(3, 4, [[0, 1], [0, 1, 2], [2, 3]]);

describe("MostPopular and Random", () => {
  it("MostPop scores are training counts for every user", () => {
    const m = new MostPopular();
    m.fit(toy);
    expect(Array.from(m.scoreAll())).toEqual([2, 2, 2, 1]);
  });

  it("Random scores depend on seed and user only", () => {
    const a = new RandomRecommender(3);
    const b = new RandomRecommender(3);
    a.fit(toy);
    b.fit(toy);
    const a1 = Array.from(a.scoreAll(1));
    expect(Array.from(b.scoreAll(0))).not.toEqual(a1);
    expect(Array.from(b.scoreAll(1))).toEqual(a1);
  });
});

describe("ItemKnn", () => {
  it("stores only the kept neighbours, most similar first", () => {
    const knn = new ItemKnn({ neighbors: 2 });
    knn.fit(toy);
    // Item 2 co-occurs with 0, 1 (cosine 1/2) and 3 (1/sqrt(2)): 3 first, then 0 (lower index wins the tie).
    const { ids, similarities } = knn.neighborsOf(2);
    expect(Array.from(ids)).toEqual([3, 0]);
    expect(similarities[0]).toBeCloseTo(Math.SQRT1_2, 6);
    // Item 3 has one co-rated item: nothing with similarity 0 is kept.
    expect(Array.from(knn.neighborsOf(3).ids)).toEqual([2]);
  });

  it("sums cosine similarities of the user's items", () => {
    const knn = new ItemKnn({ neighbors: 10 });
    knn.fit(toy);
    // Rows 2 and 3: cos(2,0) = cos(2,1) = 1/2, cos(2,3) = 1/sqrt(2).
    const s = Array.from(knn.scoreAll(2));
    [0.5, 0.5, Math.SQRT1_2, Math.SQRT1_2].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 6));
  });

  it("scores any item list the way it scores a training user, into the caller's buffer", () => {
    const knn = new ItemKnn({ neighbors: 10 });
    knn.fit(toy);
    const out = new Float32Array(4);
    expect(Array.from(knn.scoreItems([2, 3], out))).toEqual(Array.from(knn.scoreAll(2)));
    // A history no training user has, items 0 and 3: item 1 gets cos(1,0) = 1, item 2 cos(2,0) + cos(2,3), items 0 and 3 nothing (cos(0,3) = 0).
    const s = Array.from(knn.scoreItems([0, 3], out));
    [0, 1, 0.5 + Math.SQRT1_2, 0].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 6));
    expect(() => new ItemKnn().scoreItems([0])).toThrow(/^fit: /);
  });

  it("keeps only the most similar neighbours of each item", () => {
    const knn = new ItemKnn({ neighbors: 1 });
    knn.fit(toy);
    // Row 0 keeps item 1, row 1 keeps item 0 (cosine 1), row 2 keeps item 3, row 3 keeps item 2.
    expect(Array.from(knn.scoreAll(0))).toEqual([1, 1, 0, 0]);
    expect(Array.from(knn.scoreAll(2)).map((v) => +v.toFixed(6))).toEqual([0, 0, 0.707107, 0.707107]);
    expect(() => new ItemKnn({ neighbors: 0 })).toThrow(/^neighbors: /);
  });
});

describe("NeighborLists.build", () => {
  it("keeps the same neighbours in the same order as a heap over the whole row (zeros, negatives, NaN and ties)", () => {
    const rng = new Rng(21);
    const n = 300;
    const rows = Array.from({ length: n }, () =>
      Float64Array.from({ length: n }, () => {
        const x = rng.next();
        if (x < 0.7) return 0;
        if (x < 0.75) return -rng.next();
        if (x < 0.77) return Number.NaN;
        // Few distinct values, so many ties.
        return 1 + rng.int(6);
      }),
    );
    rows[5]!.fill(0);
    for (const keep of [1, 10, 400]) {
      const lists = NeighborLists.build(n, keep, (i, out) => out.set(rows[i] as Float64Array));
      for (let i = 0; i < n; i++) {
        const row = Float64Array.from(rows[i] as Float64Array);
        row[i] = 0;
        const expected = Array.from(topK(row, Math.min(keep, n))).filter((j) => (row[j] as number) > 0);
        const got = lists.neighborsOf(i);
        expect(Array.from(got.ids)).toEqual(expected);
        expect(Array.from(got.weights)).toEqual(expected.map((j) => Math.fround(row[j] as number)));
      }
    }
  });
});

describe("Ease", () => {
  it("satisfies the closed-form conditions: zero diagonal, (G + lambda I) B = G off the diagonal", async () => {
    const n = 6;
    const lambda = 3;
    const rng = new Rng(4);
    // Users 0..5 hold one item each, so their scores are the rows of B; 40 random users add signal.
    const lists = Array.from({ length: n }, (_, i) => [i]);
    for (let u = 0; u < 40; u++) lists.push(Array.from({ length: n }, (_, i) => i).filter(() => rng.bernoulli(0.4)));
    const train = matrix(lists.length, n, lists);
    const ease = new Ease({ lambda });
    await ease.fit(train);
    const B = Array.from({ length: n }, (_, i) => Array.from(ease.scoreAll(i)));
    const G = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (const items of lists) for (const i of items) for (const j of items) (G[i] as number[])[j]! += 1;
    for (let i = 0; i < n; i++) {
      expect(B[i]?.[i]).toBe(0);
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        let s = lambda * (B[i]?.[j] as number);
        for (let m = 0; m < n; m++) s += (G[i]?.[m] as number) * (B[m]?.[j] as number);
        expect(s).toBeCloseTo(G[i]?.[j] as number, 4);
      }
    }
  });

  it("rejects a non-positive lambda by name", () => {
    expect(() => new Ease({ lambda: 0 })).toThrow(/^lambda: /);
  });

  it("matches the dense closed form across several pivot blocks (150 items)", async () => {
    const n = 150;
    const rng = new Rng(8);
    const lists = Array.from({ length: 300 }, () => Array.from({ length: n }, (_, i) => i).filter(() => rng.bernoulli(0.08)));
    const train = matrix(lists.length, n, lists);
    const ease = new Ease({ lambda: 20 });
    await ease.fit(train);
    // (G + lambda I) B = G - diag(mu) for some mu: off the diagonal, row i of the product equals G's.
    const G = Array.from({ length: n }, () => new Float64Array(n));
    for (const items of lists) for (const i of items) for (const j of items) G[i]![j]! += 1;
    for (const [i, j] of [[0, 1], [17, 140], [149, 3], [64, 65], [127, 128]] as const) {
      let s = 20 * ease.weight(i, j);
      for (let m = 0; m < n; m++) s += G[i]![m]! * ease.weight(m, j);
      expect(s).toBeCloseTo(G[i]![j]!, 3);
    }
  });
});

describe("UserKnn and RP3beta (hand-computed on the toy matrix)", () => {
  it("UserKnn sums the cosine of the neighbours who rated each item", () => {
    const knn = new UserKnn({ neighbors: 5 });
    knn.fit(toy);
    // cos(u0, u1) = 2 / sqrt(2 * 3); u0 and u2 share nothing.
    const c = 2 / Math.sqrt(6);
    expect(Array.from(knn.scoreAll(0)).map((v) => +v.toFixed(6))).toEqual([c, c, c, 0].map((v) => +v.toFixed(6)));
    // u2's neighbour is u1 (1 / sqrt(6)).
    expect(knn.scoreAll(2)[0]).toBeCloseTo(1 / Math.sqrt(6), 6);
  });

  it("RP3beta walks item -> user -> item and divides by popularity^beta", () => {
    const plain = new Rp3Beta({ beta: 0 });
    plain.fit(toy);
    // u2 holds items 2 and 3: W(2,0) = (1/3) / 2 via u1, W(2,3) = (1/2) / 2 via u2, W(3,2) = (1/2) / 1.
    const s = Array.from(plain.scoreAll(2));
    [1 / 6, 1 / 6, 0.5, 0.25].forEach((v, i) => expect(s[i]).toBeCloseTo(v, 6));
    const penalised = new Rp3Beta({ beta: 1 });
    penalised.fit(toy);
    const p = Array.from(penalised.scoreAll(2));
    [1 / 12, 1 / 12, 0.25, 0.25].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 6));
  });
});

describe("Ials", () => {
  // Two taste groups: users 0-5 rate from items 0-4, users 6-11 from items 5-9, each missing one.
  const lists = Array.from({ length: 12 }, (_, u) => {
    const block = u < 6 ? 0 : 5;
    return [0, 1, 2, 3, 4].filter((k) => k !== u % 5).map((k) => block + k);
  });
  const blocks = matrix(12, 10, lists);

  it("never raises its objective from one sweep to the next", () => {
    const losses = [1, 2, 3, 5, 8].map((iterations) => {
      const model = new Ials({ factors: 3, alpha: 10, lambda: 0.5, iterations, seed: 4 });
      model.fit(blocks);
      return model.loss(blocks);
    });
    for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeLessThanOrEqual((losses[k - 1] as number) * (1 + 1e-9));
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) * 0.999);
  });

  it("scores the unseen item of the user's own group above every item of the other group", () => {
    const model = new Ials({ factors: 2, alpha: 10, lambda: 0.5, iterations: 10, seed: 4 });
    model.fit(blocks);
    for (let u = 0; u < 12; u++) {
      const scores = Array.from(model.scoreAll(u));
      const own = (u < 6 ? 0 : 5) + (u % 5);
      const other = u < 6 ? [5, 6, 7, 8, 9] : [0, 1, 2, 3, 4];
      expect(Math.max(...other.map((i) => scores[i] as number))).toBeLessThan(scores[own] as number);
    }
  });

  it("leaves every item's factors solving its normal equations exactly (rows of 0 to 13 ratings, so every unrolled path)", () => {
    // (U'U + alpha sum_u u u' + lambda I) v = (1 + alpha) sum_u u over the item's raters u: the
    // last half-sweep solved the items against the final user factors.
    const rng = new Rng(21);
    const numUsers = 25;
    const numItems = 14;
    const raters: number[][] = Array.from({ length: numItems }, (_, i) => Array.from({ length: numUsers }, (_, u) => u).filter(() => rng.next() < i / 26));
    const lists = Array.from({ length: numUsers }, (_, u) => raters.flatMap((r, i) => (r.includes(u) ? [i] : [])));
    const d = 3;
    const alpha = 7;
    const lambda = 0.3;
    const model = new Ials({ factors: d, alpha, lambda, iterations: 4, seed: 2 });
    model.fit(matrix(numUsers, numItems, lists));
    const { userFactors: U, itemFactors: V } = model as unknown as { userFactors: Float64Array; itemFactors: Float64Array };
    expect(raters.map((r) => r.length)).toContain(0);
    expect(Math.max(...raters.map((r) => r.length))).toBeGreaterThanOrEqual(9);
    for (let i = 0; i < numItems; i++) {
      for (let a = 0; a < d; a++) {
        let lhs = lambda * (V[i * d + a] as number);
        let rhs = 0;
        for (let u = 0; u < numUsers; u++) {
          const rated = (raters[i] as number[]).includes(u);
          let uv = 0;
          for (let b = 0; b < d; b++) uv += (U[u * d + b] as number) * (V[i * d + b] as number);
          lhs += (rated ? 1 + alpha : 1) * (U[u * d + a] as number) * uv;
          if (rated) rhs += (1 + alpha) * (U[u * d + a] as number);
        }
        expect(lhs).toBeCloseTo(rhs, 10);
      }
    }
  });

  it("scores listed items exactly as scoreAll does, leaving the rest of the buffer alone", () => {
    const model = new Ials({ factors: 3, iterations: 3, seed: 4 });
    model.fit(blocks);
    const all = Array.from(model.scoreAll(7));
    const out = new Float32Array(10).fill(-1);
    model.scoreItems(7, [2, 8, 5], out);
    expect(Array.from(out)).toEqual(all.map((s, i) => ([2, 5, 8].includes(i) ? s : -1)));
    expect(() => new Ials().scoreItems(0, [1])).toThrow(/^fit: /);
  });

  it("gives a movie nobody rated a zero vector, so every user scores it 0", () => {
    const withUnrated = matrix(12, 11, lists);
    const model = new Ials({ factors: 3, iterations: 3, seed: 4 });
    model.fit(withUnrated);
    for (let u = 0; u < 12; u++) expect(model.scoreAll(u)[10]).toBe(0);
  });

  it("is deterministic for a seed and moves with it", () => {
    const fitted = (seed: number) => {
      const model = new Ials({ factors: 2, iterations: 2, seed });
      model.fit(blocks);
      return Array.from(model.scoreAll(0));
    };
    expect(fitted(1)).toEqual(fitted(1));
    expect(fitted(2)).not.toEqual(fitted(1));
  });

  it("refuses bad settings naming the field, and scoring before fit", () => {
    expect(() => new Ials({ factors: 0 })).toThrow(/^factors: /);
    expect(() => new Ials({ alpha: -1 })).toThrow(/^alpha: /);
    expect(() => new Ials({ lambda: 0 })).toThrow(/^lambda: /);
    expect(() => new Ials({ iterations: 1.5 })).toThrow(/^iterations: /);
    expect(() => new Ials().scoreAll(0)).toThrow(/^fit: /);
  });
});
