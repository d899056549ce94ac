import { describe, expect, it } from "vitest";
import { expectedCounts } from "./expected.test-helper";
import { FRAUD_SCENARIO, SECONDS_PER_DAY, iterateTransactions, simulateTransactions, streamTransactionDays } from "./simulate";
import { summarizeTransactions } from "./summary";
import { TransactionTableBuilder } from "@mlsd/datasets";
import type { TransactionTable } from "@mlsd/datasets";
import { FRAUD_WORLD_PRESETS, createFraudWorld } from "./world";

const small = createFraudWorld("small");
const smallLog = simulateTransactions(small);

describe("simulateTransactions", () => {
  it("is identical for the same seed and differs for another", () => {
    const options = { customers: 200, terminals: 400, days: 20, seed: 42 };
    const a = simulateTransactions(createFraudWorld(options));
    const b = simulateTransactions(createFraudWorld(options));
    const c = simulateTransactions(createFraudWorld({ ...options, seed: 43 }));
    expect(a.length).toBeGreaterThan(5000);
    expect(b).toEqual(a);
    expect(c.amount.subarray(0, 100)).not.toEqual(a.amount.subarray(0, 100));
  });

  it("orders rows by time with ids 0..n-1 and consistent time columns", () => {
    const t = smallLog;
    expect(t.originEpochSeconds).toBe(Date.UTC(2018, 3, 1) / 1000);
    for (let i = 0; i < t.length; i++) {
      if (t.transactionId[i] !== i) throw new Error(`row ${i} has id ${t.transactionId[i]}`);
      const s = t.timeSeconds[i] as number;
      if (i > 0 && s < (t.timeSeconds[i - 1] as number)) throw new Error(`row ${i} is earlier than row ${i - 1}`);
      if (t.timeDays[i] !== Math.floor(s / SECONDS_PER_DAY)) throw new Error(`row ${i}: day ${t.timeDays[i]} for ${s} s`);
    }
    expect(t.timeDays[0]).toBe(0);
    expect(t.timeDays[t.length - 1]).toBe(FRAUD_WORLD_PRESETS.small.days - 1);
  });

  it("pays only at terminals in range, with amounts in cents and labels matching scenarios", () => {
    const t = smallLog;
    const c = small.customers;
    for (let i = 0; i < t.length; i++) {
      const cust = t.customerId[i] as number;
      const term = t.terminalId[i] as number;
      const ids = c.terminalIds.subarray(c.terminalOffsets[cust], c.terminalOffsets[cust + 1]);
      if (!ids.includes(term)) throw new Error(`row ${i}: terminal ${term} is out of customer ${cust}'s range`);
      const a = t.amount[i] as number;
      if (!(a >= 0) || Math.abs(a * 100 - Math.round(a * 100)) > 1e-6) throw new Error(`row ${i}: amount ${a}`);
      const scenario = t.fraudScenario[i] as number;
      if (t.fraud[i] !== (scenario > 0 ? 1 : 0)) throw new Error(`row ${i}: fraud ${t.fraud[i]} with scenario ${scenario}`);
      if (scenario === FRAUD_SCENARIO.amount && !(a > 220)) throw new Error(`row ${i}: scenario 1 at amount ${a}`);
      if (scenario === FRAUD_SCENARIO.none && a > 220) throw new Error(`row ${i}: legitimate at amount ${a}`);
    }
  });

  it("compromises terminals for whole days, in windows of 28 days", () => {
    // Busy terminals (about 10 transactions a day each) so that a window's first and last days are seen.
    const t = simulateTransactions(createFraudWorld({ customers: 3000, terminals: 600, radius: 10, days: 60, seed: 4, scenarios: { terminalsPerDay: 1 } }));
    // Per terminal, its transactions in time order: a compromise is a run of scenario-2 frauds with
    // no other label inside, covering whole days.
    const byTerminal = new Map<number, number[]>();
    for (let i = 0; i < t.length; i++) {
      const rows = byTerminal.get(t.terminalId[i] as number) ?? [];
      rows.push(i);
      byTerminal.set(t.terminalId[i] as number, rows);
    }
    const spans: number[] = [];
    for (const rows of byTerminal.values()) {
      let first = -1;
      let last = -1;
      let lastOtherDay = -1;
      const close = () => {
        if (first <= 31) spans.push(last - first + 1);
        first = -1;
      };
      for (const i of rows) {
        const day = t.timeDays[i] as number;
        const scenario = t.fraudScenario[i] as number;
        // Scenario 3 overrides 2, so its rows say nothing about the terminal.
        if (scenario === FRAUD_SCENARIO.customer) continue;
        if (scenario === FRAUD_SCENARIO.terminal) {
          if (first < 0 && lastOtherDay === day) throw new Error(`row ${i}: terminal compromised during day ${day}`);
          if (first < 0) first = day;
          last = day;
          continue;
        }
        lastOtherDay = day;
        if (first >= 0 && day === last) throw new Error(`row ${i}: legitimate on day ${day} at a terminal compromised that day`);
        if (first >= 0) close();
      }
      if (first >= 0) close();
    }
    // Runs starting by day 31 end before the log does; a terminal drawn twice can join two windows.
    expect(spans.length).toBeGreaterThan(25);
    expect(spans.filter((s) => s === 28).length / spans.length).toBeGreaterThan(0.9);
    expect(Math.max(...spans)).toBeLessThanOrEqual(56);
  });

  it("multiplies the amounts of scenario-3 frauds by 5", () => {
    const t = smallLog;
    let ratioSum = 0;
    let n = 0;
    for (let i = 0; i < t.length; i++) {
      if (t.fraudScenario[i] !== FRAUD_SCENARIO.customer) continue;
      ratioSum += (t.amount[i] as number) / (small.customers.meanAmount[t.customerId[i] as number] as number);
      n++;
    }
    // A normal amount averages its customer's mean (slightly more: negatives are redrawn upwards).
    expect(ratioSum / n).toBeGreaterThan(4.6);
    expect(ratioSum / n).toBeLessThan(5.6);
  });

  it("matches the analytical expectations on the small preset", () => {
    const s = summarizeTransactions(smallLog);
    const e = expectedCounts(small);
    // Given the profiles the count is Poisson: 4 standard deviations.
    expect(Math.abs(s.transactions - e.transactions)).toBeLessThan(4 * Math.sqrt(e.transactions));
    expect(Math.abs(s.byScenario[1] - e.scenario1)).toBeLessThan(4 * Math.sqrt(e.scenario1));
    // Scenarios 2 and 3 vary by which entities are drawn: over 30 seeds the observed/expected ratio
    // had sd 4.4 % and 4.9 %, so 15 % is about 3 sd.
    expect(Math.abs(s.byScenario[2] / e.scenario2 - 1)).toBeLessThan(0.15);
    expect(Math.abs(s.byScenario[3] / e.scenario3 - 1)).toBeLessThan(0.15);
    const expectedRate = (e.scenario1 + e.scenario2 + e.scenario3) / e.transactions;
    expect(Math.abs(s.fraudRate / expectedRate - 1)).toBeLessThan(0.1);
    expect(s.frauds).toBe(s.byScenario[1] + s.byScenario[2] + s.byScenario[3]);
  });

  it("switches scenarios off when their rates are zero", () => {
    const w = createFraudWorld({ customers: 300, terminals: 600, days: 30, seed: 5, scenarios: { terminalsPerDay: 0, customersPerDay: 0, amountThreshold: 1e9 } });
    expect(summarizeTransactions(simulateTransactions(w)).frauds).toBe(0);
  });
});

describe("label availability", () => {
  it("makes every label known 7 days after its transaction by default", () => {
    const t = smallLog;
    for (let i = 0; i < t.length; i++) {
      if ((t.labelKnownAt[i] as number) - (t.timeSeconds[i] as number) !== 7 * SECONDS_PER_DAY) throw new Error(`row ${i}`);
    }
  });

  it("draws fraud delays in [min, max] whole seconds and keeps legitimate labels at the window's end", () => {
    const w = createFraudWorld({ customers: 300, terminals: 600, days: 40, seed: 9, labelDelay: { minDays: 2, maxDays: 30 } });
    const t = simulateTransactions(w);
    const delays: number[] = [];
    for (let i = 0; i < t.length; i++) {
      const delay = (t.labelKnownAt[i] as number) - (t.timeSeconds[i] as number);
      if (t.fraud[i] === 0) {
        if (delay !== 30 * SECONDS_PER_DAY) throw new Error(`row ${i}: legitimate delay ${delay}`);
        continue;
      }
      if (!Number.isInteger(delay) || delay < 2 * SECONDS_PER_DAY || delay > 30 * SECONDS_PER_DAY) throw new Error(`row ${i}: delay ${delay}`);
      delays.push(delay / SECONDS_PER_DAY);
    }
    expect(delays.length).toBeGreaterThan(200);
    const mean = delays.reduce((a, b) => a + b) / delays.length;
    // Uniform on [2, 30]: mean 16, sd 8.1; the mean of 200+ has sd < 0.6.
    expect(Math.abs(mean - 16)).toBeLessThan(2.5);
    // The delay stream is separate, so the transactions themselves are those of the default delay.
    const same = simulateTransactions(createFraudWorld({ customers: 300, terminals: 600, days: 40, seed: 9 }));
    expect(same.amount).toEqual(t.amount);
    expect(same.fraudScenario).toEqual(t.fraudScenario);
  });
});

describe("streaming", () => {
  it("yields one table per day whose concatenation is the in-memory log", () => {
    const w = createFraudWorld({ customers: 200, terminals: 400, days: 25, seed: 1 });
    const builder = new TransactionTableBuilder(w.originEpochSeconds, 4);
    let days = 0;
    for (const day of streamTransactionDays(w)) {
      for (let i = 0; i < day.length; i++) expect(day.timeDays[i]).toBe(days);
      builder.append(day);
      days++;
    }
    expect(days).toBe(25);
    expect(builder.finish()).toEqual(simulateTransactions(w));
  });

  it("iterates transaction objects in time order with unix times", () => {
    const w = createFraudWorld({ customers: 100, terminals: 200, days: 10, seed: 2 });
    const table: TransactionTable = simulateTransactions(w);
    let i = 0;
    for (const tx of iterateTransactions(w)) {
      expect(tx.transactionId).toBe(i);
      expect(tx.epochSeconds).toBe(w.originEpochSeconds + (table.timeSeconds[i] as number));
      expect(tx.amount).toBe(table.amount[i]);
      expect(tx.labelKnownAt).toBe(table.labelKnownAt[i]);
      i++;
    }
    expect(i).toBe(table.length);
  });
});
