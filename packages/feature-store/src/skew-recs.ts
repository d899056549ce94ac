import {
  assembleRankerRow,
  DEFAULT_RECS_FEATURE_CONFIG,
  parseAppliedOffsets,
  prepareUser,
  RANKER_FEATURE_COUNT,
  RANKER_FEATURE_NAMES,
  recsStreamId,
  type AppliedOffsets,
  type ItemState,
  type RankerContext,
  type RecsFeatureConfig,
  type UserState,
} from "./recs/definitions";
import { MemoryRecsFeatureStore } from "./recs/memory-store";
import type { RecsEvent } from "./recs/store";
import { sameValue } from "./skew";

/**
 * Training-serving skew of the recommender: the ranker rows an answer was served with (logged in
 * `recs.served`), compared feature by feature with the rows an offline replay of the event log
 * gives for exactly the state the answer read.
 *
 * Which state that was is logged with the answer: every read of the online store returns, with each
 * entity's features, the offsets it had applied per source stream (AppliedOffsets), written by the
 * same atomic step that applied each event. The replay starts from the state the log continues from
 * and applies, per entity, exactly the logged events at or below those offsets, through the same
 * definitions the trainer uses. The stream's lag and the order in which it applied the partitions'
 * events no longer matter: any difference is a bug, a lost or doubled event, or a log that does not
 * hold what the stream applied (reported apart, as a log gap).
 */

/** What the comparison needs of one logged answer the ranker scored. */
export interface ServedRecsAnswer {
  requestId: string;
  userId: string;
  /** The answer's time: the ranker's context time (item age, days since signup). */
  timeMs: number;
  /** What the recommender read of the user (`log_clicks`, `home_category`, `age_bucket`); a missing key is a null. */
  userFeatures: Readonly<Record<string, number | null>>;
  /** What the user's state had applied when the recommender read `userFeatures`; absent in answers logged before offsets were. */
  userApplied?: Readonly<AppliedOffsets> | undefined;
  /** What the user's state had applied when the ranker read it for the rows. */
  rowsUserApplied?: Readonly<AppliedOffsets> | undefined;
  /** The items shown, each with the ranker row it was scored with, by feature name, and what its state had applied (absent: nothing). */
  items: readonly { itemId: string; features: Readonly<Record<string, number | null>>; applied?: Readonly<AppliedOffsets> | undefined }[];
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
  /** Served value != the value replayed from the log for the state the answer read. */
  mismatches: number;
  mismatchRate: number;
  servedMissing: number;
  offlineMissing: number;
  /** Mean |served - offline| over the pairs where both are numbers. */
  meanAbsDiff: number;
  examples: { requestId: string; itemId: string | null; served: number | null; offline: number | null }[];
}

export interface RecsSkewComparison {
  /** Answers compared (those with applied offsets logged). */
  answers: number;
  /** Answers logged without applied offsets (before they were logged): not comparable exactly, left out. */
  withoutOffsets: number;
  /** Item rows compared (one per item shown). */
  rows: number;
  answersWithMismatch: number;
  /**
   * Answers that read an entity whose logged offsets the log does not reach: replaying the events at or
   * below them does not arrive at the same offsets (the log misses an event the stream applied, or it
   * has not caught up yet). Their mismatches are counted too.
   */
  answersWithLogGap: number;
  /** Logged events without a log position: no replay can place them. */
  eventsWithoutSource: number;
  features: RecsFeatureSkew[];
}

export interface RecsSkewOptions {
  /**
   * The offline state the log continues from (what materialisation wrote at the log's start). Read
   * only: each replay starts from a copy of one entity's state.
   */
  state: MemoryRecsFeatureStore;
  /** Logged impressions and clicks with their log positions (`source`), any order. */
  events: readonly RecsEvent[];
  config?: RecsFeatureConfig;
  /** Relative tolerance for two numbers to count as equal. Default 1e-9. */
  tolerance?: number;
}

const ITEM_INDEX = RECS_SKEW_ITEM_FEATURES.map((name) => RANKER_FEATURE_NAMES.indexOf(name as (typeof RANKER_FEATURE_NAMES)[number]));

/** Served value of a named feature: a missing key or a non-finite number is a null. */
function servedValue(features: Readonly<Record<string, number | null>>, name: string): number | null {
  const v = features[name];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function sameOffsets(a: Readonly<AppliedOffsets>, b: Readonly<AppliedOffsets>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

interface Replayed<S> {
  state: S | null;
  /** The replay's own applied offsets equal the read's: the log held every event the read names. */
  exact: boolean;
}

/** Replays, per entity, the logged events at or below a read's applied offsets. */
class EntityReplay {
  private readonly byUser = new Map<string, RecsEvent[]>();
  private readonly byItem = new Map<string, RecsEvent[]>();
  private readonly users = new Map<string, Replayed<UserState>>();
  private readonly items = new Map<string, Replayed<ItemState>>();
  readonly withoutSource: number;

  constructor(
    private readonly base: MemoryRecsFeatureStore,
    events: readonly RecsEvent[],
    private readonly config: RecsFeatureConfig,
  ) {
    let withoutSource = 0;
    // Offset order within a stream is the order the stream applied them (a user's clicks, hence their history, come from one stream).
    const ordered = events.filter((e) => e.source !== undefined).sort((a, b) => (a.source?.offset as number) - (b.source?.offset as number) || a.timeMs - b.timeMs);
    for (const e of events) if (e.source === undefined) withoutSource++;
    for (const e of ordered) {
      push(this.byUser, e.userId, e);
      push(this.byItem, e.itemId, e);
    }
    this.withoutSource = withoutSource;
  }

  user(id: string, offsets: Readonly<AppliedOffsets>): Replayed<UserState> {
    return this.replayed(this.users, id, offsets, (scratch) => {
      const base = this.base.userSync(id);
      if (base) scratch.writeSnapshotSync({ users: [[id, base]], items: [] });
      for (const e of this.select(this.byUser.get(id), offsets)) scratch.applyUserSync(e);
      return scratch.userSync(id);
    });
  }

  item(id: string, offsets: Readonly<AppliedOffsets>): Replayed<ItemState> {
    return this.replayed(this.items, id, offsets, (scratch) => {
      const base = this.base.itemSync(id);
      if (base) scratch.writeSnapshotSync({ users: [], items: [[id, base]] });
      for (const e of this.select(this.byItem.get(id), offsets)) scratch.applyItemSync(e);
      return scratch.itemSync(id);
    });
  }

  /** One entity's replay, once per distinct read (answers often read the same state); exact when it arrives at the read's offsets. */
  private replayed<S extends UserState | ItemState>(cache: Map<string, Replayed<S>>, id: string, offsets: Readonly<AppliedOffsets>, run: (scratch: MemoryRecsFeatureStore) => S | null): Replayed<S> {
    const key = `${id}\n${JSON.stringify(offsets)}`;
    let found = cache.get(key);
    if (!found) {
      const state = run(this.scratch());
      found = { state, exact: sameOffsets(parseAppliedOffsets(state?.applied), offsets) };
      cache.set(key, found);
    }
    return found;
  }

  private select(events: readonly RecsEvent[] | undefined, offsets: Readonly<AppliedOffsets>): RecsEvent[] {
    if (!events) return [];
    return events.filter((e) => {
      const source = e.source as { partition: number; offset: number };
      const mark = offsets[recsStreamId(e.kind, source.partition)];
      return mark !== undefined && source.offset <= mark;
    });
  }

  /** One entity's replay: profiles (a clicked item's category goes into the user's history) from the base state. */
  private scratch(): MemoryRecsFeatureStore {
    const base = this.base;
    return new MemoryRecsFeatureStore({
      config: this.config,
      dedupTtlMs: 0,
      catalogue: { user: (id) => base.userSync(id)?.profile ?? null, item: (id) => base.itemSync(id)?.profile ?? null },
    });
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function compareRecsServedWithLog(served: readonly ServedRecsAnswer[], options: RecsSkewOptions): RecsSkewComparison {
  const config = options.config ?? DEFAULT_RECS_FEATURE_CONFIG;
  const tolerance = options.tolerance ?? 1e-9;
  const names = [...RECS_SKEW_ITEM_FEATURES, ...RECS_SKEW_USER_FEATURES];
  const userBase = RECS_SKEW_ITEM_FEATURES.length;
  const stats = names.map((feature) => ({ feature, compared: 0, mismatches: 0, servedMissing: 0, offlineMissing: 0, absDiff: 0, numeric: 0, examples: [] as RecsFeatureSkew["examples"] }));
  const replay = new EntityReplay(options.state, options.events, config);
  const row = new Float64Array(RANKER_FEATURE_COUNT);

  const compare = (feature: number, requestId: string, itemId: string | null, servedV: number | null, offline: number | null): boolean => {
    const s = stats[feature] as (typeof stats)[number];
    s.compared++;
    if (servedV === null && offline !== null) s.servedMissing++;
    if (offline === null && servedV !== null) s.offlineMissing++;
    if (servedV !== null && offline !== null) {
      s.absDiff += Math.abs(servedV - offline);
      s.numeric++;
    }
    if (sameValue(servedV, offline, tolerance)) return false;
    s.mismatches++;
    if (s.examples.length < 3) s.examples.push({ requestId, itemId, served: servedV, offline });
    return true;
  };

  let answers = 0;
  let withoutOffsets = 0;
  let rows = 0;
  let answersWithMismatch = 0;
  let answersWithLogGap = 0;
  for (const answer of served) {
    if (answer.items.length === 0) continue;
    if (answer.userApplied === undefined || answer.rowsUserApplied === undefined) {
      withoutOffsets++;
      continue;
    }
    answers++;
    rows += answer.items.length;
    const first = answer.items[0]?.features ?? {};
    const context: RankerContext = {
      timeMs: answer.timeMs,
      hour: servedValue(first, "context_hour") ?? new Date(answer.timeMs).getUTCHours(),
      device: servedValue(first, "context_device"),
    };
    const rowsUser = replay.user(answer.userId, answer.rowsUserApplied);
    const prepared = prepareUser(rowsUser.state);
    let exact = rowsUser.exact;
    let any = false;
    for (const item of answer.items) {
      const replayed = replay.item(item.itemId, item.applied ?? {});
      exact &&= replayed.exact;
      assembleRankerRow(prepared, replayed.state, servedValue(item.features, "retrieval_score") ?? Number.NaN, context, config, row);
      ITEM_INDEX.forEach((j, f) => {
        const offline = Number.isNaN(row[j] as number) ? null : (row[j] as number);
        if (compare(f, answer.requestId, item.itemId, servedValue(item.features, RECS_SKEW_ITEM_FEATURES[f] as string), offline)) any = true;
      });
    }
    const read = replay.user(answer.userId, answer.userApplied);
    exact &&= read.exact;
    const profile = read.state?.profile ?? null;
    const offlineUser = [Math.log1p(read.state?.clicks ?? 0), profile?.homeCategory ?? null, profile?.ageBucket ?? null];
    RECS_SKEW_USER_FEATURES.forEach((name, f) => {
      if (compare(userBase + f, answer.requestId, null, servedValue(answer.userFeatures, name), offlineUser[f] ?? null)) any = true;
    });
    if (any) answersWithMismatch++;
    if (!exact) answersWithLogGap++;
  }

  return {
    answers,
    withoutOffsets,
    rows,
    answersWithMismatch,
    answersWithLogGap,
    eventsWithoutSource: replay.withoutSource,
    features: stats.map((s) => ({
      feature: s.feature,
      compared: s.compared,
      mismatches: s.mismatches,
      mismatchRate: s.compared > 0 ? s.mismatches / s.compared : 0,
      servedMissing: s.servedMissing,
      offlineMissing: s.offlineMissing,
      meanAbsDiff: s.numeric > 0 ? s.absDiff / s.numeric : 0,
      examples: s.examples,
    })),
  };
}
