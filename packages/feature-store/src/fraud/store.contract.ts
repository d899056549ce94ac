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

    it("looks up what was recorded, and nothing for an id never claimed", async () => {
      const store = await make();
      await store.claim("tx-2", record);
      expect(await store.lookup("tx-2")).toEqual(record);
      expect(await store.lookup("tx-never")).toBeNull();
    });
  });
}
