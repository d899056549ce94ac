import { assembleRankerRow, DEFAULT_RECS_FEATURE_CONFIG, prepareUser, RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, type RankerContext, type RecsFeatureConfig } from "./recs/definitions";
import type { MemoryRecsFeatureStore } from "./recs/memory-store";
import type { RecsEvent } from "./recs/store";
import { sameValue } from "./skew";

/**
 * Training-serving skew of the recommender: the ranker rows an answer was served with (logged in
 * `recs.served`), compared feature by feature with the rows the offline path computes from the
 * event log at the answer's time (the state the log continues from, then every logged impression
 * and click before the answer, replayed through the same definitions the trainer uses).
 *
 * The online counters are updated by a stream (the feature streamer), so a served value can lag
 * the log by the stream's delay, and under concurrency it can also hold events *later* than the
 * answer (another answer, stamped after this one, was applied before this one read the store).
 * With `maxLagMs` a mismatching value is looked for in the states the log passed through within
 * `maxLagMs` of the answer: found before it, the value is *stale* (the staleness says by how much
 * event time); found after it, it is *ahead* (the store had applied an event that much later than
 * the answer); found in neither, it is *unexplained* (a bug, a lost or doubled event, a clock, or
 * events applied out of their order on both sides of the answer at once).
 */

/** What the comparison needs of one logged answer the ranker scored. */
export interface ServedRecsAnswer {
  requestId: string;
  userId: string;
  /** The answer's time: the ranker's context time (item age, days since signup). */
  timeMs: number;
  /** What the recommender read of the user (`log_clicks`, `home_category`, `age_bucket`); a missing key is a null. */
  userFeatures: Readonly<Record<string, number | null>>;
  /** The items shown, each with the ranker row it was scored with, by feature name. */
  items: readonly { itemId: string; features: Readonly<Record<string, number | null>> }[];
}

/**
 * The ranker's row minus what the store does not hold: the retrieval score (a model's output) and
 * the request's context (hour, device), which the offline rows take from the served row.
 */
export const RECS_SKEW_ITEM_FEATURES: readonly string[] = RANKER_FEATURE_NAMES.filter((n) => n !== "retrieval_score" && !n.startsWith("context_"));
/** The user features the recommender logs with the answer (it sends them to retrieval). */
export const RECS_SKEW_USER_FEATURES = ["log_clicks", "home_category", "age_bucket"] as const;

export interface RecsFeatureSkew {
  feature: string;
  compared: number;
  /** Served value != the offline value at the answer's time. */
  mismatches: number;
  mismatchRate: number;
  /** Mismatches whose served value the log had in the `maxLagMs` before the answer: the stream's lag. */
  stale: number;
  /** Mismatches whose served value the log had only in the `maxLagMs` after the answer: a later event already applied. */
  ahead: number;
  /** Mismatches nothing within `maxLagMs` explains. */
  unexplained: number;
  unexplainedRate: number;
  servedMissing: number;
  offlineMissing: number;
  /** Mean |served - offline| over the pairs where both are numbers. */
  meanAbsDiff: number;
  /** The largest staleness among the stale values: answer time minus the time of the first event the served state lacked. */
  maxStalenessMs: number;
  /** The largest lead among the values ahead: the time of the latest event the served state held minus the answer's time. */
  maxAheadMs: number;
  examples: { requestId: string; itemId: string | null; served: number | null; offline: number | null; stalenessMs: number | null; aheadMs: number | null }[];
}

export interface RecsSkewComparison {
  answers: number;
  /** Item rows compared (one per item shown). */
  rows: number;
  answersWithMismatch: number;
  answersWithUnexplained: number;
  /** Over every feature: the largest staleness a stale value implied (0 when none was stale). */
  maxStalenessMs: number;
  maxAheadMs: number;
  features: RecsFeatureSkew[];
}

export interface RecsSkewOptions {
  /**
   * The offline state the log continues from (what materialisation wrote at the log's start). It
   * is advanced by the replay: pass a fresh one (`recsFeaturesAsOf(history, start)`), with
   * deduplication off, as the offline store already holds each event once.
   */
  state: MemoryRecsFeatureStore;
  /** Logged impressions and clicks, any order (sorted here by event time; ties keep their order). */
  events: readonly RecsEvent[];
  config?: RecsFeatureConfig;
  /** Relative tolerance for two numbers to count as equal. Default 1e-9. */
  tolerance?: number;
  /** How far before and after the answer (event time) a mismatching served value is looked for. Default 0. */
  maxLagMs?: number;
}

const ITEM_INDEX = RECS_SKEW_ITEM_FEATURES.map((name) => RANKER_FEATURE_NAMES.indexOf(name as (typeof RANKER_FEATURE_NAMES)[number]));

interface Cell {
  feature: number;
  itemId: string | null;
  served: number | null;
}

interface Pending {
  answer: ServedRecsAnswer;
  items: Set<string>;
  cells: Cell[];
  retrievalScores: number[];
  context: RankerContext;
  /** Offline value of each cell in the latest state evaluated. */
  offline: (number | null)[];
  /** Whether some state in the window matched each cell, and the time of the first event after the latest one that did. */
  everMatched: boolean[];
  lostAt: (number | null)[];
  /** Set once the log passes the answer's time: the point-in-time values and each mismatch's staleness. */
  pit: (number | null)[] | null;
  staleness: (number | null)[];
  /** After the answer's time: the lead at which a mismatching cell first matched. */
  ahead: (number | null)[];
}

/** Served value of a named feature: a missing key or a non-finite number is a null. */
function servedValue(features: Readonly<Record<string, number | null>>, name: string): number | null {
  const v = features[name];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function compareRecsServedWithLog(served: readonly ServedRecsAnswer[], options: RecsSkewOptions): RecsSkewComparison {
  const config = options.config ?? DEFAULT_RECS_FEATURE_CONFIG;
  const tolerance = options.tolerance ?? 1e-9;
  const maxLag = options.maxLagMs ?? 0;
  if (!(maxLag >= 0)) throw new RangeError(`maxLagMs: must be >= 0, got ${maxLag}`);
  const store = options.state;
  const names = [...RECS_SKEW_ITEM_FEATURES, ...RECS_SKEW_USER_FEATURES];
  const userBase = RECS_SKEW_ITEM_FEATURES.length;
  const stats = names.map((feature) => ({ feature, compared: 0, mismatches: 0, stale: 0, ahead: 0, servedMissing: 0, offlineMissing: 0, absDiff: 0, numeric: 0, maxStalenessMs: 0, maxAheadMs: 0, examples: [] as RecsFeatureSkew["examples"] }));
  const answers = served.filter((a) => a.items.length > 0).sort((a, b) => a.timeMs - b.timeMs);
  const events = [...options.events].sort((a, b) => a.timeMs - b.timeMs);
  const row = new Float64Array(RANKER_FEATURE_COUNT);

  const evaluate = (p: Pending) => {
    const userState = store.userSync(p.answer.userId);
    const user = prepareUser(userState);
    const values: (number | null)[] = [];
    p.answer.items.forEach((item, i) => {
      assembleRankerRow(user, store.itemSync(item.itemId), p.retrievalScores[i] as number, p.context, config, row);
      for (const j of ITEM_INDEX) values.push(Number.isNaN(row[j] as number) ? null : (row[j] as number));
    });
    const profile = userState?.profile ?? null;
    values.push(Math.log1p(userState?.clicks ?? 0), profile?.homeCategory ?? null, profile?.ageBucket ?? null);
    return values;
  };
  /** Re-evaluates after an event at `eventMs` changed the state (or at the window's opening, eventMs null). */
  const observe = (p: Pending, eventMs: number | null) => {
    const values = evaluate(p);
    p.cells.forEach((cell, c) => {
      const matches = sameValue(cell.served, values[c] ?? null, tolerance);
      if (p.pit) {
        if (matches && eventMs !== null && p.ahead[c] === null && !sameValue(cell.served, p.pit[c] ?? null, tolerance) && p.staleness[c] === null) p.ahead[c] = eventMs - p.answer.timeMs;
        return;
      }
      if (matches) {
        p.everMatched[c] = true;
        p.lostAt[c] = null;
      } else if (p.everMatched[c] && p.lostAt[c] === null && eventMs !== null) {
        p.lostAt[c] = eventMs;
      }
    });
    p.offline = values;
  };
  const open = (answer: ServedRecsAnswer): Pending => {
    const first = answer.items[0]?.features ?? {};
    const hour = servedValue(first, "context_hour");
    const device = servedValue(first, "context_device");
    const cells: Cell[] = [];
    answer.items.forEach((item) => RECS_SKEW_ITEM_FEATURES.forEach((name, f) => cells.push({ feature: f, itemId: item.itemId, served: servedValue(item.features, name) })));
    RECS_SKEW_USER_FEATURES.forEach((name, f) => cells.push({ feature: userBase + f, itemId: null, served: servedValue(answer.userFeatures, name) }));
    const p: Pending = {
      answer,
      items: new Set(answer.items.map((i) => i.itemId)),
      cells,
      retrievalScores: answer.items.map((i) => servedValue(i.features, "retrieval_score") ?? Number.NaN),
      context: { timeMs: answer.timeMs, hour: hour ?? new Date(answer.timeMs).getUTCHours(), device },
      offline: [],
      everMatched: cells.map(() => false),
      lostAt: cells.map(() => null),
      pit: null,
      staleness: cells.map(() => null),
      ahead: cells.map(() => null),
    };
    observe(p, null);
    return p;
  };

  /** The log reached the answer's time: what the answer should have seen, and how stale a mismatch is. */
  const reachTime = (p: Pending) => {
    p.pit = [...p.offline];
    p.cells.forEach((_, c) => {
      const lostAt = p.everMatched[c] ? p.lostAt[c] : null;
      if (lostAt !== null && lostAt !== undefined) p.staleness[c] = p.answer.timeMs - lostAt;
    });
  };

  let answersWithMismatch = 0;
  let answersWithUnexplained = 0;
  let rows = 0;
  const close = (p: Pending) => {
    let any = false;
    let unexplainedAny = false;
    rows += p.answer.items.length;
    const pit = p.pit as (number | null)[];
    p.cells.forEach((cell, c) => {
      const s = stats[cell.feature] as (typeof stats)[number];
      const offline = pit[c] ?? null;
      s.compared++;
      if (cell.served === null && offline !== null) s.servedMissing++;
      if (offline === null && cell.served !== null) s.offlineMissing++;
      if (cell.served !== null && offline !== null) {
        s.absDiff += Math.abs(cell.served - offline);
        s.numeric++;
      }
      if (sameValue(cell.served, offline, tolerance)) return;
      any = true;
      s.mismatches++;
      const stalenessMs = p.staleness[c] ?? null;
      const aheadMs = stalenessMs === null ? (p.ahead[c] ?? null) : null;
      if (stalenessMs !== null) {
        s.stale++;
        s.maxStalenessMs = Math.max(s.maxStalenessMs, stalenessMs);
      } else if (aheadMs !== null) {
        s.ahead++;
        s.maxAheadMs = Math.max(s.maxAheadMs, aheadMs);
      } else {
        unexplainedAny = true;
      }
      if (s.examples.length < 3) s.examples.push({ requestId: p.answer.requestId, itemId: cell.itemId, served: cell.served, offline, stalenessMs, aheadMs });
    });
    if (any) answersWithMismatch++;
    if (unexplainedAny) answersWithUnexplained++;
  };

  const pending: Pending[] = [];
  let next = 0;
  for (let e = 0; e <= events.length; e++) {
    const event = events[e];
    const at = event ? event.timeMs : Number.POSITIVE_INFINITY;
    // A window opens on the state before the first event at or after `time - maxLag`; the answer's
    // own values are the state before the first event at or after its time (it saw none of those);
    // the window closes before the first event after `time + maxLag`.
    while (next < answers.length && (answers[next] as ServedRecsAnswer).timeMs - maxLag <= at) pending.push(open(answers[next++] as ServedRecsAnswer));
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i] as Pending;
      if (p.pit === null && p.answer.timeMs <= at) reachTime(p);
      if (p.answer.timeMs + maxLag < at) {
        close(p);
        pending.splice(i, 1);
      }
    }
    if (!event) break;
    store.applySync(event);
    for (const p of pending) if (p.answer.userId === event.userId || p.items.has(event.itemId)) observe(p, event.timeMs);
  }

  return {
    answers: answers.length,
    rows,
    answersWithMismatch,
    answersWithUnexplained,
    maxStalenessMs: Math.max(0, ...stats.map((s) => s.maxStalenessMs)),
    maxAheadMs: Math.max(0, ...stats.map((s) => s.maxAheadMs)),
    features: stats.map((s) => ({
      feature: s.feature,
      compared: s.compared,
      mismatches: s.mismatches,
      mismatchRate: s.compared > 0 ? s.mismatches / s.compared : 0,
      stale: s.stale,
      ahead: s.ahead,
      unexplained: s.mismatches - s.stale - s.ahead,
      unexplainedRate: s.compared > 0 ? (s.mismatches - s.stale - s.ahead) / s.compared : 0,
      servedMissing: s.servedMissing,
      offlineMissing: s.offlineMissing,
      meanAbsDiff: s.numeric > 0 ? s.absDiff / s.numeric : 0,
      maxStalenessMs: s.maxStalenessMs,
      maxAheadMs: s.maxAheadMs,
      examples: s.examples,
    })),
  };
}
