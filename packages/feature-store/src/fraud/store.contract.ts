import { describe, expect, it } from "vitest";
import type { FraudFeatureStore } from "./store";

/**
 * One behaviour for the transaction records of every FraudFeatureStore: Redis in the integration
 * tests, the in-memory twin in the unit tests. `make` returns a fresh, empty store.
 */
export function fraudRecordContract(name: string, make: () => FraudFeatureStore | Promise<FraudFeatureStore>): void {
  describe(`${name}: transaction record contract`, () => {
    const record = { customerId: "c1", terminalId: "t1", timeMs: Date.UTC(2018, 3, 2), cents: 4250 };

    it("claims an id once, knows a retry (with its answer once stored) from another transaction", async () => {
      const store = await make();
      expect(await store.claim("tx-1", record)).toEqual({ kind: "new" });
      expect(await store.claim("tx-1", record)).toEqual({ kind: "retry", answer: null });
      await store.saveAnswer("tx-1", '{"decision":"approve"}');
      expect(await store.claim("tx-1", record)).toEqual({ kind: "retry", answer: '{"decision":"approve"}' });
      expect(await store.claim("tx-1", { ...record, cents: 99_999 })).toEqual({ kind: "conflict", recorded: record });
      expect(await store.claim("tx-1", { ...record, terminalId: "t2" })).toEqual({ kind: "conflict", recorded: record });
    });

    it("counts a fraud label only from the time it became known, whenever it was applied", async () => {
      const store = await make();
      const day = 86_400_000;
      const t0 = Date.UTC(2018, 5, 1, 12);
      const risk = (agg: { terminalFrauds: number[]; terminalCount: number[] }) => (agg.terminalFrauds[1] ?? 0) / Math.max(1, agg.terminalCount[1] ?? 0);
      await store.observe({ transactionId: "f1", customerId: "c1", terminalId: "t-label", timeMs: t0 - 9 * day, amount: 10 });
      await store.applyKnownLabel({ transactionId: "f1", terminalId: "t-label", transactionTimeMs: t0 - 9 * day, knownAtMs: t0 + 3_600_000 });
      expect(risk(await store.observe({ transactionId: "g1", customerId: "c2", terminalId: "t-label", timeMs: t0, amount: 5 }))).toBe(0);
      expect(risk(await store.observe({ transactionId: "g2", customerId: "c3", terminalId: "t-label", timeMs: t0 + 2 * 3_600_000, amount: 5 }))).toBe(1);
    });

    it("looks up what was recorded, and nothing for an id never claimed", async () => {
      const store = await make();
      await store.claim("tx-2", record);
      expect(await store.lookup("tx-2")).toEqual(record);
      expect(await store.lookup("tx-never")).toBeNull();
    });
  });
}
