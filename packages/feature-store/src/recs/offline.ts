import { assembleRankerRow, DEFAULT_RECS_FEATURE_CONFIG, prepareUser, RANKER_FEATURE_COUNT, RANKER_FEATURE_NAMES, rankerContext, type RecsFeatureConfig } from "./definitions";
import { MemoryRecsFeatureStore, type RecsCatalogue } from "./memory-store";
import { RecsFeatureInputError, type RecsEvent, type RecsFeatureStore, type RecsProfiles } from "./store";

/** One logged request: the slate a user was shown and what they clicked. */
export interface RecsSession {
  sessionId: string;
  userId: string;
  timeMs: number;
  /** Index into RECS_DEVICES, or null when unknown. */
  device: number | null;
  /** Shown items, top slot first. */
  items: readonly string[];
  /** 1 where the item at that position was clicked. */
  clicked: ArrayLike<number>;
}

/** The events a session sends down the stream: its impressions, then its clicks. */
export function sessionEvents(session: RecsSession): RecsEvent[] {
  const events: RecsEvent[] = [];
  const base = { userId: session.userId, timeMs: session.timeMs };
  session.items.forEach((itemId, position) => events.push({ ...base, kind: "impression", eventId: `${session.sessionId}:${position}:i`, itemId, position }));
  session.items.forEach((itemId, position) => {
    if (session.clicked[position]) events.push({ ...base, kind: "click", eventId: `${session.sessionId}:${position}:c`, itemId, position });
  });
  return events;
}

export interface ReplayOptions {
  catalogue?: RecsCatalogue;
  config?: RecsFeatureConfig;
}

/**
 * Replays sessions in time order through the in-memory twin. `beforeSession` sees the state as
 * the service saw it when the request came: everything logged before it, nothing of its own.
 */
export function replayRecsSessions(
  sessions: readonly RecsSession[],
  options: ReplayOptions & { beforeSession?: (session: RecsSession, index: number, store: MemoryRecsFeatureStore) => void; until?: number } = {},
): MemoryRecsFeatureStore {
  // Offline every event is applied exactly once, so there is nothing to deduplicate.
  const store = new MemoryRecsFeatureStore({ config: options.config ?? DEFAULT_RECS_FEATURE_CONFIG, ...(options.catalogue ? { catalogue: options.catalogue } : {}), dedupTtlMs: 0 });
  let lastTime = -Infinity;
  for (let s = 0; s < sessions.length; s++) {
    const session = sessions[s] as RecsSession;
    if (options.until !== undefined && session.timeMs >= options.until) break;
    if (session.timeMs < lastTime) {
      throw new RecsFeatureInputError(`sessions[${s}].timeMs`, `sessions must be in time order: ${session.sessionId} goes back in time`);
    }
    lastTime = session.timeMs;
    options.beforeSession?.(session, s, store);
    for (const event of sessionEvents(session)) store.applySync(event);
  }
  return store;
}

/** The online store's state as of `timeMs` (sessions strictly before it): what materialisation writes. */
export function recsFeaturesAsOf(sessions: readonly RecsSession[], timeMs: number, options: ReplayOptions = {}): MemoryRecsFeatureStore {
  return replayRecsSessions(sessions, { ...options, until: timeMs });
}

/**
 * Bulk load of an online store from the offline tables: every profile of the catalogue, then the
 * counters and histories as of `asOfMs`. Streaming updates from events after `asOfMs` continue
 * from exactly this state. The replay needs item profiles (a click enters a user's history with
 * its item's category and tags): pass the `catalogue` the profiles come from, or the profiles are
 * collected into maps on the way to the store.
 */
export async function materializeRecsFeatures(
  store: RecsFeatureStore,
  input: { profiles: RecsProfiles; sessions: readonly RecsSession[]; asOfMs: number } & ReplayOptions,
): Promise<{ users: number; items: number }> {
  let { profiles, catalogue } = input;
  if (!catalogue) {
    const users = new Map(profiles.users ?? []);
    const items = new Map(profiles.items ?? []);
    profiles = { users, items };
    catalogue = { user: (id) => users.get(id) ?? null, item: (id) => items.get(id) ?? null };
  }
  await store.writeProfiles(profiles);
  const state = recsFeaturesAsOf(input.sessions, input.asOfMs, { config: store.config, catalogue });
  await store.writeSnapshot(state.snapshot());
  return state.size;
}

export interface RankerFeatureMatrix {
  names: readonly string[];
  rows: number;
  /** Row-major, `rows x names.length`. */
  values: Float64Array;
  /** Query group sizes in row order: one group per included session. */
  groups: Int32Array;
  /** Index into `sessions` of each group. */
  groupSessions: Int32Array;
}

export interface BuildRankerFeaturesOptions extends ReplayOptions {
  /** Retrieval score of the item at `position` of session `sessionIndex`. */
  retrievalScore: (sessionIndex: number, position: number) => number;
  /** Which sessions become rows; all of them replay either way. */
  include?: (session: RecsSession, index: number) => boolean;
  onProgress?: (sessionsDone: number) => void;
}

/**
 * Training rows, point-in-time correct by construction: each session's rows are assembled from
 * the state before its own impressions and clicks, by the same function the service uses.
 */
export function buildRankerFeaturesOffline(sessions: readonly RecsSession[], options: BuildRankerFeaturesOptions): RankerFeatureMatrix {
  const config = options.config ?? DEFAULT_RECS_FEATURE_CONFIG;
  const include = options.include ?? (() => true);
  const chosen: number[] = [];
  let rows = 0;
  sessions.forEach((session, s) => {
    if (include(session, s)) {
      chosen.push(s);
      rows += session.items.length;
    }
  });
  const width = RANKER_FEATURE_COUNT;
  const values = new Float64Array(rows * width);
  const groups = new Int32Array(chosen.length);
  const groupSessions = Int32Array.from(chosen);
  let next = 0;
  let row = 0;
  replayRecsSessions(sessions, {
    ...options,
    beforeSession: (session, s, store) => {
      if (options.onProgress && s % 10_000 === 0) options.onProgress(s);
      if (chosen[next] !== s) return;
      const user = prepareUser(store.userSync(session.userId));
      const context = rankerContext({ timeMs: session.timeMs, device: session.device });
      session.items.forEach((itemId, position) => {
        assembleRankerRow(user, store.itemSync(itemId), options.retrievalScore(s, position), context, config, values, (row + position) * width);
      });
      groups[next++] = session.items.length;
      row += session.items.length;
    },
  });
  options.onProgress?.(sessions.length);
  return { names: RANKER_FEATURE_NAMES, rows, values, groups, groupSessions };
}
