import { makeEvent, type AnyEvent } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { dcg, RecsOnlineEval } from "./recs";

const T0 = Date.UTC(2024, 4, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE = 60_000;

function served(requestId: string, userId: string, items: string[], rankerArm: "current" | "challenger", t: number, extra: { fallback?: "popularity" | null; latencyMs?: number } = {}): AnyEvent {
  return makeEvent(
    "recs.served",
    {
      requestId,
      userId,
      modelVersions: { retrieval: "tt@1", ranker: rankerArm === "current" ? "gbdt@1" : "gbdt@2" },
      fallback: extra.fallback ?? null,
      userFeatures: {},
      items: items.map((itemId, position) => ({ itemId, position, score: 1 - position / 10, features: {} })),
      arms: { retrieval: "current", ranker: rankerArm },
      latencyMs: extra.latencyMs ?? 10,
    },
    { producer: "test", eventTime: iso(t) },
  );
}

function click(requestId: string, userId: string, itemId: string, t: number): AnyEvent {
  return makeEvent("recs.click", { requestId, userId, itemId, position: 0 }, { producer: "test", eventTime: iso(t) });
}

function outcome(requestId: string, userId: string, relevance: Record<string, number>, t: number): AnyEvent {
  return makeEvent(
    "world.recs-outcome",
    {
      requestId,
      userId,
      modelVersions: { retrieval: "tt@1", ranker: "gbdt@1" },
      fallback: null,
      items: Object.entries(relevance).map(([itemId, r], position) => ({ itemId, position, relevance: r, examination: 1, examined: true, clicked: false })),
      idealDcg: null,
      drift: [],
    },
    { producer: "world", eventTime: iso(t) },
  );
}

function shadow(requestId: string, userId: string, scores: Record<string, [number, number]>, t: number): AnyEvent {
  return makeEvent(
    "ml.shadow-prediction",
    {
      model: "ranker-gbdt",
      requestId,
      entityId: userId,
      servingVersion: "gbdt@1",
      shadowVersion: "gbdt@2",
      shadowMs: 3,
      servingMs: 2,
      prediction: { kind: "ranking", items: Object.entries(scores).map(([itemId, [s, c]]) => ({ itemId, serving: s, shadow: c })) },
      error: null,
    },
    { producer: "ranker", eventTime: iso(t) },
  );
}

describe("recommendation arms from the log", () => {
  it("counts CTR per user by arm, only for clicks on served items inside the attribution window", () => {
    const e = new RecsOnlineEval({ stage: "ranker", model: "ranker-gbdt", attributionMs: 30 * MINUTE, truth: "clicks" });
    for (const ev of [
      served("r1", "u1", ["a", "b", "c", "d"], "current", T0),
      served("r2", "u2", ["a", "b"], "challenger", T0),
      served("r3", "u2", ["e", "f"], "challenger", T0 + 1, { fallback: "popularity" }),
      click("r1", "u1", "a", T0 + MINUTE),
      click("r1", "u1", "a", T0 + 2 * MINUTE), // a repeat click adds nothing
      click("r1", "u1", "z", T0 + 2 * MINUTE), // not served
      click("r1", "u9", "b", T0 + 2 * MINUTE), // another user
      click("r2", "u2", "b", T0 + MINUTE),
      click("r3", "u2", "e", T0 + 31 * MINUTE), // too late
    ])
      e.observe(ev);
    const v = e.view("split");
    expect(v.direction).toBe("higher-is-better");
    expect(v.current.summary).toMatchObject({ clicks: 1, impressions: 4, ctr: 0.25 });
    expect(v.challenger.summary).toMatchObject({ clicks: 1, impressions: 4, ctr: 0.25, fallbackRate: 0.5 });
    expect([v.current.units, v.challenger.units, v.challenger.requests]).toEqual([1, 1, 2]);
  });

  it("judges NDCG against the world's truth whichever arrives first, and in shadow re-orders the served items by the challenger", () => {
    const e = new RecsOnlineEval({ stage: "ranker", model: "ranker-gbdt", attributionMs: 30 * MINUTE, truth: "world" });
    // Served a, b, c; truth says c is the only relevant item; the challenger would have put c first.
    e.observe(shadow("r1", "u1", { a: [0.9, 0.1], b: [0.8, 0.2], c: [0.7, 0.9] }, T0));
    e.observe(served("r1", "u1", ["a", "b", "c"], "current", T0));
    e.observe(outcome("r1", "u1", { a: 0, b: 0, c: 1 }, T0 + 1));
    // The truth before the answer: held until the answer comes.
    e.observe(outcome("r2", "u2", { x: 1, y: 0 }, T0 + 2));
    e.observe(served("r2", "u2", ["x", "y"], "challenger", T0 + 3));

    const split = e.view("split");
    expect(split.current.summary.ndcg).toBeCloseTo(1 / Math.log2(4), 10);
    expect(split.challenger.summary.ndcg).toBe(1);

    const sh = e.view("shadow");
    expect(sh.current.primary.count).toBe(1);
    expect(sh.current.primary.mean).toBeCloseTo(0.5, 10);
    expect(sh.challenger.primary.mean).toBe(1);
    expect([sh.current.requests, sh.current.units]).toEqual([1, 1]);
  });

  it("in production (clicks as truth) judges an answer once its attribution window has closed", () => {
    const e = new RecsOnlineEval({ stage: "ranker", model: "ranker-gbdt", attributionMs: 30 * MINUTE, truth: "clicks" });
    e.observe(served("r1", "u1", ["a", "b"], "current", T0));
    e.observe(click("r1", "u1", "b", T0 + MINUTE));
    expect(e.view("split").current.summary.ndcg).toBeNull();
    // Any later event moves the log's clock past the window.
    e.observe(served("r2", "u2", ["a"], "current", T0 + 31 * MINUTE));
    expect(e.view("split").current.summary.ndcg).toBeCloseTo(1 / Math.log2(3), 10);
  });

  it("dcg discounts by 1 / log2(position + 2)", () => {
    expect(dcg(["a", "b"], new Map([["b", 3]]))).toBeCloseTo(3 / Math.log2(3), 12);
  });
});
