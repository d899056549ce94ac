import {
  DEFAULT_RECS_FEATURE_CONFIG,
  emptyItemState,
  emptyUserState,
  examinationMicros,
  raiseAppliedOffset,
  recsStreamId,
  type ItemProfile,
  type ItemState,
  type RecsFeatureConfig,
  type UserProfile,
  type UserState,
} from "./definitions";
import { checkEvent, type RecsEvent, type RecsFeatureStore, type RecsFetchResult, type RecsProfiles, type RecsSnapshot } from "./store";

/** Where profiles come from when nobody wrote them: the offline catalogue (the world, the item table). */
export interface RecsCatalogue {
  user(id: string): UserProfile | null;
  item(id: string): ItemProfile | null;
}

export interface MemoryRecsStoreOptions {
  config?: RecsFeatureConfig;
  catalogue?: RecsCatalogue;
  /** How long an applied event id is remembered, in event time; 0 turns deduplication off. */
  dedupTtlMs?: number;
}

export const DEFAULT_DEDUP_TTL_MS = 10 * 60_000;

/**
 * The in-memory twin of the Redis store: the same state transitions on plain objects. Used by
 * unit tests, the embedded mode, and offline, where replaying the log in time order through it
 * gives point-in-time features.
 */
export class MemoryRecsFeatureStore implements RecsFeatureStore {
  readonly config: RecsFeatureConfig;
  private readonly users = new Map<string, UserState>();
  private readonly items = new Map<string, ItemState>();
  private readonly catalogue: RecsCatalogue | undefined;
  private readonly dedupTtlMs: number;
  /** Applied event ids per entity, with the event time after which they may be forgotten. */
  private readonly applied = new Map<string, number>();
  private latestEventMs = -Infinity;

  constructor(options: MemoryRecsStoreOptions = {}) {
    this.config = options.config ?? DEFAULT_RECS_FEATURE_CONFIG;
    this.catalogue = options.catalogue;
    this.dedupTtlMs = options.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
  }

  async fetch(userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> {
    const user = this.userSync(userId);
    return {
      user: user && cloneUser(user),
      items: itemIds.map((id) => {
        const item = this.itemSync(id);
        return item && { ...item };
      }),
    };
  }

  /** Live state (do not mutate): the offline replay reads it without copying. */
  userSync(id: string): UserState | null {
    const state = this.users.get(id);
    if (state) return state;
    const profile = this.catalogue?.user(id) ?? null;
    return profile ? emptyUserState(profile) : null;
  }

  itemSync(id: string): ItemState | null {
    const state = this.items.get(id);
    if (state) return state;
    const profile = this.catalogue?.item(id) ?? null;
    return profile ? emptyItemState(profile) : null;
  }

  async apply(events: readonly RecsEvent[]): Promise<void> {
    events.forEach(checkEvent);
    for (const event of events) this.applySync(event);
  }

  applySync(event: RecsEvent): void {
    this.applyUserSync(event);
    this.applyItemSync(event);
  }

  /** The event's effect on its user alone (an offline replay of one entity). */
  applyUserSync(event: RecsEvent): void {
    const user = this.mutableUser(event.userId);
    if (this.fresh(user, `u:${event.userId}`, event)) {
      if (event.kind === "impression") {
        user.impressions++;
      } else {
        user.clicks++;
        const item = this.mutableItem(event.itemId);
        if (item.profile) {
          user.recent.unshift({ category: item.profile.category, tags: item.profile.tags });
          if (user.recent.length > this.config.recentClicks) user.recent.length = this.config.recentClicks;
        }
      }
    }
  }

  /** The event's effect on its item alone. */
  applyItemSync(event: RecsEvent): void {
    const item = this.mutableItem(event.itemId);
    if (this.fresh(item, `i:${event.itemId}`, event)) {
      if (event.kind === "impression") {
        item.impressions++;
        item.examinedMicros += examinationMicros(event.position, this.config);
      } else {
        item.clicks++;
      }
    }
  }

  async writeSnapshot(snapshot: RecsSnapshot): Promise<void> {
    this.writeSnapshotSync(snapshot);
  }

  writeSnapshotSync(snapshot: RecsSnapshot): void {
    for (const [id, state] of snapshot.users) {
      const user = this.mutableUser(id);
      user.impressions = state.impressions;
      user.clicks = state.clicks;
      user.recent = state.recent.slice(0, this.config.recentClicks);
      setApplied(user, state.applied);
      if (state.profile) user.profile = state.profile;
    }
    for (const [id, state] of snapshot.items) {
      const item = this.mutableItem(id);
      item.impressions = state.impressions;
      item.clicks = state.clicks;
      item.examinedMicros = state.examinedMicros;
      setApplied(item, state.applied);
      if (state.profile) item.profile = state.profile;
    }
  }

  async writeProfiles(profiles: RecsProfiles): Promise<void> {
    for (const [id, profile] of profiles.users ?? []) this.mutableUser(id).profile = profile;
    for (const [id, profile] of profiles.items ?? []) this.mutableItem(id).profile = profile;
  }

  /** Every entity that has state (profiles from the catalogue included), for materialisation. */
  snapshot(): { users: [string, UserState][]; items: [string, ItemState][] } {
    return {
      users: [...this.users].map(([id, s]) => [id, cloneUser(s)]),
      items: [...this.items].map(([id, s]) => [id, { ...s }]),
    };
  }

  get size(): { users: number; items: number } {
    return { users: this.users.size, items: this.items.size };
  }

  private mutableUser(id: string): UserState {
    let state = this.users.get(id);
    if (!state) {
      state = emptyUserState(this.catalogue?.user(id) ?? null);
      this.users.set(id, state);
    }
    return state;
  }

  private mutableItem(id: string): ItemState {
    let state = this.items.get(id);
    if (!state) {
      state = emptyItemState(this.catalogue?.item(id) ?? null);
      this.items.set(id, state);
    }
    return state;
  }

  /**
   * As the Redis scripts decide: a redelivery by its log offset first, then by its event id; the
   * offset is recorded only for an event applied (a second copy of an id leaves the first's).
   */
  private fresh(state: UserState | ItemState, entity: string, event: RecsEvent): boolean {
    const raised = event.source ? raiseAppliedOffset(state.applied, recsStreamId(event.kind, event.source.partition), event.source.offset) : null;
    if (raised && !raised.above) return false;
    if (!this.firstTime(entity, event)) return false;
    if (raised) state.applied = raised.encoded;
    return true;
  }

  private firstTime(entity: string, event: RecsEvent): boolean {
    if (this.dedupTtlMs <= 0) return true;
    if (event.timeMs > this.latestEventMs) this.latestEventMs = event.timeMs;
    const key = `${entity}|${event.eventId}`;
    const expiresAt = this.applied.get(key);
    if (expiresAt !== undefined && expiresAt > this.latestEventMs) return false;
    this.applied.set(key, event.timeMs + this.dedupTtlMs);
    if (this.applied.size > 100_000) this.forgetExpired();
    return true;
  }

  private forgetExpired(): void {
    for (const [key, expiresAt] of this.applied) if (expiresAt <= this.latestEventMs) this.applied.delete(key);
  }
}

function setApplied(state: UserState | ItemState, applied: string | undefined): void {
  if (applied) state.applied = applied;
  else delete state.applied;
}

function cloneUser(state: UserState): UserState {
  return { ...state, recent: state.recent.slice() };
}
