import { EXAMPLE_PAYLOADS, makeEvent, type AnyEvent } from "@mlsd/contracts";
import { MemoryFraudFeatureStore, MemoryRecsFeatureStore, parseAppliedOffsets } from "@mlsd/feature-store";
import { describe, expect, it } from "vitest";
import { applyBatch } from "./streaming";

const T0 = Date.UTC(2024, 0, 10, 12);
const iso = (ms: number) => new Date(ms).toISOString();

function stores() {
  return { recs: new MemoryRecsFeatureStore(), fraud: new MemoryFraudFeatureStore() };
}

describe("applying the event stream to the online features", () => {
  it("counts impressions and clicks once, however often a batch is redelivered", async () => {
    const s = stores();
    await s.recs.writeProfiles({ users: [["u1", { signupMs: T0 - 86_400_000, homeCategory: 1, ageBucket: 2 }]], items: [["i1", { category: 1, tags: [], releaseMs: T0 - 86_400_000 }]] });
    const events: AnyEvent[] = [
      makeEvent("recs.impression", { ...EXAMPLE_PAYLOADS["recs.impression"], userId: "u1", itemId: "i1", position: 0 }, { producer: "test", eventTime: iso(T0) }),
      makeEvent("recs.impression", { ...EXAMPLE_PAYLOADS["recs.impression"], userId: "u1", itemId: "i1", position: 1, requestId: "req-2" }, { producer: "test", eventTime: iso(T0 + 1000) }),
      makeEvent("recs.click", { requestId: "req-2", userId: "u1", itemId: "i1", position: 1 }, { producer: "test", eventTime: iso(T0 + 2000) }),
    ];
    const consumed = events.map((event, k) => ({ event, partition: 2, offset: String(k < 2 ? 10 + k : 7) }));
    expect(await applyBatch(s, consumed)).toMatchObject({ impressions: 2, clicks: 1 });
    await applyBatch(s, consumed);
    const { user, items } = await s.recs.fetch("u1", ["i1"]);
    expect(user?.clicks).toBe(1);
    expect(items[0]?.impressions).toBe(2);
    expect(items[0]?.clicks).toBe(1);
    // Each entity names the offsets it applied, per topic and partition.
    expect([parseAppliedOffsets(user?.applied), parseAppliedOffsets(items[0]?.applied)]).toEqual([{ i2: 11, c2: 7 }, { i2: 11, c2: 7 }]);
    // Without a log position (no Kafka), the event id alone deduplicates.
    await applyBatch(s, events.map((event) => ({ event })));
    expect((await s.recs.fetch("u1", [])).user?.clicks).toBe(1);
  });

  it("applies a fraud label with the time it became known, and backfills a transaction scored without the store", async () => {
    const s = stores();
    const decision = makeEvent(
      "fraud.decision",
      { ...EXAMPLE_PAYLOADS["fraud.decision"], transactionId: "tx-d", customerId: "c1", terminalId: "t1", decidedBy: "fallback", features: { TX_AMOUNT: 25, TX_DURING_WEEKEND: 0, TX_DURING_NIGHT: 0 } },
      { producer: "fraud", eventTime: iso(T0) },
    );
    const label = makeEvent("fraud.label", { transactionId: "tx-d", customerId: "c1", terminalId: "t1", label: "chargeback", transactionTime: iso(T0), knownAt: iso(T0 + 3 * 86_400_000) }, { producer: "fraud", eventTime: iso(T0 + 3 * 86_400_000) });
    expect(await applyBatch(s, [{ event: decision }, { event: label }])).toMatchObject({ backfilled: 1, labels: 1 });
    // Redelivered: the claim says the transaction is already recorded.
    expect(await applyBatch(s, [{ event: decision }])).toMatchObject({ backfilled: 0, alreadyRecorded: 1 });
    expect(await s.fraud.lookup("tx-d")).toEqual({ customerId: "c1", terminalId: "t1", timeMs: T0, cents: 2500 });
    // The card's next transaction sees the backfilled one in its windows.
    const next = await s.fraud.observe({ transactionId: "tx-n", customerId: "c1", terminalId: "t2", timeMs: T0 + 60_000, amount: 5 });
    expect(next.customerCount[0]).toBe(2);
    // Eight days on, the terminal's delayed window holds the fraud, known since day 3.
    const later = await s.fraud.observe({ transactionId: "tx-l", customerId: "c9", terminalId: "t1", timeMs: T0 + 8 * 86_400_000, amount: 5 });
    expect(later.terminalFrauds[1]).toBe(1);
  });

  it("leaves legitimate labels and decisions the model answered in full alone", async () => {
    const s = stores();
    const full = makeEvent("fraud.decision", { ...EXAMPLE_PAYLOADS["fraud.decision"], decidedBy: "model" }, { producer: "fraud", eventTime: iso(T0) });
    const ok = makeEvent("fraud.label", { ...EXAMPLE_PAYLOADS["fraud.label"], label: "legitimate" }, { producer: "fraud", eventTime: iso(T0) });
    expect(await applyBatch(s, [{ event: full }, { event: ok }])).toEqual({ impressions: 0, clicks: 0, labels: 0, backfilled: 0, alreadyRecorded: 0 });
  });
});
