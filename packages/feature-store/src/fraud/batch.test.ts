import { describe, expect, it } from "vitest";
import { DAY_MS, fraudFeatureNames, type LabelInput, type TransactionInput } from "./definitions";
import { buildFraudFeaturesOffline, fraudLabelInputs, fraudTransactionInputs, selectFeatureRows } from "./offline";

const MIDNIGHT = Date.UTC(2018, 3, 2); // Monday
const tx = (id: string, customerId: string, terminalId: string, timeMs: number, amount: number): TransactionInput => ({ transactionId: id, customerId, terminalId, timeMs, amount });
const names = fraudFeatureNames();
const col = (name: string) => names.indexOf(name);

describe("batch-materialised features", () => {
  const history = [
    tx("a", "c1", "t1", MIDNIGHT - DAY_MS + 3_600_000, 40),
    tx("b", "c1", "t1", MIDNIGHT + 9 * 3_600_000, 10),
    tx("c", "c1", "t1", MIDNIGHT + 9 * 3_600_000 + 60_000, 20),
    tx("d", "c1", "t1", MIDNIGHT + DAY_MS + 60_000, 30),
  ];
  const streaming = buildFraudFeaturesOffline(history, []);
  const batch = buildFraudFeaturesOffline(history, [], undefined, undefined, { batchPeriodMs: DAY_MS });
  const at = (m: typeof batch, row: number, name: string) => m.values[row * names.length + col(name)] as number;

  it("serve the aggregates of the last run: today's transactions are invisible until the next one", () => {
    // Streaming sees the burst of b and c; the batch run of midnight saw only a.
    expect(at(streaming, 2, "CUSTOMER_ID_NB_TX_10MIN")).toBe(2);
    expect(at(batch, 2, "CUSTOMER_ID_NB_TX_10MIN")).toBe(0);
    expect(at(streaming, 2, "CUSTOMER_ID_NB_TX_1DAY_WINDOW")).toBe(2);
    expect(at(batch, 2, "CUSTOMER_ID_NB_TX_1DAY_WINDOW")).toBe(1);
    expect(at(batch, 2, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW")).toBe(40);
    // The next day's run has seen b and c.
    expect(at(batch, 3, "CUSTOMER_ID_NB_TX_1DAY_WINDOW")).toBe(2);
    expect(at(batch, 3, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW")).toBe(15);
  });

  it("keep the request's own fields fresh", () => {
    expect(at(batch, 2, "TX_AMOUNT")).toBe(20);
    expect(at(batch, 2, "TX_DURING_NIGHT")).toBe(0);
    expect(at(batch, 0, "TX_DURING_NIGHT")).toBe(1);
  });

  it("use only labels known at the run", () => {
    const txs = [tx("f", "c1", "t9", MIDNIGHT - 9 * DAY_MS, 10), tx("g", "c2", "t9", MIDNIGHT + 3_600_000, 10), tx("h", "c3", "t9", MIDNIGHT + DAY_MS + 3_600_000, 10)];
    const labels: LabelInput[] = [{ transactionId: "f", terminalId: "t9", transactionTimeMs: txs[0]!.timeMs, knownAtMs: MIDNIGHT + 60_000 }];
    const s = buildFraudFeaturesOffline(txs, labels);
    const b = buildFraudFeaturesOffline(txs, labels, undefined, undefined, { batchPeriodMs: DAY_MS });
    // Known a minute after midnight: the streaming path uses it at 01:00, the batch path the day after.
    expect(at(s, 1, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(1);
    expect(at(b, 1, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(0);
    expect(at(b, 2, "TERMINAL_ID_RISK_7DAY_WINDOW")).toBe(1);
  });

  it("reject a period that is not positive", () => {
    expect(() => buildFraudFeaturesOffline(history, [], undefined, undefined, { batchPeriodMs: 0 })).toThrow(/batchPeriodMs/);
  });
});

describe("transaction columns to feature inputs", () => {
  const table = {
    length: 3,
    originEpochSeconds: MIDNIGHT / 1000,
    transactionId: [0, 1, 2],
    customerId: [5, 5, 6],
    terminalId: [7, 8, 7],
    amount: [12.5, 3, 99],
    timeSeconds: [10, 20, 30],
    fraud: [0, 1, 0],
    labelKnownAt: [10 + 7 * 86400, 20 + 3 * 86400, 30 + 7 * 86400],
  };

  it("turn rows into transactions and fraud rows into labels known at their chargeback", () => {
    const txs = fraudTransactionInputs(table);
    expect(txs[1]).toEqual({ transactionId: "1", customerId: "5", terminalId: "8", timeMs: MIDNIGHT + 20_000, amount: 3 });
    expect(fraudLabelInputs(table, txs)).toEqual([{ transactionId: "1", terminalId: "8", transactionTimeMs: MIDNIGHT + 20_000, knownAtMs: MIDNIGHT + 20_000 + 3 * DAY_MS }]);
  });

  it("select matrix rows in the order asked", () => {
    const m = buildFraudFeaturesOffline(fraudTransactionInputs(table), []);
    const picked = selectFeatureRows(m, [2, 0]);
    expect(picked.numRows).toBe(2);
    expect(picked.numColumns).toBe(names.length);
    expect(picked.data[0]).toBe(99);
    expect(picked.data[names.length]).toBe(12.5);
  });
});
