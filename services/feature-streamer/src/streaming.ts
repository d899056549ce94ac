import type { AnyEvent } from "@mlsd/contracts";
import { toCents, type FraudFeatureStore, type RecsEvent, type RecsFeatureStore } from "@mlsd/feature-store";

export interface StreamingStores {
  recs: RecsFeatureStore;
  fraud: FraudFeatureStore;
}

/** An event as consumed: with its Kafka partition and offset (a ConsumedEvent fits), which the recs features record as applied. */
export interface StreamedEvent {
  event: AnyEvent;
  partition?: number;
  offset?: string;
}

export interface StreamingCounts {
  impressions: number;
  clicks: number;
  labels: number;
  /** Degraded fraud decisions whose transaction was recorded into the features afterwards. */
  backfilled: number;
  /** Degraded decisions whose transaction was already in the store (scored again in full since). */
  alreadyRecorded: number;
}

/**
 * Applies one batch of events to the online features. Every step is idempotent, so a batch
 * redelivered after a crash or a rebalance changes nothing twice:
 * - impressions and clicks update the recommendation counters (keyed by event id), and each entity
 *   records the log offset it applied per partition in the same step (a redelivery at or below it
 *   is skipped; the recommender logs these offsets with what it served, so the skew check replays
 *   exactly the events each answer's state held);
 * - fraud labels are applied with the time they became known: a feature computed before that time
 *   does not see them, whenever the label arrives (replays, backfills);
 * - a fraud decision answered without the feature store (degraded) left its transaction out of the
 *   card's and terminal's windows; it is recorded now, from the decision's own fields (the claim
 *   makes this a no-op when a retry already recorded it).
 */
export async function applyBatch(stores: StreamingStores, consumed: readonly StreamedEvent[]): Promise<StreamingCounts> {
  const counts: StreamingCounts = { impressions: 0, clicks: 0, labels: 0, backfilled: 0, alreadyRecorded: 0 };
  const recs: RecsEvent[] = [];
  const events = consumed.map((c) => c.event);
  for (const { event, partition, offset } of consumed) {
    if (event.type === "recs.impression" || event.type === "recs.click") {
      const p = event.payload;
      const source = partition !== undefined && offset !== undefined ? { source: { partition, offset: Number(offset) } } : {};
      recs.push({ kind: event.type === "recs.impression" ? "impression" : "click", eventId: event.eventId, userId: p.userId, itemId: p.itemId, position: p.position, timeMs: Date.parse(event.eventTime), ...source });
      if (event.type === "recs.impression") counts.impressions++;
      else counts.clicks++;
    }
  }
  if (recs.length > 0) await stores.recs.apply(recs);

  for (const event of events) {
    if (event.type === "fraud.label") {
      const p = event.payload;
      if (p.label === "legitimate") continue; // terminal risk counts confirmed frauds only
      await stores.fraud.applyKnownLabel({ transactionId: p.transactionId, terminalId: p.terminalId, transactionTimeMs: Date.parse(p.transactionTime), knownAtMs: Date.parse(p.knownAt) });
      counts.labels++;
    } else if (event.type === "fraud.decision" && event.payload.decidedBy === "fallback") {
      const p = event.payload;
      const amount = p.features.TX_AMOUNT;
      if (typeof amount !== "number") continue;
      const timeMs = Date.parse(event.eventTime);
      const claim = await stores.fraud.claim(p.transactionId, { customerId: p.customerId, terminalId: p.terminalId, timeMs, cents: toCents(amount) });
      if (claim.kind !== "new") {
        counts.alreadyRecorded++;
        continue;
      }
      await stores.fraud.observe({ transactionId: p.transactionId, customerId: p.customerId, terminalId: p.terminalId, timeMs, amount });
      counts.backfilled++;
    }
  }
  return counts;
}
