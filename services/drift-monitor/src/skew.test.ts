import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeEvent, TOPICS } from "@mlsd/contracts";
import type { AnyEvent } from "@mlsd/contracts";
import { assembleFraudFeatures, DAY_MS, fraudFeatureNames, MemoryFraudFeatureStore } from "@mlsd/feature-store";
import type { TransactionInput } from "@mlsd/feature-store";
import { OfflineStoreReader, OfflineStoreWriter } from "@mlsd/offline-store";
import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { measureSkew, sampleKey, SkewInputError } from "./skew";

const START = Date.UTC(2024, 3, 1);
const NAMES = fraudFeatureNames();

/**
 * Serves 600 transactions over 4 days through the online store (labels applied when known, as the
 * label consumer does), logging transactions, decisions and labels like the fraud service. Every
 * 10th decision from day 2 gets a tampered TERMINAL_ID_RISK_7DAY_WINDOW, and tx-599 a degraded
 * answer (store features missing).
 */
function servedHistory(): AnyEvent[] {
  const rng = new Rng(21);
  const store = new MemoryFraudFeatureStore();
  const events: AnyEvent[] = [];
  const pendingLabels: { knownAtMs: number; tx: TransactionInput }[] = [];
  for (let i = 0; i < 600; i++) {
    const timeMs = START + Math.floor((i / 600) * 4 * DAY_MS);
    const tx: TransactionInput = { transactionId: `tx-${i}`, customerId: `c-${rng.int(20)}`, terminalId: `t-${rng.int(8)}`, timeMs, amount: Math.round(rng.uniform(1, 200) * 100) / 100 };
    pendingLabels.sort((a, b) => a.knownAtMs - b.knownAtMs);
    while (pendingLabels.length > 0 && pendingLabels[0]!.knownAtMs <= timeMs) {
      const { tx: labelled, knownAtMs } = pendingLabels.shift()!;
      store.applyKnownLabelSync({ transactionId: labelled.transactionId, terminalId: labelled.terminalId, transactionTimeMs: labelled.timeMs, knownAtMs });
    }
    const vector = assembleFraudFeatures(tx, store.observeSync(tx));
    const features: Record<string, number | null> = Object.fromEntries(NAMES.map((n, f) => [n, vector[f] as number]));
    if (i >= 150 && i % 10 === 0) features.TERMINAL_ID_RISK_7DAY_WINDOW = (features.TERMINAL_ID_RISK_7DAY_WINDOW ?? 0) + 0.5;
    if (i === 599) for (const n of NAMES.slice(3)) features[n] = null;
    const time = new Date(timeMs).toISOString();
    const ids = { transactionId: tx.transactionId, customerId: tx.customerId, terminalId: tx.terminalId };
    events.push(makeEvent("fraud.transaction", { ...ids, amount: tx.amount, time }, { producer: "fraud", eventTime: time }));
    events.push(
      makeEvent(
        "fraud.decision",
        { ...ids, features, score: 0.1, threshold: 0.5, decision: "approve", decidedBy: "model", modelVersion: "fraud-gbdt@t", reasonCodes: [] },
        { producer: "fraud", eventTime: time },
      ),
    );
    if (rng.next() < 0.1) {
      const knownAtMs = timeMs + Math.floor(rng.uniform(0.1, 1) * DAY_MS);
      pendingLabels.push({ knownAtMs, tx });
      const knownAt = new Date(knownAtMs).toISOString();
      events.push(makeEvent("fraud.label", { ...ids, label: "chargeback", transactionTime: time, knownAt }, { producer: "fraud", eventTime: knownAt }));
    }
  }
  return events;
}

describe("training-serving skew", () => {
  it("finds the tampered feature and the degraded answer, and nothing else, from the offline store", async () => {
    const root = await mkdtemp(join(tmpdir(), "drift-monitor-skew-"));
    try {
      const writer = await OfflineStoreWriter.open({ root });
      await writer.write(servedHistory().map((event) => ({ topic: event.type === "fraud.transaction" ? TOPICS.fraudTransactions : event.type === "fraud.decision" ? TOPICS.fraudDecisions : TOPICS.fraudLabels, event })));
      await writer.close();
      const reader = new OfflineStoreReader(root);
      const report = await measureSkew(reader, { from: START + DAY_MS, to: START + 4 * DAY_MS });
      expect(report).toMatchObject({ decisions: 450, sampled: 450, compared: 450, missingTransactions: 0 });
      const byName = new Map(report.features.map((f) => [f.feature, f]));
      // Decisions 150, 160, ..., 590: 45 tampered, each by exactly 0.5.
      expect(byName.get("TERMINAL_ID_RISK_7DAY_WINDOW")).toMatchObject({ compared: 450, mismatches: 46, servedMissing: 1 });
      expect(byName.get("TERMINAL_ID_RISK_7DAY_WINDOW")!.examples[0]).toMatchObject({ transactionId: "tx-150" });
      for (const f of report.features) {
        if (f.feature === "TERMINAL_ID_RISK_7DAY_WINDOW") continue;
        // Only tx-599's degraded answer differs on the store features; the request's own features always agree.
        expect(f.mismatches).toBe(NAMES.indexOf(f.feature) < 3 ? 0 : 1);
      }
      expect(report.decisionsWithMismatch).toBe(46);

      const sampled = await measureSkew(reader, { from: START + DAY_MS, to: START + 4 * DAY_MS, sampleRate: 0.2 });
      expect(sampled.sampled).toBeGreaterThan(60);
      expect(sampled.sampled).toBeLessThan(120);
      // Short history: without the lookback, windowed features of early decisions disagree.
      const noHistory = await measureSkew(reader, { from: START + DAY_MS, to: START + 4 * DAY_MS, lookbackMs: 0 });
      expect(noHistory.features.find((f) => f.feature === "CUSTOMER_ID_NB_TX_7DAY_WINDOW")!.mismatches).toBeGreaterThan(100);
      await expect(measureSkew(reader, { from: START, to: START, sampleRate: 0.5 })).rejects.toThrow(SkewInputError);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("samples by a stable hash of the transaction id", () => {
    expect(sampleKey("tx-1")).toBe(sampleKey("tx-1"));
    expect(sampleKey("tx-1")).not.toBe(sampleKey("tx-2"));
  });
});
