import type { RecommendationsRequest } from "@mlsd/contracts";

/** What a cached answer replays: the ranked items and where they came from (never a fallback). */
export interface CachedAnswer {
  items: { itemId: string; position: number; score: number; category: number | null }[];
  modelVersions: Record<string, string>;
  arms: Record<string, string>;
}

/**
 * A per-user result cache: the last model answer for the same user and request, replayed while it
 * is younger than `ttlMs` (service-clock time). It trades freshness for latency: a cached answer
 * skips Redis, retrieval and the ranker, and does not see what the user clicked since (the claim
 * 23 experiment measures both sides). Only model answers are kept: a fallback is not worth
 * repeating once its cause is gone. Bounded to `maxEntries`, the oldest dropped first.
 */
export class ResultCache {
  private readonly entries = new Map<string, { atMs: number; answer: CachedAnswer }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs: must be > 0, got ${ttlMs}`);
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) throw new RangeError(`maxEntries: a positive integer, got ${maxEntries}`);
  }

  /** One entry per user and everything that shapes the answer; a request's own time does not. */
  static key(request: RecommendationsRequest): string {
    const excluded = [...(request.excludeItemIds ?? [])].sort().join(",");
    return JSON.stringify([request.userId, request.k, request.context?.category ?? null, request.context?.device ?? null, request.context?.hour ?? null, excluded]);
  }

  /** The answer when fresh; `stale` when there was one but it expired (it is dropped). */
  get(key: string, nowMs: number): { answer: CachedAnswer } | "stale" | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (nowMs - entry.atMs >= this.ttlMs || nowMs < entry.atMs) {
      this.entries.delete(key);
      return "stale";
    }
    return { answer: entry.answer };
  }

  set(key: string, nowMs: number, answer: CachedAnswer): void {
    this.entries.delete(key);
    this.entries.set(key, { atMs: nowMs, answer });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
