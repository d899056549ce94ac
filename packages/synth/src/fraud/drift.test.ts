import type { TransactionTable } from "@mlsd/datasets";
import { describe, expect, it } from "vitest";
import { CARD_TESTING_DEFAULTS, DRIFT_TRANSACTION_ID_BASE, FRAUD_SCENARIO, SECONDS_PER_DAY, streamTransactionDays, type FraudDrift } from "./simulate";
import { createFraudWorld, FraudWorldOptionsError } from "./world";

const world = createFraudWorld({ customers: 300, terminals: 600, days: 30, seed: 5 });
const days = (drift?: readonly FraudDrift[]): TransactionTable[] => [...streamTransactionDays(world, drift ? { drift } : {})];
const base = days();

/** The rows of a day that the world itself made (not injected), as plain objects. */
function ownRows(t: TransactionTable): object[] {
  const rows: object[] = [];
  for (let i = 0; i < t.length; i++) {
    if ((t.transactionId[i] as number) >= DRIFT_TRANSACTION_ID_BASE) continue;
    rows.push({ id: t.transactionId[i], c: t.customerId[i], t: t.terminalId[i], a: t.amount[i], s: t.timeSeconds[i], f: t.fraud[i], sc: t.fraudScenario[i], k: t.labelKnownAt[i] });
  }
  return rows;
}

describe("fraud drift hooks", () => {
  it("change nothing without a drift", () => {
    expect(days([])).toEqual(base);
  });

  it("card testing injects bursts of small frauds after its start and leaves the world's own transactions as they were", () => {
    const startSeconds = 20 * SECONDS_PER_DAY + 12 * 3600;
    const drifted = days([{ kind: "card-testing", startSeconds, cardsPerDay: 40 }]);
    for (let d = 0; d < 20; d++) expect(drifted[d]).toEqual(base[d]);
    let injected = 0;
    const bursts = new Map<string, number[]>();
    for (let d = 20; d < 30; d++) {
      const t = drifted[d] as TransactionTable;
      expect(ownRows(t)).toEqual(ownRows(base[d] as TransactionTable));
      for (let i = 0; i < t.length; i++) {
        if (i > 0) expect(t.timeSeconds[i]).toBeGreaterThanOrEqual(t.timeSeconds[i - 1] as number);
        if ((t.transactionId[i] as number) < DRIFT_TRANSACTION_ID_BASE) continue;
        injected++;
        expect(t.fraud[i]).toBe(1);
        expect(t.fraudScenario[i]).toBe(FRAUD_SCENARIO.cardTesting);
        expect(t.timeSeconds[i]).toBeGreaterThanOrEqual(startSeconds);
        expect(t.timeDays[i]).toBe(d);
        expect(t.amount[i]).toBeGreaterThanOrEqual(CARD_TESTING_DEFAULTS.amount.min);
        expect(t.amount[i]).toBeLessThanOrEqual(CARD_TESTING_DEFAULTS.amount.max);
        // The handbook's 7-day delay for every fraud.
        expect(t.labelKnownAt[i]).toBe((t.timeSeconds[i] as number) + 7 * SECONDS_PER_DAY);
        const key = `${t.customerId[i]}/${t.terminalId[i]}`;
        bursts.set(key, [...(bursts.get(key) ?? []), t.timeSeconds[i] as number]);
      }
    }
    // 9.5 days at 40 cards a day, 19 transactions per burst on average: about 7,220.
    expect(injected).toBeGreaterThan(6000);
    expect(injected).toBeLessThan(8500);
    expect(bursts.size).toBeGreaterThan(320);
    expect(bursts.size).toBeLessThan(440);
    for (const times of bursts.values()) {
      if (times.length < CARD_TESTING_DEFAULTS.burst.min) continue;
      // One burst: within its spread (a card/terminal pair rarely repeats).
      expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(CARD_TESTING_DEFAULTS.spreadMinutes * 60);
    }
  });

  it("a terminal wave compromises that many terminals from the next day on, for its days, and changes labels only", () => {
    const startSeconds = 10 * SECONDS_PER_DAY + 3600;
    const drifted = days([{ kind: "terminal-wave", startSeconds, terminals: 60, days: 5 }]);
    const terminalFrauds = (ts: TransactionTable[], from: number, to: number) => {
      const terminals = new Set<number>();
      let n = 0;
      for (let d = from; d < to; d++) {
        const t = ts[d] as TransactionTable;
        for (let i = 0; i < t.length; i++) {
          if (t.fraudScenario[i] !== FRAUD_SCENARIO.terminal) continue;
          n++;
          terminals.add(t.terminalId[i] as number);
        }
      }
      return { n, terminals: terminals.size };
    };
    for (let d = 0; d <= 10; d++) expect(drifted[d]).toEqual(base[d]);
    for (let d = 11; d < 30; d++) {
      const a = drifted[d] as TransactionTable;
      const b = base[d] as TransactionTable;
      expect(a.transactionId).toEqual(b.transactionId);
      expect(a.amount).toEqual(b.amount);
    }
    const during = { drift: terminalFrauds(drifted, 11, 16), base: terminalFrauds(base, 11, 16) };
    // 60 extra terminals for five days; 600 terminals share about 600 transactions a day, so about
    // one per terminal and day: about 300 more terminal frauds.
    expect(during.drift.terminals - during.base.terminals).toBeGreaterThan(45);
    expect(during.drift.n - during.base.n).toBeGreaterThan(220);
    expect(during.drift.n - during.base.n).toBeLessThan(400);
    // After the wave's days, only the world's own compromises remain.
    expect(terminalFrauds(drifted, 16, 30)).toEqual(terminalFrauds(base, 16, 30));
  });

  it("refuses drifts that cannot work, naming the field", () => {
    expect(() => days([{ kind: "card-testing", startSeconds: 0, cardsPerDay: -1 }])).toThrow(FraudWorldOptionsError);
    expect(() => days([{ kind: "card-testing", startSeconds: 0, cardsPerDay: 1, burst: { min: 5, max: 2 } }])).toThrow(/drift\[0\]\.burst/);
    expect(() => days([{ kind: "terminal-wave", startSeconds: 0, terminals: 601, days: 3 }])).toThrow(/drift\[0\]\.terminals/);
  });
});
