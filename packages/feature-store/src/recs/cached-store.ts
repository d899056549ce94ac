import type { ItemState, RecsFeatureConfig } from "./definitions";
import type { RecsEvent, RecsFeatureStore, RecsFetchResult, RecsProfiles, RecsSnapshot } from "./store";

export interface ItemCacheOptions {
  /** Items kept; the least recently used go first. */
  maxItems: number;
  /** How stale an item's counters may get. Users are never cached: their history changes with every click. */
  ttlMs: number;
  now?: () => number;
}

/**
 * A small process-local cache of item features in front of another store. Candidate lists are
 * dominated by a head of popular items, so most of a request's items are hits and the round trip
 * carries the user and a few misses. The price is popularity counters up to `ttlMs` old.
 */
export class CachedRecsFeatureStore implements RecsFeatureStore {
  private readonly cache = new Map<string, { state: ItemState | null; expiresAt: number }>();
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: RecsFeatureStore,
    private readonly options: ItemCacheOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  get config(): RecsFeatureConfig {
    return this.inner.config;
  }

  async fetch(userId: string, itemIds: readonly string[]): Promise<RecsFetchResult> {
    const now = this.now();
    const items = new Array<ItemState | null>(itemIds.length);
    const missIds: string[] = [];
    const missAt: number[] = [];
    for (let i = 0; i < itemIds.length; i++) {
      const id = itemIds[i] as string;
      const entry = this.cache.get(id);
      if (entry && entry.expiresAt > now) {
        // Re-insert so Map order is recency order.
        this.cache.delete(id);
        this.cache.set(id, entry);
        items[i] = entry.state;
        this.hits++;
      } else {
        missIds.push(id);
        missAt.push(i);
        this.misses++;
      }
    }
    const fetched = await this.inner.fetch(userId, missIds);
    const expiresAt = now + this.options.ttlMs;
    for (let m = 0; m < missIds.length; m++) {
      const state = fetched.items[m] ?? null;
      items[missAt[m] as number] = state;
      const id = missIds[m] as string;
      this.cache.delete(id);
      this.cache.set(id, { state, expiresAt });
    }
    while (this.cache.size > this.options.maxItems) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return { user: fetched.user, items };
  }

  apply(events: readonly RecsEvent[]): Promise<void> {
    return this.inner.apply(events);
  }

  writeSnapshot(snapshot: RecsSnapshot): Promise<void> {
    this.cache.clear();
    return this.inner.writeSnapshot(snapshot);
  }

  writeProfiles(profiles: RecsProfiles): Promise<void> {
    this.cache.clear();
    return this.inner.writeProfiles(profiles);
  }

  get size(): number {
    return this.cache.size;
  }
}
