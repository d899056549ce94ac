import { describe, expect, it } from "vitest";
import { assembleRankerRows, rankerContext, rankerRowByName, RANKER_FEATURE_COUNT, type ItemProfile, type UserProfile } from "./recs/definitions";
import type { MemoryRecsFeatureStore} from "./recs/memory-store";
import { type RecsCatalogue } from "./recs/memory-store";
import { recsFeaturesAsOf, sessionEvents, type RecsSession } from "./recs/offline";
import type { RecsEvent } from "./recs/store";
import { recsTestHistory } from "./recs/test-fixtures";
import { compareRecsServedWithLog, RECS_SKEW_ITEM_FEATURES, RECS_SKEW_USER_FEATURES, type ServedRecsAnswer } from "./skew-recs";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 1, 1);

/** What the serving path would log for `userId` and `items` from `store`'s state at `timeMs`. */
function serve(store: MemoryRecsFeatureStore, requestId: string, userId: string, items: readonly string[], timeMs: number, device: number | null): ServedRecsAnswer {
  const user = store.userSync(userId);
  const scores = items.map((_, i) => 1 - i / 10);
  const rows = assembleRankerRows(user, items.map((id) => store.itemSync(id)), scores, rankerContext({ timeMs, device }));
  const userFeatures: Record<string, number> = { log_clicks: Math.log1p(user?.clicks ?? 0) };
  if (user?.profile?.homeCategory != null) userFeatures.home_category = user.profile.homeCategory;
  if (user?.profile?.ageBucket != null) userFeatures.age_bucket = user.profile.ageBucket;
  return { requestId, userId, timeMs, userFeatures, items: items.map((itemId, i) => ({ itemId, features: rankerRowByName(rows, i * RANKER_FEATURE_COUNT) })) };
}

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
  const events: RecsEvent[] = [
    { kind: "impression", eventId: "e1", userId: "u2", itemId: "a", position: 0, timeMs: T0 + HOUR },
    { kind: "click", eventId: "e2", userId: "u2", itemId: "a", position: 0, timeMs: T0 + 2 * HOUR },
    { kind: "impression", eventId: "e3", userId: "u2", itemId: "b", position: 1, timeMs: T0 + 3 * HOUR },
  ];
  const base = () => recsFeaturesAsOf([], T0, { catalogue });
  /** The online store after the first `applied` events, as the serving path saw it at 4 h. */
  const servedAfter = (applied: number) => {
    const online = base();
    for (const e of events.slice(0, applied)) online.applySync(e);
    return serve(online, "r1", "u1", ["a", "b"], T0 + 4 * HOUR, 1);
  };
  const byName = (result: ReturnType<typeof compareRecsServedWithLog>) => Object.fromEntries(result.features.map((f) => [f.feature, f]));

  it("finds no mismatch when every logged event before the answer was applied", () => {
    const result = compareRecsServedWithLog([servedAfter(3)], { state: base(), events });
    expect(result).toMatchObject({ answers: 1, rows: 2, answersWithMismatch: 0, answersWithUnexplained: 0, maxStalenessMs: 0 });
    expect(result.features.map((f) => f.feature)).toEqual([...RECS_SKEW_ITEM_FEATURES, ...RECS_SKEW_USER_FEATURES]);
    // 13 store features per item and the 3 user features of the answer.
    expect(RECS_SKEW_ITEM_FEATURES).toHaveLength(13);
    for (const f of result.features) expect([f.feature, f.compared, f.mismatches]).toEqual([f.feature, RECS_SKEW_USER_FEATURES.includes(f.feature as never) ? 1 : 2, 0]);
  });

  it("calls a value the stream had not caught up with stale, with its staleness, and unexplained beyond maxLagMs", () => {
    // The impression of b at 3 h had not reached the store: b's impressions, CTR and examined CTR are off.
    const served = servedAfter(2);
    const lagging = compareRecsServedWithLog([served], { state: base(), events, maxLagMs: 2 * HOUR });
    const f = byName(lagging);
    for (const name of ["item_log_impressions", "item_ctr", "item_examined_ctr"]) {
      expect(f[name]).toMatchObject({ compared: 2, mismatches: 1, mismatchRate: 0.5, stale: 1, unexplained: 0, maxStalenessMs: HOUR });
    }
    expect(f.item_log_impressions!.examples).toEqual([{ requestId: "r1", itemId: "b", served: 0, offline: Math.log1p(1), stalenessMs: HOUR, aheadMs: null }]);
    expect(lagging.features.reduce((s, x) => s + x.mismatches, 0)).toBe(3);
    expect(lagging).toMatchObject({ answersWithMismatch: 1, answersWithUnexplained: 0, maxStalenessMs: HOUR });

    // Looking back only 30 minutes, nothing explains them.
    const strict = compareRecsServedWithLog([served], { state: base(), events, maxLagMs: 0.5 * HOUR });
    expect(byName(strict).item_ctr).toMatchObject({ mismatches: 1, stale: 0, unexplained: 1, unexplainedRate: 0.5 });
    expect(strict).toMatchObject({ answersWithMismatch: 1, answersWithUnexplained: 1, maxStalenessMs: 0 });
  });

  it("calls a value holding an event later than the answer ahead, with its lead", () => {
    // Another answer's impression of b at 5 h reached the store before this answer (at 4 h) read it.
    const later: RecsEvent = { kind: "impression", eventId: "e4", userId: "u2", itemId: "b", position: 0, timeMs: T0 + 5 * HOUR };
    const online = base();
    for (const e of [...events, later]) online.applySync(e);
    const served = serve(online, "r1", "u1", ["a", "b"], T0 + 4 * HOUR, 1);
    const all = [...events, later];
    const f = byName(compareRecsServedWithLog([served], { state: base(), events: all, maxLagMs: 2 * HOUR }));
    for (const name of ["item_log_impressions", "item_ctr", "item_examined_ctr"]) expect(f[name]).toMatchObject({ mismatches: 1, stale: 0, ahead: 1, unexplained: 0, maxAheadMs: HOUR });
    expect(byName(compareRecsServedWithLog([served], { state: base(), events: all, maxLagMs: 0.5 * HOUR })).item_ctr).toMatchObject({ ahead: 0, unexplained: 1 });
  });

  it("never explains a value no state of the log had (a bug), however far back it looks", () => {
    const served = servedAfter(3);
    const a = served.items[0]!;
    const tampered: ServedRecsAnswer = { ...served, userFeatures: { ...served.userFeatures, log_clicks: 1 }, items: [{ ...a, features: { ...a.features, item_category: 7 } }, served.items[1]!] };
    const result = compareRecsServedWithLog([tampered], { state: base(), events, maxLagMs: 24 * HOUR });
    const f = byName(result);
    expect(f.item_category).toMatchObject({ mismatches: 1, stale: 0, unexplained: 1, meanAbsDiff: 3 });
    expect(f.log_clicks).toMatchObject({ compared: 1, mismatches: 1, unexplained: 1, meanAbsDiff: 1 });
    expect(result.answersWithUnexplained).toBe(1);
  });

  it("excludes the answer's own events and later ones (point in time)", () => {
    // u2's answer at 3 h: its own impression of b (at 3 h) is not in its features, the click at 2 h is.
    const online = base();
    online.applySync(events[0]!);
    online.applySync(events[1]!);
    const served = serve(online, "r2", "u2", ["b"], T0 + 3 * HOUR, 0);
    const result = compareRecsServedWithLog([served], { state: base(), events });
    expect(result.answersWithMismatch).toBe(0);
    expect(served.userFeatures.log_clicks).toBeCloseTo(Math.log(2), 12);
  });
});

describe("compareRecsServedWithLog: a replayed history", () => {
  const history = recsTestHistory(11, { sessions: 400 });
  const split = 300;
  const before = history.sessions.slice(0, split);
  const logged = history.sessions.slice(split);
  const start = (logged[0] as RecsSession).timeMs;
  const base = () => recsFeaturesAsOf(before, start, { catalogue: history.catalogue });
  const events = logged.flatMap(sessionEvents);

  /** The serving path over the logged sessions, applying each session's events `delay` sessions late. */
  function servedWith(delay: number): ServedRecsAnswer[] {
    const online = base();
    const out: ServedRecsAnswer[] = [];
    logged.forEach((s, k) => {
      // Before session k the store holds sessions 0 .. k - 1 - delay.
      if (k - 1 - delay >= 0) for (const e of sessionEvents(logged[k - 1 - delay] as RecsSession)) online.applySync(e);
      out.push(serve(online, s.sessionId, s.userId, s.items, s.timeMs, s.device));
    });
    return out;
  }

  it("matches a synchronous serving path on every feature of 100 answers", () => {
    const result = compareRecsServedWithLog(servedWith(0), { state: base(), events });
    expect(result).toMatchObject({ answers: 100, rows: 800, answersWithMismatch: 0 });
    expect(result.features.every((f) => f.compared === (RECS_SKEW_USER_FEATURES.includes(f.feature as never) ? 100 : 800) && f.mismatches === 0)).toBe(true);
  });

  it("attributes every mismatch of a path one session late to the lag, and bounds the staleness by it", () => {
    const served = servedWith(1);
    const gaps = logged.slice(1).map((s, k) => s.timeMs - (logged[k] as RecsSession).timeMs);
    const lagging = compareRecsServedWithLog(served, { state: base(), events, maxLagMs: Math.max(...gaps) });
    const mismatches = lagging.features.reduce((s, f) => s + f.mismatches, 0);
    expect(mismatches).toBeGreaterThan(50);
    // Every answer but the first (nothing was late before it).
    expect(lagging.answersWithMismatch).toBe(99);
    expect(lagging.features.reduce((s, f) => s + f.unexplained, 0)).toBe(0);
    expect(lagging.maxStalenessMs).toBeGreaterThan(0);
    expect(lagging.maxStalenessMs).toBeLessThanOrEqual(Math.max(...gaps));
    // Profiles do not move: the lag never touches them.
    for (const name of ["item_category", "item_age_days", "user_days_since_signup", "home_category", "age_bucket"]) expect(lagging.features.find((f) => f.feature === name)!.mismatches).toBe(0);
    // Without looking back, the same mismatches are all unexplained.
    const strict = compareRecsServedWithLog(served, { state: base(), events });
    expect(strict.features.reduce((s, f) => s + f.unexplained, 0)).toBe(mismatches);
  });
});
