import { describe, expect, it } from "vitest";
import { assembleFraudFeatures, DAY_MS, fraudFeatureNames, fraudFeatureSchemaHash, isNight, isWeekend, type TransactionInput } from "./definitions";
import { MemoryFraudFeatureStore } from "./memory-store";
import { buildFraudFeaturesOffline } from "./offline";
import { fraudRecordContract } from "./store.contract";

const T0 = Date.UTC(2018, 3, 2, 12, 0, 0); // Monday 2018-04-02 12:00 UTC
const tx = (id: string, customerId: string, terminalId: string, timeMs: number, amount: number): TransactionInput => ({
  transactionId: id,
  customerId,
  terminalId,
  timeMs,
  amount,
});

function feature(names: string[], vector: Float64Array, name: string): number {
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`no feature ${name}`);
  return vector[i] as number;
}

describe("fraud feature definitions", () => {
  const names = fraudFeatureNames();

  it("names 19 features in a fixed order with a stable schema hash", () => {
    expect(names).toHaveLength(19);
    expect(names.slice(0, 3)).toEqual(["TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT"]);
    expect(names).toContain("TERMINAL_ID_RISK_7DAY_WINDOW");
    expect(names).toContain("CUSTOMER_ID_NB_TX_10MIN");
    expect(names).toContain("TERMINAL_ID_NB_TX_1HOUR");
    expect(fraudFeatureSchemaHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(fraudFeatureSchemaHash({ windowDays: [1, 7], labelDelayDays: 7, velocityWindowsMs: [600_000] })).not.toBe(fraudFeatureSchemaHash());
  });

  it("flags weekends and nights in UTC", () => {
    expect(isWeekend(Date.UTC(2018, 3, 7, 10))).toBe(true); // Saturday
    expect(isWeekend(T0)).toBe(false);
    expect(isNight(Date.UTC(2018, 3, 2, 6, 59))).toBe(true);
    expect(isNight(Date.UTC(2018, 3, 2, 7, 0))).toBe(false);
  });

  it("computes customer windows including the transaction, and velocity counts", async () => {
    const store = new MemoryFraudFeatureStore();
    await store.observe(tx("a", "c1", "t1", T0 - 20 * DAY_MS, 100));
    await store.observe(tx("b", "c1", "t2", T0 - 2 * DAY_MS, 50));
    await store.observe(tx("c", "c1", "t3", T0 - 30 * 60_000, 10));
    const agg = await store.observe(tx("d", "c1", "t4", T0, 30.5));
    const v = assembleFraudFeatures({ timeMs: T0, amount: 30.5 }, agg);
    expect(feature(names, v, "CUSTOMER_ID_NB_TX_1DAY_WINDOW")).toBe(2);
    expect(feature(names, v, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW")).toBeCloseTo(20.25, 10);
    expect(feature(names, v, "CUSTOMER_ID_NB_TX_7DAY_WINDOW")).toBe(3);
    expect(feature(names, v, "CUSTOMER_ID_NB_TX_30DAY_WINDOW")).toBe(4);
    expect(feature(names, v, "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW")).toBeCloseTo(190.5 / 4, 10);
    expect(feature(names, v, "CUSTOMER_ID_NB_TX_10MIN")).toBe(1);
    expect(feature(names, v, "CUSTOMER_ID_NB_TX_1HOUR")).toBe(2);
  });

  it("terminal risk uses the delayed window and only labels known at decision time", async () => {
    const store = new MemoryFraudFeatureStore();
    // Two transactions at terminal t1 eight days before; one of them is fraud.
    await store.observe(tx("x1", "c1", "t1", T0 - 8 * DAY_MS + 60_000, 10));
    await store.observe(tx("x2", "c2", "t1", T0 - 8 * DAY_MS + 3_600_000, 10));
    const before = assembleFraudFeatures({ timeMs: T0, amount: 5 }, await store.observe(tx("y1", "c3", "t1", T0, 5)));
    expect(feature(names, before, "TERMINAL_ID_NB_TX_1DAY_WINDOW")).toBe(2);
    expect(feature(names, before, "TERMINAL_ID_RISK_1DAY_WINDOW")).toBe(0);
    await store.applyKnownLabel({ transactionId: "x2", terminalId: "t1", transactionTimeMs: T0 - 8 * DAY_MS + 3_600_000, knownAtMs: T0 + 1 });
    const after = assembleFraudFeatures({ timeMs: T0 + 30_000, amount: 5 }, await store.observe(tx("y2", "c4", "t1", T0 + 30_000, 5)));
    expect(feature(names, after, "TERMINAL_ID_RISK_1DAY_WINDOW")).toBe(0.5);
    expect(feature(names, after, "TERMINAL_ID_RISK_30DAY_WINDOW")).toBe(0.5);
    // The current transaction is far too recent to be in any delayed window.
    expect(feature(names, after, "TERMINAL_ID_NB_TX_1HOUR")).toBe(2);
  });

  it("counts a fraud only once its label is known at the decision time, whenever the label arrived", async () => {
    const store = new MemoryFraudFeatureStore();
    await store.observe(tx("f1", "c1", "t1", T0 - 9 * DAY_MS, 10));
    // The chargeback reaches the store early (a replay, a backfill) but is known only at T0 + 1 h.
    await store.applyKnownLabel({ transactionId: "f1", terminalId: "t1", transactionTimeMs: T0 - 9 * DAY_MS, knownAtMs: T0 + 3_600_000 });
    const before = assembleFraudFeatures({ timeMs: T0, amount: 5 }, await store.observe(tx("g1", "c2", "t1", T0, 5)));
    expect(feature(names, before, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(0);
    const after = assembleFraudFeatures({ timeMs: T0 + 2 * 3_600_000, amount: 5 }, await store.observe(tx("g2", "c3", "t1", T0 + 2 * 3_600_000, 5)));
    expect(feature(names, after, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(1);
    // A second label for it, known earlier, moves the time it counts from; a third changes nothing.
    await store.applyKnownLabel({ transactionId: "f1", terminalId: "t1", transactionTimeMs: T0 - 9 * DAY_MS, knownAtMs: T0 - 3_600_000 });
    await store.applyKnownLabel({ transactionId: "f1", terminalId: "t1", transactionTimeMs: T0 - 9 * DAY_MS, knownAtMs: T0 + DAY_MS });
    const again = assembleFraudFeatures({ timeMs: T0, amount: 5 }, await store.observe(tx("g3", "c4", "t1", T0, 5)));
    expect(feature(names, again, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(1 / 1);
  });

  it("is idempotent per transaction id", async () => {
    const store = new MemoryFraudFeatureStore();
    const first = await store.observe(tx("a", "c1", "t1", T0, 10));
    const retry = await store.observe(tx("a", "c1", "t1", T0, 10));
    expect(retry).toEqual(first);
    expect(first.customerCount).toEqual([1, 1, 1]);
  });

  it("offline replay applies each label only from its known-at time", () => {
    const history = [
      tx("f", "c1", "t1", T0 - 9 * DAY_MS, 10),
      tx("g", "c2", "t9", T0 - 1000, 10),
      tx("h", "c2", "t1", T0, 10),
      tx("i", "c3", "t1", T0 + DAY_MS / 2, 10),
    ];
    const label = { transactionId: "f", terminalId: "t1", transactionTimeMs: T0 - 9 * DAY_MS, knownAtMs: T0 + 1 };
    const m = buildFraudFeaturesOffline(history, [label]);
    const row = (i: number) => m.values.subarray(i * m.names.length, (i + 1) * m.names.length);
    expect(feature(m.names, row(2), "TERMINAL_ID_NB_TX_7DAY_WINDOW")).toBe(1);
    expect(feature(m.names, row(2), "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(0); // not known yet at T0
    expect(feature(m.names, row(3), "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(1);
    expect(() => buildFraudFeaturesOffline([history[2]!, history[0]!], [])).toThrow(/time order/);
  });
});

fraudRecordContract("MemoryFraudFeatureStore", () => new MemoryFraudFeatureStore());
