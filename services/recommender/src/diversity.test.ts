import { describe, expect, it } from "vitest";
import { capPerCategory, categoryCount } from "./diversity";
import { blendPopularity } from "./recommend";
import { buildPopularityLists } from "@mlsd/model-formats/popularity";

const item = (itemId: string, category: number | null, score = 0) => ({ itemId, category, score });

describe("capPerCategory", () => {
  it("keeps the ranked order but at most M per category, filling from the held-back items", () => {
    const ranked = [item("a1", 1), item("a2", 1), item("a3", 1), item("b1", 2), item("a4", 1), item("c1", 3), item("n1", null)];
    expect(capPerCategory(ranked, 5, 2).map((i) => i.itemId)).toEqual(["a1", "a2", "b1", "c1", "n1"]);
    expect(capPerCategory(ranked, 6, 2).map((i) => i.itemId)).toEqual(["a1", "a2", "b1", "c1", "n1", "a3"]);
    expect(capPerCategory(ranked.slice(0, 4), 4, 1).map((i) => i.itemId)).toEqual(["a1", "b1", "a2", "a3"]);
    expect(categoryCount(capPerCategory(ranked, 4, 1))).toBe(4);
  });
});

describe("popularity lists and the cold-start blend", () => {
  const lists = buildPopularityLists({
    scores: [10, 8, 6, 5, 4, 0, 2],
    categories: [0, 0, 1, 1, -1, 1, 1],
    itemId: (i) => `i${i}`,
    description: "test",
    overallSize: 4,
    perCategorySize: 2,
  });
  const popularity = { version: "p1", lists };

  it("ranks overall and per category by score, leaving out items without a score", () => {
    expect(lists.overall.map((i) => i.itemId)).toEqual(["i0", "i1", "i2", "i3"]);
    expect(lists.byCategory["1"]!.map((i) => i.itemId)).toEqual(["i2", "i3"]);
    expect(lists.byCategory["0"]!.map((i) => i.category)).toEqual([0, 0]);
    expect(Object.keys(lists.byCategory).sort()).toEqual(["0", "1"]);
  });

  it("blends the category's list with the overall list by weight", () => {
    // Category 1 with weight 0.7: i2 = 0.7 * 6/6 + 0.3 * 6/10, i0 = 0.3.
    const blended = blendPopularity(popularity, 1, 0.7);
    expect(blended.map((i) => i.itemId)).toEqual(["i2", "i3", "i0", "i1"]);
    expect(blended[0]!.score).toBeCloseTo(0.7 + 0.18, 10);
    expect(blended[2]!.score).toBeCloseTo(0.3, 10);
    // Unknown or empty category: the overall list as it is.
    expect(blendPopularity(popularity, null, 0.7).map((i) => i.itemId)).toEqual(["i0", "i1", "i2", "i3"]);
    expect(blendPopularity(popularity, 9, 0.7).map((i) => i.itemId)).toEqual(["i0", "i1", "i2", "i3"]);
  });
});
