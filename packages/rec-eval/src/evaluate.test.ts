import { describe, expect, it } from "vitest";
import type { Recommender } from "./evaluate";
import { evaluate } from "./evaluate";
import { UserItemMatrix } from "./matrix";
import type { EvalSplit } from "./split";

function matrix(numUsers: number, numItems: number, rows: [number, number][]): UserItemMatrix {
  return UserItemMatrix.fromRatings({
    numUsers,
    numItems,
    users: Int32Array.from(rows, (r) => r[0]),
    items: Int32Array.from(rows, (r) => r[1]),
    values: new Float32Array(rows.length).fill(1),
    timestamps: new Float64Array(rows.length),
  });
}

/** Scores item i as numItems - i for everyone, so the ranking is 0, 1, 2, ... minus training items. */
class ByIndex implements Recommender {
  readonly name = "by-index";
  fitted: UserItemMatrix | undefined;
  private scores = new Float32Array(0);
  fit(train: UserItemMatrix): void {
    this.fitted = train;
    this.scores = Float32Array.from({ length: train.numItems }, (_, i) => train.numItems - i);
  }
  scoreAll(): Float32Array {
    return this.scores;
  }
}

describe("evaluate", () => {
  // User 0 trained on item 0, so its top 3 is [1, 2, 3]; its test items are 2 and 7.
  // User 1 trained on items 1 and 2: top 3 [0, 3, 4]; test item 0.
  // User 2 has no test items and is not evaluated.
  const split: EvalSplit = {
    protocol: "toy",
    train: matrix(3, 8, [
      [0, 0],
      [1, 1],
      [1, 2],
      [2, 5],
    ]),
    test: matrix(3, 8, [
      [0, 2],
      [0, 7],
      [1, 0],
    ]),
  };

  it("fits on train, excludes training items and averages over users with test items", async () => {
    const model = new ByIndex();
    const r = await evaluate(model, split, { k: 3 });
    expect(model.fitted).toBe(split.train);
    expect(r.users).toBe(2);
    expect(r.precision).toBeCloseTo((1 / 3 + 1 / 3) / 2, 12);
    expect(r.recall).toBeCloseTo((1 / 2 + 1) / 2, 12);
    // User 0: hit at rank 2 of 2 relevant; user 1: hit at rank 1.
    const ndcg0 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(r.ndcg).toBeCloseTo((ndcg0 + 1) / 2, 12);
    expect(r.map).toBeCloseTo((0.5 / 2 + 1) / 2, 12);
    expect(r.hitRate).toBe(1);
    expect(r.mrr).toBeCloseTo((0.5 + 1) / 2, 12);
    // Lists [1,2,3] and [0,3,4]: 5 of 8 items shown, item 3 twice.
    expect(r.coverage).toBeCloseTo(5 / 8, 12);
    expect(r.gini).toBeGreaterThan(0);
  });

  it("reports progress per evaluated user", async () => {
    const seen: [number, number][] = [];
    await evaluate(new ByIndex(), split, { k: 3, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });

  it("rejects a score vector of the wrong length", async () => {
    const broken: Recommender = { name: "broken", fit: () => undefined, scoreAll: () => new Float32Array(3) };
    await expect(evaluate(broken, split)).rejects.toThrow(/^scoreAll: broken returned 3 scores for 8 items/);
  });
});
