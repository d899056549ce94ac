import type { RedisClient } from "../redis-client";

/**
 * What each recommendation answer showed a user, kept for the attribution window: a click is
 * accepted only for an item that was served to that user in that answer, at that position.
 */
export interface ServedImpressionStore {
  /** Records the items of one answer, in position order. */
  record(userId: string, requestId: string, itemIds: readonly string[]): Promise<void>;
  /** The items of that answer in position order, or null when there was none for this user (or it expired). */
  find(userId: string, requestId: string): Promise<string[] | null>;
}

/** `<prefix>{u:<id>}:<requestId>`: the user's hash tag, so an answer's record shares the user's Redis Cluster slot. */
export function servedKey(prefix: string, userId: string, requestId: string): string {
  return `${prefix}{u:${userId}}:${requestId}`;
}

export class RedisServedImpressions implements ServedImpressionStore {
  readonly prefix: string;
  /** Real milliseconds a record lives: the attribution window. */
  readonly ttlMs: number;

  constructor(
    private readonly redis: RedisClient,
    options: { prefix?: string; ttlMs: number },
  ) {
    this.prefix = options.prefix ?? "rs:";
    this.ttlMs = options.ttlMs;
  }

  async record(userId: string, requestId: string, itemIds: readonly string[]): Promise<void> {
    await this.redis.set(servedKey(this.prefix, userId, requestId), itemIds.join("\n"), "PX", this.ttlMs);
  }

  async find(userId: string, requestId: string): Promise<string[] | null> {
    const value = await this.redis.get(servedKey(this.prefix, userId, requestId));
    return value === null ? null : value === "" ? [] : value.split("\n");
  }
}

/** The in-memory twin; expiry follows the given clock. */
export class MemoryServedImpressions implements ServedImpressionStore {
  private readonly records = new Map<string, { itemIds: string[]; expiresAt: number }>();

  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async record(userId: string, requestId: string, itemIds: readonly string[]): Promise<void> {
    this.records.set(servedKey("", userId, requestId), { itemIds: [...itemIds], expiresAt: this.now() + this.ttlMs });
  }

  async find(userId: string, requestId: string): Promise<string[] | null> {
    const found = this.records.get(servedKey("", userId, requestId));
    if (!found || found.expiresAt <= this.now()) return null;
    return [...found.itemIds];
  }
}
