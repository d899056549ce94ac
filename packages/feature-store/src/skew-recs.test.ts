import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { assembleRankerRows, parseAppliedOffsets, rankerContext, rankerRowByName, recsStreamId, RANKER_FEATURE_COUNT, type ItemProfile, type UserProfile } from "./recs/definitions";
import { MemoryRecsFeatureStore, type RecsCatalogue } from "./recs/memory-store";
import { recsFeaturesAsOf, sessionEvents, type RecsSession } from "./recs/offline";
import type { RecsEvent } from "./recs/store";
import { recsTestHistory, withLogPositions } from "./recs/test-fixtures";
import { compareRecsServedWithLog, RECS_SKEW_ITEM_FEATURES, RECS_SKEW_USER_FEATURES, type ServedRecsAnswer } from "./skew-recs";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 1, 1);

/** What the serving path logs for `userId` and `items` read from `store`: the rows, and the offsets each state had applied. */
function serve(store: MemoryRecsFeatureStore, requestId: string, userId: string, items: readonly string[], timeMs: number, device: number | null): ServedRecsAnswer {
  const user = store.userSync(userId);
  const states = items.map((id) => store.itemSync(id));
  const scores = items.map((_, i) => 1 - i / 10);
  const rows = assembleRankerRows(user, states, scores, rankerContext({ timeMs, device }));
  const userFeatures: Record<string, number> = { log_clicks: Math.log1p(user?.clicks ?? 0) };
  if (user?.profile?.homeCategory != null) userFeatures.home_category = user.profile.homeCategory;
  if (user?.profile?.ageBucket != null) userFeatures.age_bucket = user.profile.ageBucket;
  const userApplied = parseAppliedOffsets(user?.applied);
  return {
    requestId,
    userId,
    timeMs,
    userFeatures,
    userApplied,
    rowsUserApplied: userApplied,
    items: items.map((itemId, i) => ({ itemId, features: rankerRowByName(rows, i * RANKER_FEATURE_COUNT), applied: parseAppliedOffsets(states[i]?.applied) })),
  };
}

const mismatches = (result: ReturnType<typeof compareRecsServedWithLog>) => result.features.reduce((s, f) => s + f.mismatches, 0);

describe("compareRecsServedWithLog: a hand-made log", () => {
  const users = new Map<string, UserProfile>([
    ["u1", { signupMs: T0 - 10 * 24 * HOUR, homeCategory: 1, ageBucket: 2 }],
    ["u2", { signupMs: T0 - 3 * 24 * HOUR, homeCategory: 2, ageBucket: null }],
  ]);
  const items = new Map<string, ItemProfile>([
    ["a", { category: 1, tags: [1, 2], releaseMs: T0 - 5 * 24 * HOUR }],
    ["b", { category: 2, tags: [3], releaseMs: T0 - 24 * HOUR }],
  ]);
  const catalogue: RecsCatalogue = { user: (id) => users.get(id) ?? null, item: (id) => items.get(id) ?? null };
  // u2's events on partition 1 of each topic.
  const events: RecsEvent[] = [
    { kind: "impression", eventId: "e1", userId: "u2", itemId: "a", position: 0, timeMs: T0 + HOUR, source: { partition: 1, offset: 0 } },
    { kind: "click", eventId: "e2", userId: "u2", itemId: "a", position: 0, timeMs: T0 + 2 * HOUR, source: { partition: 1, offset: 0 } },
    { kind: "impression", eventId: "e3", userId: "u2", itemId: "b", position: 1, timeMs: T0 + 3 * HOUR, source: { partition: 1, offset: 1 } },
  ];
  const base = () => recsFeaturesAsOf([], T0, { catalogue });
  /** The online store after the first `applied` events, as u1's answer at 4 h read it. */
  const servedAfter = (applied: number) => {
    const online = base();
    for (const e of events.slice(0, applied)) online.applySync(e);
    return serve(online, "r1", "u1", ["a", "b"], T0 + 4 * HOUR, 1);
  };
  const byName = (result: ReturnType<typeof compareRecsServedWithLog>) => Object.fromEntries(result.features.map((f) => [f.feature, f]));

  it("compares every store feature of every row and the answer's user features", () => {
    const served = servedAfter(3);
    expect(served.items.map((i) => i.applied)).toEqual([{ i1: 0, c1: 0 }, { i1: 1 }]);
    const result = compareRecsServedWithLog([served], { state: base(), events });
    expect(result).toMatchObject({ answers: 1, withoutOffsets: 0, rows: 2, answersWithMismatch: 0, answersWithLogGap: 0, eventsWithoutSource: 0 });
    expect(result.features.map((f) => f.feature)).toEqual([...RECS_SKEW_ITEM_FEATURES, ...RECS_SKEW_USER_FEATURES]);
    // 13 store features per item and the 3 user features of the answer.
    expect(RECS_SKEW_ITEM_FEATURES).toHaveLength(13);
    for (const f of result.features) expect([f.feature, f.compared, f.mismatches]).toEqual([f.feature, RECS_SKEW_USER_FEATURES.includes(f.feature as never) ? 1 : 2, 0]);
  });

  it("replays exactly what a lagging store had applied: no mismatch, where the answer's time would give three", () => {
    // The impression of b at 3 h had not reached the store; the offsets b's state was read with say so.
    const served = servedAfter(2);
    expect(served.items[1]!.applied).toEqual({});
    expect(mismatches(compareRecsServedWithLog([served], { state: base(), events }))).toBe(0);
    // Served as if the impression had been applied: b's impressions, CTR and examined CTR differ from that replay.
    const wrong: ServedRecsAnswer = { ...served, items: [served.items[0]!, { ...served.items[1]!, applied: { i1: 1 } }] };
    const f = byName(compareRecsServedWithLog([wrong], { state: base(), events }));
    for (const name of ["item_log_impressions", "item_ctr", "item_examined_ctr"]) expect(f[name]).toMatchObject({ compared: 2, mismatches: 1, mismatchRate: 0.5 });
    expect(f.item_log_impressions!.examples).toEqual([{ requestId: "r1", itemId: "b", served: 0, offline: Math.log1p(1) }]);
  });

  it("replays a state holding an event later than the answer (another answer's, applied first)", () => {
    const later: RecsEvent = { kind: "impression", eventId: "e4", userId: "u2", itemId: "b", position: 0, timeMs: T0 + 5 * HOUR, source: { partition: 1, offset: 2 } };
    const online = base();
    for (const e of [...events, later]) online.applySync(e);
    const served = serve(online, "r1", "u1", ["a", "b"], T0 + 4 * HOUR, 1);
    const result = compareRecsServedWithLog([served], { state: base(), events: [...events, later] });
    expect([result.answersWithMismatch, mismatches(result)]).toEqual([0, 0]);
  });

  it("finds a value no replay gives (a bug) and an event the stream applied twice", () => {
    const served = servedAfter(3);
    const a = served.items[0]!;
    const tampered: ServedRecsAnswer = { ...served, userFeatures: { ...served.userFeatures, log_clicks: 1 }, items: [{ ...a, features: { ...a.features, item_category: 7 } }, served.items[1]!] };
    const f = byName(compareRecsServedWithLog([tampered], { state: base(), events }));
    expect(f.item_category).toMatchObject({ mismatches: 1, meanAbsDiff: 3 });
    expect(f.log_clicks).toMatchObject({ compared: 1, mismatches: 1, meanAbsDiff: 1 });

    // u2's click applied twice under two ids: the offsets are the same, the counters are not.
    const online = base();
    for (const e of events) online.applySync(e);
    online.applySync({ ...events[1]!, eventId: "e2-again", source: undefined });
    const doubled = compareRecsServedWithLog([serve(online, "r2", "u2", ["a"], T0 + 4 * HOUR, 0)], { state: base(), events });
    expect(byName(doubled).log_clicks).toMatchObject({ mismatches: 1 });
    expect(byName(doubled).item_log_clicks).toMatchObject({ mismatches: 1 });
    expect(doubled.answersWithLogGap).toBe(0);
  });

  it("replays a stream that received a second copy of an event (a producer's retry) exactly, from the copy the log keeps", () => {
    // The stream deduplicates by event id (the offline base state does not need to).
    const online = new MemoryRecsFeatureStore({ catalogue });
    for (const e of events) online.applySync(e);
    // The retry of e3 at offset 2: the store skips it by its id and keeps b's offset at the first copy's.
    online.applySync({ ...events[2]!, source: { partition: 1, offset: 2 } });
    const served = serve(online, "r1", "u1", ["a", "b"], T0 + 4 * HOUR, 1);
    expect(served.items[1]!.applied).toEqual({ i1: 1 });
    const result = compareRecsServedWithLog([served], { state: base(), events });
    expect([result.answersWithMismatch, result.answersWithLogGap]).toEqual([0, 0]);
  });

  it("reports a log that misses an event the stream applied as a log gap", () => {
    const result = compareRecsServedWithLog([servedAfter(3)], { state: base(), events: events.slice(0, 2) });
    expect(result.answersWithLogGap).toBe(1);
    expect(byName(result).item_log_impressions).toMatchObject({ mismatches: 1 });
  });

  it("leaves out answers logged without offsets, and counts logged events without a position", () => {
    const { userApplied: _u, rowsUserApplied: _r, ...old } = servedAfter(3);
    const result = compareRecsServedWithLog([old], { state: base(), events: [...events, { ...events[0]!, eventId: "e0", source: undefined }] });
    expect(result).toMatchObject({ answers: 0, withoutOffsets: 1, rows: 0, eventsWithoutSource: 1 });
  });
});

describe("compareRecsServedWithLog: a replayed history, streams applied out of step", () => {
  const history = recsTestHistory(11, { sessions: 400 });
  const split = 300;
  const before = history.sessions.slice(0, split);
  const logged = history.sessions.slice(split);
  const start = (logged[0] as RecsSession).timeMs;
  const base = () => recsFeaturesAsOf(before, start, { catalogue: history.catalogue });
  // Three partitions per topic: six streams, each applied in its own order, none in step with the others.
  const events = withLogPositions(logged.flatMap(sessionEvents), 3);

  /**
   * Before each answer, each stream applies a random number of its next events (up to three
   * sessions' worth, possibly past the answer's time): stale, ahead and cross-stream orders at once.
   */
  function servedOutOfStep(seed: number): { served: ServedRecsAnswer[]; differsFromAnswerTime: number } {
    const rng = new Rng(seed);
    const online = base();
    const pointInTime = base();
    const streams = new Map<string, RecsEvent[]>();
    for (const e of events) {
      const id = recsStreamId(e.kind, e.source!.partition);
      streams.set(id, [...(streams.get(id) ?? []), e]);
    }
    const cursor = new Map<string, number>([...streams.keys()].map((id) => [id, 0]));
    let inTime = 0;
    let differsFromAnswerTime = 0;
    const served = logged.map((s) => {
      for (const [id, list] of streams) {
        const upTo = Math.min(list.length, (cursor.get(id) as number) + rng.int(3 * 8));
        for (let k = cursor.get(id) as number; k < upTo; k++) online.applySync(list[k] as RecsEvent);
        cursor.set(id, upTo);
      }
      while (inTime < events.length && (events[inTime] as RecsEvent).timeMs < s.timeMs) pointInTime.applySync(events[inTime++] as RecsEvent);
      const answer = serve(online, s.sessionId, s.userId, s.items, s.timeMs, s.device);
      const atTime = serve(pointInTime, s.sessionId, s.userId, s.items, s.timeMs, s.device);
      if (JSON.stringify(answer.items.map((i) => i.features)) !== JSON.stringify(atTime.items.map((i) => i.features))) differsFromAnswerTime++;
      return answer;
    });
    return { served, differsFromAnswerTime };
  }

  it("matches every feature of 100 answers exactly, where the answers' own times would not", () => {
    const { served, differsFromAnswerTime } = servedOutOfStep(5);
    // Most answers were served from a state no point in time of the log passed through.
    expect(differsFromAnswerTime).toBeGreaterThan(50);
    const result = compareRecsServedWithLog(served, { state: base(), events });
    expect(result).toMatchObject({ answers: 100, rows: 800, answersWithMismatch: 0, answersWithLogGap: 0 });
    expect(result.features.every((f) => f.compared === (RECS_SKEW_USER_FEATURES.includes(f.feature as never) ? 100 : 800) && f.mismatches === 0)).toBe(true);
  });

  it("finds the one answer whose user read lost a click", () => {
    const { served } = servedOutOfStep(6);
    const k = served.findIndex((a) => (a.userApplied?.[recsStreamId("click", 0)] ?? -1) >= 0 && (a.userFeatures.log_clicks as number) > 0);
    expect(k).toBeGreaterThanOrEqual(0);
    const answer = served[k]!;
    const broken = served.map((a, i) => (i === k ? { ...a, userFeatures: { ...a.userFeatures, log_clicks: Math.log1p(Math.expm1(answer.userFeatures.log_clicks as number) - 1) } } : a));
    const result = compareRecsServedWithLog(broken, { state: base(), events });
    expect(result.answersWithMismatch).toBe(1);
    expect(result.features.find((f) => f.feature === "log_clicks")).toMatchObject({ mismatches: 1 });
  });
});
