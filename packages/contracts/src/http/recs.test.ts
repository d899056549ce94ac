import { describe, expect, it } from "vitest";
import type { ZodError } from "zod";
import { CandidatesRequestSchema, ClickRequestSchema, RankRequestSchema, RecommendationsRequestSchema } from "./recs";

function fields(error: ZodError | undefined): string[] {
  // One field can fail several rules (an empty id is too short and off the pattern): name it once.
  return [...new Set((error?.issues ?? []).map((i) => (i.code === "unrecognized_keys" ? [...i.path, ...i.keys].join(".") : i.path.join("."))))];
}

describe("recs HTTP contracts", () => {
  const candidates = [
    { itemId: "i1", retrievalScore: 0.3 },
    { itemId: "i2", retrievalScore: -1.5 },
  ];

  it("accepts a rank request and fills k", () => {
    const parsed = RankRequestSchema.parse({ userId: "u1", candidates, context: { device: "mobile", hour: 23, time: "2024-01-01T10:00:00Z" } });
    expect(parsed.k).toBe(10);
    expect(parsed.candidates).toHaveLength(2);
  });

  it("names the field of every problem: unknown fields, types, bounds, duplicates", () => {
    const bad = RankRequestSchema.safeParse({
      userId: 7,
      candidates: [...candidates, { itemId: "i1", retrievalScore: "high" }, { itemId: "i3", retrievalScore: 1, position: 2 }],
      context: { device: "watch", hour: 24, locale: "en" },
      k: 101,
    });
    expect(bad.success).toBe(false);
    expect(fields(bad.error).sort()).toEqual(
      ["userId", "candidates.2.retrievalScore", "candidates.3.position", "context.device", "context.hour", "context.locale", "k"].sort(),
    );
    const dup = RankRequestSchema.safeParse({ userId: "u", candidates: [...candidates, { itemId: "i2", retrievalScore: 0 }] });
    expect(fields(dup.error)).toEqual(["candidates.2.itemId"]);
    expect(dup.error?.issues[0]?.message).toBe("duplicate id i2");
  });

  it("bounds candidates to 1..1000 and ids to safe strings", () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ itemId: `i${i}`, retrievalScore: 0 }));
    expect(fields(RankRequestSchema.safeParse({ userId: "u", candidates: many }).error)).toEqual(["candidates"]);
    expect(RankRequestSchema.safeParse({ userId: "u", candidates: many.slice(0, 1000) }).success).toBe(true);
    expect(fields(RankRequestSchema.safeParse({ userId: "u", candidates: [] }).error)).toEqual(["candidates"]);
    expect(fields(RankRequestSchema.safeParse({ userId: "a b", candidates }).error)).toEqual(["userId"]);
    expect(fields(RankRequestSchema.safeParse({ userId: "u", candidates: [{ itemId: "i", retrievalScore: Number.NaN }] }).error)).toEqual([
      "candidates.0.retrievalScore",
    ]);
  });

  it("validates candidates, recommendations and clicks", () => {
    expect(CandidatesRequestSchema.parse({ userId: "u" }).k).toBe(200);
    expect(CandidatesRequestSchema.safeParse({ userId: "u", k: 1000 }).success).toBe(true);
    expect(fields(CandidatesRequestSchema.safeParse({ userId: "u", k: 0, excludeItemIds: ["ok", ""] }).error).sort()).toEqual(["excludeItemIds.1", "k"]);
    expect(RecommendationsRequestSchema.parse({ userId: "u", context: { hour: 3 } }).k).toBe(10);
    expect(fields(RecommendationsRequestSchema.safeParse({ userId: "u", k: 500 }).error)).toEqual(["k"]);
    expect(ClickRequestSchema.safeParse({ requestId: "r1", userId: "u", itemId: "i", position: 0 }).success).toBe(true);
    expect(fields(ClickRequestSchema.safeParse({ requestId: "r1", userId: "u", itemId: "i", position: 1.5, time: "yesterday" }).error).sort()).toEqual([
      "position",
      "time",
    ]);
  });
});
