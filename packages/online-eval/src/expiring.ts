/**
 * A map whose entries leave after a time (event time, not wall time) or once it holds `maxSize`
 * (oldest first): the joins below wait for a click or a label only as long as one may come, and a
 * flood of requests cannot grow them without bound.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { at: number; value: V }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly onExpire?: (key: string, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, value: V, at: number): void {
    this.entries.delete(key);
    this.entries.set(key, { at, value });
    while (this.entries.size > this.maxSize) this.evictOldest();
  }

  delete(key: string): V | undefined {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry?.value;
  }

  /** Drops (and hands to onExpire) every entry older than ttl at `now`. Insertion order is time order in practice. */
  expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.at <= this.ttlMs) break;
      this.entries.delete(key);
      this.onExpire?.(key, entry.value);
    }
  }

  private evictOldest(): void {
    const first = this.entries.entries().next();
    if (first.done) return;
    const [key, entry] = first.value;
    this.entries.delete(key);
    this.onExpire?.(key, entry.value);
  }
}
