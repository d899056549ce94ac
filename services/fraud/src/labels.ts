import type { ConsumedEvent } from "@mlsd/events";
import type { FraudFeatureStore } from "@mlsd/feature-store";

/**
 * Applies fraud labels from Kafka to the online terminal risk. Labels that clear a transaction
 * ("legitimate") change nothing: terminal risk counts confirmed frauds only.
 */
export function labelApplier(store: FraudFeatureStore): (events: ConsumedEvent[]) => Promise<void> {
  return async (batch) => {
    for (const { event } of batch) {
      if (event.type !== "fraud.label" || event.payload.label === "legitimate") continue;
      await store.applyKnownLabel({
        transactionId: event.payload.transactionId,
        terminalId: event.payload.terminalId,
        transactionTimeMs: Date.parse(event.payload.transactionTime),
        knownAtMs: Date.parse(event.payload.knownAt),
      });
    }
  };
}
