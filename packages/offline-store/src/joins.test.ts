import { EXAMPLE_PAYLOADS, makeEvent, TOPICS } from "@mlsd/contracts";
import type { ClickEvent, FraudDecisionEvent, ImpressionEvent, LabelEvent, ServedEvent } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { joinDecisionsWithLabels, joinImpressionsWithClicks, readLabelledDecisions } from "./joins";
import { OfflineStoreReader } from "./reader";
import { withTempDir } from "./testing";
import { OfflineStoreWriter } from "./writer";

function decision(tx: string, time: string, amount: number): FraudDecisionEvent {
  return makeEvent(
    "fraud.decision",
    { ...EXAMPLE_PAYLOADS["fraud.decision"], transactionId: tx, features: { amount, night: null }, score: amount / 100 },
    { producer: "test", eventTime: time },
  );
}

function label(tx: string, verdict: "fraud_confirmed" | "chargeback" | "legitimate", transactionTime: string, knownAt: string): LabelEvent {
  return makeEvent(
    "fraud.label",
    { ...EXAMPLE_PAYLOADS["fraud.label"], transactionId: tx, label: verdict, transactionTime, knownAt },
    { producer: "test", eventTime: knownAt },
  );
}

describe("point-in-time joins", () => {
  const decisions = [decision("tx-1", "2024-04-01T10:00:00.000Z", 10), decision("tx-2", "2024-04-01T11:00:00.000Z", 20), decision("tx-3", "2024-04-03T09:00:00.000Z", 30)];
  const labels = [
    label("tx-1", "chargeback", "2024-04-01T10:00:00.000Z", "2024-04-05T00:00:00.000Z"),
    label("tx-2", "legitimate", "2024-04-01T11:00:00.000Z", "2024-04-02T00:00:00.000Z"),
    label("tx-2", "fraud_confirmed", "2024-04-01T11:00:00.000Z", "2024-04-06T00:00:00.000Z"),
  ];

  it("uses the served features and only the labels known at the as-of time", () => {
    const early = joinDecisionsWithLabels(decisions, labels, { asOf: "2024-04-04T00:00:00.000Z" });
    expect(early.map((r) => [r.transactionId, r.label, r.labelKnownAt])).toEqual([
      ["tx-1", null, null],
      ["tx-2", 0, "2024-04-02T00:00:00.000Z"],
      ["tx-3", null, null],
    ]);
    expect(early[0]!.features).toEqual({ amount: 10, night: null });
    const late = joinDecisionsWithLabels(decisions, labels, { asOf: "2024-04-06T00:00:00.000Z" });
    // The later fraud verdict on tx-2 overrides the earlier "legitimate".
    expect(late.map((r) => r.label)).toEqual([1, 1, null]);
  });

  it("drops decisions after the as-of time and assumes legitimate past the label horizon", () => {
    const rows = joinDecisionsWithLabels(decisions, labels, { asOf: "2024-04-03T08:00:00.000Z", assumeLegitimateAfterMs: 36 * 3_600_000 });
    expect(rows.map((r) => [r.transactionId, r.label, r.labelAssumed])).toEqual([
      ["tx-1", 0, true],
      ["tx-2", 0, false],
    ]);
    expect(() => joinDecisionsWithLabels(decisions, labels, { asOf: "later" })).toThrow(/^asOf:/);
  });

  it("reads decisions and labels from the store and joins them", async () => {
    await withTempDir(async (root) => {
      const writer = await OfflineStoreWriter.open({ root });
      await writer.write(decisions.map((event) => ({ topic: TOPICS.fraudDecisions, event })));
      await writer.write(labels.map((event) => ({ topic: TOPICS.fraudLabels, event })));
      await writer.close();
      const rows = await readLabelledDecisions(new OfflineStoreReader(root), {
        from: "2024-04-01T00:00:00.000Z",
        to: "2024-04-02T00:00:00.000Z",
        asOf: "2024-04-05T12:00:00.000Z",
      });
      expect(rows.map((r) => [r.transactionId, r.label])).toEqual([
        ["tx-1", 1],
        ["tx-2", 0],
      ]);
    });
  });

  it("joins impressions to their request's served features and to clicks in the attribution window", () => {
    const at = (m: number) => new Date(Date.UTC(2024, 3, 1, 12, m)).toISOString();
    const served: ServedEvent = makeEvent("recs.served", EXAMPLE_PAYLOADS["recs.served"], { producer: "test", eventTime: at(0) });
    const impressions: ImpressionEvent[] = ["i-7", "i-3"].map((itemId, position) =>
      makeEvent("recs.impression", { ...EXAMPLE_PAYLOADS["recs.impression"], itemId, position }, { producer: "test", eventTime: at(0) }),
    );
    const clicks: ClickEvent[] = [
      makeEvent("recs.click", { ...EXAMPLE_PAYLOADS["recs.click"], itemId: "i-7" }, { producer: "test", eventTime: at(5) }),
      makeEvent("recs.click", { ...EXAMPLE_PAYLOADS["recs.click"], itemId: "i-3", position: 1 }, { producer: "test", eventTime: at(45) }),
    ];
    const rows = joinImpressionsWithClicks(impressions, [served], clicks, { asOf: at(59), attributionWindowMs: 30 * 60_000 });
    expect(rows.map((r) => [r.itemId, r.clicked, r.score])).toEqual([
      ["i-7", 1, 0.91],
      ["i-3", 0, 0.72],
    ]);
    expect(rows[0]!.itemFeatures).toEqual({ ann_score: 0.83, item_ctr_7d: 0.041, price: null });
    expect(rows[0]!.userFeatures).toEqual({ age_days: 412, clicks_7d: 9 });
    // Before the click was seen, the impression is unclicked.
    expect(joinImpressionsWithClicks(impressions, [served], clicks, { asOf: at(4) }).map((r) => r.clicked)).toEqual([0, 0]);
  });
});
