import type { ItemProfile, ItemState, RecsFeatureConfig, UserProfile, UserState } from "./definitions";

/** An impression or a click from the event stream. `eventId` makes applying it idempotent. */
export interface RecsEvent {
  kind: "impression" | "click";
  eventId: string;
  userId: string;
  itemId: string;
  /** 0-based slot the item was shown in. */
  position: number;
  timeMs: number;
  /**
   * Where the event sits in the log (a Kafka partition of its topic, and its offset there). With it,
   * each entity records the highest offset it applied per stream (see AppliedOffsets) and an event
   * at or below it is a redelivery, skipped; without it only the event id deduplicates.
   */
  source?: { partition: number; offset: number };
}

export interface RecsFetchResult {
  /** Null when the store knows nothing about the user. */
  user: UserState | null;
  /** Parallel to the requested ids; null for an item the store knows nothing about. */
  items: (ItemState | null)[];
}

/** Whole entity states, as the offline tables have them at one point in time. */
export interface RecsSnapshot {
  users: Iterable<readonly [string, UserState]>;
  items: Iterable<readonly [string, ItemState]>;
}

export interface RecsProfiles {
  users?: Iterable<readonly [string, UserProfile]>;
  items?: Iterable<readonly [string, ItemProfile]>;
}

/**
 * The online side of the recommendation features: one user and N items in one round trip,
 * streaming counter updates, and bulk writes from the offline tables.
 */
export interface RecsFeatureStore {
  readonly config: RecsFeatureConfig;
  fetch(userId: string, itemIds: readonly string[]): Promise<RecsFetchResult>;
  /**
   * Applies impressions and clicks in order. Each entity remembers the event ids it applied for
   * a while, so a redelivered event (Kafka is at least once) changes nothing.
   */
  apply(events: readonly RecsEvent[]): Promise<void>;
  /**
   * Materialisation: replaces the counters and recent history of every entity in the snapshot,
   * and its profile when the snapshot has one; a profile already stored is never removed by a
   * snapshot that lacks it.
   */
  writeSnapshot(snapshot: RecsSnapshot): Promise<void>;
  /** New signups and catalogue items: sets profiles, leaves counters alone. */
  writeProfiles(profiles: RecsProfiles): Promise<void>;
}

export class RecsFeatureInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RecsFeatureInputError";
  }
}

export function checkEvent(event: RecsEvent, index: number): void {
  if (event.kind !== "impression" && event.kind !== "click") {
    throw new RecsFeatureInputError(`events[${index}].kind`, `must be impression or click, got ${String(event.kind)}`);
  }
  if (!Number.isInteger(event.position) || event.position < 0) {
    throw new RecsFeatureInputError(`events[${index}].position`, `must be a non-negative integer, got ${event.position}`);
  }
  if (event.source !== undefined) {
    const { partition, offset } = event.source;
    if (!Number.isSafeInteger(partition) || partition < 0) throw new RecsFeatureInputError(`events[${index}].source.partition`, `must be a non-negative integer, got ${partition}`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RecsFeatureInputError(`events[${index}].source.offset`, `must be a non-negative integer, got ${offset}`);
  }
  for (const field of ["eventId", "userId", "itemId"] as const) {
    if (typeof event[field] !== "string" || event[field].length === 0) {
      throw new RecsFeatureInputError(`events[${index}].${field}`, "must be a non-empty string");
    }
  }
}
