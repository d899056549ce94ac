import { describe, expect, it } from "vitest";
import { FRAUD_SCENARIO, SECONDS_PER_DAY, simulateTransactions } from "./simulate";
import { summarizeTransactions } from "./summary";
import { createFraudWorld, FraudWorldOptionsError, resolveFraudWorldOptions, scenariosOnDay } from "./world";

const base = { customers: 400, terminals: 800, days: 40, seed: 11 };

describe("regimes", () => {
  it("change the scenario settings from their day on, each building on the previous", () => {
    const o = resolveFraudWorldOptions({ ...base, regimes: [{ fromDay: 10, scenarios: { terminalsPerDay: 5 } }, { fromDay: 20, scenarios: { customersPerDay: 0 } }] });
    expect(scenariosOnDay(o, 9)).toMatchObject({ terminalsPerDay: 2, customersPerDay: 3 });
    expect(scenariosOnDay(o, 10)).toMatchObject({ terminalsPerDay: 5, customersPerDay: 3 });
    expect(scenariosOnDay(o, 25)).toMatchObject({ terminalsPerDay: 5, customersPerDay: 0 });
  });

  it("leave the world unchanged when they change nothing", () => {
    const plain = simulateTransactions(createFraudWorld(base));
    const noop = simulateTransactions(createFraudWorld({ ...base, regimes: [{ fromDay: 5, scenarios: { terminalsPerDay: 2 } }] }));
    expect(noop).toEqual(plain);
  });

  it("apply a new amount threshold from its day on", () => {
    const t = simulateTransactions(createFraudWorld({ ...base, regimes: [{ fromDay: 20, scenarios: { amountThreshold: 150 } }] }));
    let before = 0;
    let after = 0;
    for (let i = 0; i < t.length; i++) {
      const a = t.amount[i] as number;
      const s = t.fraudScenario[i] as number;
      if (s === FRAUD_SCENARIO.none && a > 150 && (t.timeDays[i] as number) >= 20) throw new Error(`row ${i}: legitimate at ${a} after the change`);
      if (s !== FRAUD_SCENARIO.amount || a > 220) continue;
      if ((t.timeDays[i] as number) < 20) before++;
      else after++;
    }
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(20);
  });

  it("reject regimes out of day order and settings out of range, naming the field", () => {
    expect(() => resolveFraudWorldOptions({ regimes: [{ fromDay: 5, scenarios: {} }, { fromDay: 5, scenarios: {} }] })).toThrow(/regimes\[1\]\.fromDay/);
    expect(() => resolveFraudWorldOptions({ regimes: [{ fromDay: 3, scenarios: { customerFraudShare: 2 } }] })).toThrow(FraudWorldOptionsError);
    expect(() => resolveFraudWorldOptions({ regimes: [{ fromDay: 3, scenarios: { customerFraudShare: 2 } }] })).toThrow(/regimes\[0\]\.scenarios\.customerFraudShare/);
    expect(() => resolveFraudWorldOptions({ scenarios: { burstMinutes: 0 } })).toThrow(/scenarios\.burstMinutes/);
  });
});

describe("adapted fraudsters", () => {
  it("keep scenario-3 amounts at or under the cap, from the regime's day on", () => {
    const t = simulateTransactions(createFraudWorld({ ...base, regimes: [{ fromDay: 20, scenarios: { customerAmountCap: 219 } }] }));
    let cappedAfter = 0;
    let overBefore = 0;
    for (let i = 0; i < t.length; i++) {
      if (t.fraudScenario[i] !== FRAUD_SCENARIO.customer) continue;
      const a = t.amount[i] as number;
      // A compromise started on day 19 or earlier multiplied its window's amounts already.
      if ((t.timeDays[i] as number) >= 20 + 14 && a > 219) throw new Error(`row ${i}: ${a} above the cap`);
      if ((t.timeDays[i] as number) >= 20 + 14 && a === 219) cappedAfter++;
      if ((t.timeDays[i] as number) < 20 && a > 219) overBefore++;
    }
    expect(cappedAfter).toBeGreaterThan(0);
    expect(overBefore).toBeGreaterThan(0);
  });
});

describe("fast attacks (scenario 4)", () => {
  const attacked = { ...base, scenarios: { burstCardsPerDay: 4, burstTransactions: 6, burstMinutes: 20 } };
  const t = simulateTransactions(createFraudWorld(attacked));

  it("add bursts of payments within the burst span, in time order, labelled scenario 4", () => {
    const s = summarizeTransactions(t);
    // 4 cards x 6 payments x 40 days, less the rare customer with no terminal in range.
    expect(s.byScenario[4]).toBeGreaterThan(0.95 * 4 * 6 * 40);
    expect(s.byScenario[4]).toBeLessThanOrEqual(4 * 6 * 40);
    const byCardDay = new Map<string, number[]>();
    for (let i = 0; i < t.length; i++) {
      if (i > 0 && (t.timeSeconds[i] as number) < (t.timeSeconds[i - 1] as number)) throw new Error(`row ${i} out of time order`);
      if (t.fraudScenario[i] !== FRAUD_SCENARIO.burst) continue;
      expect(t.fraud[i]).toBe(1);
      const key = `${t.customerId[i]}:${t.timeDays[i]}`;
      byCardDay.set(key, [...(byCardDay.get(key) ?? []), t.timeSeconds[i] as number]);
    }
    for (const times of byCardDay.values()) {
      // A card attacked twice the same day has two bursts; one burst spans under 20 minutes.
      if (times.length === 6) expect(Math.max(...times) - Math.min(...times)).toBeLessThan(20 * 60);
    }
  });

  it("use the owner's usual amounts and terminals, so only the pace stands out", () => {
    const w = createFraudWorld(attacked);
    let ratio = 0;
    let n = 0;
    for (let i = 0; i < t.length; i++) {
      if (t.fraudScenario[i] !== FRAUD_SCENARIO.burst) continue;
      const c = t.customerId[i] as number;
      const ids = w.customers.terminalIds.subarray(w.customers.terminalOffsets[c], w.customers.terminalOffsets[c + 1]);
      if (!ids.includes(t.terminalId[i] as number)) throw new Error(`row ${i}: terminal out of range`);
      ratio += (t.amount[i] as number) / (w.customers.meanAmount[c] as number);
      n++;
    }
    expect(ratio / n).toBeGreaterThan(0.9);
    expect(ratio / n).toBeLessThan(1.25);
  });

  it("leave every other transaction as it was without them", () => {
    const plain = simulateTransactions(createFraudWorld(base));
    const others = Array.from({ length: t.length }, (_, i) => i).filter((i) => t.fraudScenario[i] !== FRAUD_SCENARIO.burst);
    expect(others.length).toBe(plain.length);
    expect(Float64Array.from(others, (i) => t.amount[i] as number)).toEqual(plain.amount);
    expect(Float64Array.from(others, (i) => t.timeSeconds[i] as number)).toEqual(plain.timeSeconds);
    expect(t.labelKnownAt[t.length - 1]! - t.timeSeconds[t.length - 1]!).toBe(7 * SECONDS_PER_DAY);
  });
});
