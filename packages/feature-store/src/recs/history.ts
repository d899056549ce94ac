import { NodePipelines, type RedisClient } from "../redis-client";

/**
 * The items each user clicked, most recent first, without repeats. The recommender reads it on
 * every request: its head is the history the user tower pools, all of it is what the user has
 * already seen. Clicks append to it; the trainer bulk-loads it from the training log.
 */
export interface UserHistoryStore {
  /** At most `limit` item ids, most recent first; empty for a user never seen. */
  read(userId: string, limit: number): Promise<string[]>;
  append(userId: string, itemId: string): Promise<void>;
  /** Replaces whole histories (each most recent first). */
  replace(entries: Iterable<readonly [string, readonly string[]]>): Promise<void>;
}

export const DEFAULT_HISTORY_MAX = 500;

/** `<prefix>{u:<id>}`: the feature store's hash tag, so a user's keys share one Redis Cluster slot. */
export function historyKey(prefix: string, userId: string): string {
  return `${prefix}{u:${userId}}`;
}

export class RedisUserHistory implements UserHistoryStore {
  readonly prefix: string;
  readonly maxLength: number;
  /** A user who clicks nothing for this long (real ms) is forgotten: histories do not pile up forever. */
  readonly ttlMs: number;
  private readonly writeBatch: number;

  constructor(
    private readonly redis: RedisClient,
    options: { prefix?: string; maxLength?: number; writeBatch?: number; ttlMs?: number } = {},
  ) {
    this.prefix = options.prefix ?? "rh:";
    this.maxLength = options.maxLength ?? DEFAULT_HISTORY_MAX;
    this.ttlMs = options.ttlMs ?? 180 * 86_400_000;
    this.writeBatch = options.writeBatch ?? 500;
  }

  read(userId: string, limit: number): Promise<string[]> {
    return this.redis.lrange(historyKey(this.prefix, userId), 0, Math.min(limit, this.maxLength) - 1);
  }

  async append(userId: string, itemId: string): Promise<void> {
    const key = historyKey(this.prefix, userId);
    const results = await this.redis.multi().lrem(key, 0, itemId).lpush(key, itemId).ltrim(key, 0, this.maxLength - 1).pexpire(key, this.ttlMs).exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error("redis transaction was discarded");
  }

  /** Batches of `writeBatch` users, each batch one round trip per node. */
  async replace(entries: Iterable<readonly [string, readonly string[]]>): Promise<void> {
    let batch = new NodePipelines(this.redis);
    let n = 0;
    for (const [userId, items] of entries) {
      const key = historyKey(this.prefix, userId);
      const kept = dedupe(items).slice(0, this.maxLength);
      batch.add(key, (pipeline) => {
        pipeline.del(key);
        if (kept.length > 0) pipeline.rpush(key, ...kept).pexpire(key, this.ttlMs);
      });
      if (++n % this.writeBatch === 0) {
        await batch.exec();
        batch = new NodePipelines(this.redis);
      }
    }
    if (n % this.writeBatch !== 0) await batch.exec();
  }
}

function dedupe(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of items) {
    if (seen.has(item)) continue;
    seen.add(item);
    out.push(item);
  }
  return out;
}

/** The in-memory twin: the same ordering, de-duplication and cap on plain arrays. */
export class MemoryUserHistory implements UserHistoryStore {
  private readonly lists = new Map<string, string[]>();

  constructor(readonly maxLength = DEFAULT_HISTORY_MAX) {}

  async read(userId: string, limit: number): Promise<string[]> {
    return (this.lists.get(userId) ?? []).slice(0, Math.min(limit, this.maxLength));
  }

  async append(userId: string, itemId: string): Promise<void> {
    const list = (this.lists.get(userId) ?? []).filter((i) => i !== itemId);
    list.unshift(itemId);
    this.lists.set(userId, list.slice(0, this.maxLength));
  }

  async replace(entries: Iterable<readonly [string, readonly string[]]>): Promise<void> {
    for (const [userId, items] of entries) this.lists.set(userId, dedupe(items).slice(0, this.maxLength));
  }
}
