import { describe, expect, it } from "vitest";
import { ResultCache } from "./result-cache";

const answer = (id: string) => ({ items: [{ itemId: id, position: 0, score: 1, category: null }], modelVersions: { ranker: "r@1" }, arms: { ranker: "current" } });

describe("the per-user result cache", () => {
  it("replays an answer younger than its TTL, then drops it as stale", () => {
    const cache = new ResultCache(1_000, 10);
    const key = ResultCache.key({ userId: "u1", k: 10 });
    expect(cache.get(key, 0)).toBeNull();
    cache.set(key, 0, answer("i1"));
    expect(cache.get(key, 999)).toEqual({ answer: answer("i1") });
    expect(cache.get(key, 1_000)).toBe("stale");
    expect(cache.get(key, 1_001)).toBeNull();
    // A clock that went back does not serve an answer from its future.
    cache.set(key, 5_000, answer("i2"));
    expect(cache.get(key, 4_000)).toBe("stale");
  });

  it("keys by user and everything that shapes the answer, not by the request's time", () => {
    const key = (r: Parameters<typeof ResultCache.key>[0]) => ResultCache.key(r);
    expect(key({ userId: "u1", k: 10, context: { time: "2024-01-01T00:00:00Z" } })).toBe(key({ userId: "u1", k: 10, context: { time: "2024-01-02T00:00:00Z" } }));
    expect(key({ userId: "u1", k: 10, excludeItemIds: ["b", "a"] })).toBe(key({ userId: "u1", k: 10, excludeItemIds: ["a", "b"] }));
    const different = [key({ userId: "u2", k: 10 }), key({ userId: "u1", k: 5 }), key({ userId: "u1", k: 10, context: { device: "mobile" } }), key({ userId: "u1", k: 10, context: { hour: 3 } }), key({ userId: "u1", k: 10, context: { category: 2 } }), key({ userId: "u1", k: 10, excludeItemIds: ["a"] })];
    expect(new Set([key({ userId: "u1", k: 10 }), ...different]).size).toBe(7);
  });

  it("holds at most maxEntries, dropping the oldest, and refuses a TTL or a size that is not positive", () => {
    const cache = new ResultCache(1_000, 2);
    for (const u of ["a", "b", "c"]) cache.set(ResultCache.key({ userId: u, k: 10 }), 0, answer(u));
    expect(cache.size).toBe(2);
    expect(cache.get(ResultCache.key({ userId: "a", k: 10 }), 1)).toBeNull();
    expect(cache.get(ResultCache.key({ userId: "c", k: 10 }), 1)).not.toBeNull();
    expect(() => new ResultCache(0, 10)).toThrow(/ttlMs/);
    expect(() => new ResultCache(10, 0)).toThrow(/maxEntries/);
  });
});
