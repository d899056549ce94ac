import { describe, expect, it } from "vitest";
import { FRAUD_WORLD_PRESETS, FraudWorldOptionsError, createFraudWorld, resolveFraudWorldOptions, terminalsWithinRadius } from "./world";

describe("createFraudWorld", () => {
  it("draws customer profiles in the handbook's ranges", () => {
    const w = createFraudWorld({ customers: 2000, terminals: 10, seed: 3 });
    const c = w.customers;
    let meanAmount = 0;
    let meanTx = 0;
    for (let i = 0; i < c.count; i++) {
      const m = c.meanAmount[i] as number;
      expect(m).toBeGreaterThanOrEqual(5);
      expect(m).toBeLessThan(100);
      expect(c.stdAmount[i]).toBe(m / 2);
      expect(c.meanTxPerDay[i]).toBeGreaterThanOrEqual(0);
      expect(c.meanTxPerDay[i]).toBeLessThan(4);
      expect(c.x[i]).toBeGreaterThanOrEqual(0);
      expect(c.y[i]).toBeLessThan(100);
      meanAmount += m / c.count;
      meanTx += (c.meanTxPerDay[i] as number) / c.count;
    }
    // U(5,100) has mean 52.5 and sd 27.4, so the mean of 2,000 has sd 0.61; U(0,4): mean 2, sd of mean 0.026.
    expect(Math.abs(meanAmount - 52.5)).toBeLessThan(2.5);
    expect(Math.abs(meanTx - 2)).toBeLessThan(0.1);
  });

  it("is reproducible from the seed and changes with it", () => {
    const a = createFraudWorld({ customers: 50, terminals: 100, seed: 7 });
    const b = createFraudWorld({ customers: 50, terminals: 100, seed: 7 });
    const c = createFraudWorld({ customers: 50, terminals: 100, seed: 8 });
    expect(b.customers).toEqual(a.customers);
    expect(b.terminals).toEqual(a.terminals);
    expect(c.customers.x).not.toEqual(a.customers.x);
  });

  it("gives interior customers about pi * r^2 * density terminals in range", () => {
    const w = createFraudWorld("handbook");
    const c = w.customers;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < c.count; i++) {
      const x = c.x[i] as number;
      const y = c.y[i] as number;
      if (x < 5 || x > 95 || y < 5 || y > 95) continue;
      sum += (c.terminalOffsets[i + 1] as number) - (c.terminalOffsets[i] as number);
      n++;
    }
    const expected = Math.PI * 25 * (w.terminals.count / 10000);
    // Each count is about Poisson(78.5): the mean over ~4,000 interior customers has sd ~0.14.
    expect(n).toBeGreaterThan(3800);
    expect(Math.abs(sum / n - expected)).toBeLessThan(0.7);
  });

  it("finds exactly the terminals strictly within the radius (grid vs brute force)", () => {
    const w = createFraudWorld({ customers: 300, terminals: 3000, radius: 7.3, seed: 11 });
    const { x: tx, y: ty, count } = w.terminals;
    for (let i = 0; i < w.customers.count; i++) {
      const expected: number[] = [];
      for (let j = 0; j < count; j++) {
        const dx = (tx[j] as number) - (w.customers.x[i] as number);
        const dy = (ty[j] as number) - (w.customers.y[i] as number);
        if (dx * dx + dy * dy < 7.3 * 7.3) expected.push(j);
      }
      const got = Array.from(w.customers.terminalIds.subarray(w.customers.terminalOffsets[i], w.customers.terminalOffsets[i + 1]));
      expect(got).toEqual(expected);
    }
  });

  it("handles a radius larger than the area", () => {
    const terminals = { count: 3, x: Float64Array.of(1, 50, 99), y: Float64Array.of(1, 50, 99) };
    const r = terminalsWithinRadius(Float64Array.of(0, 100), Float64Array.of(0, 100), terminals, 500);
    expect(Array.from(r.offsets)).toEqual([0, 3, 6]);
    expect(Array.from(r.ids)).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe("options", () => {
  it("defaults to the handbook world and merges partial options", () => {
    const o = resolveFraudWorldOptions({ days: 10, scenarios: { terminalsPerDay: 5 } });
    expect(o.customers).toBe(5000);
    expect(o.terminals).toBe(10000);
    expect(o.days).toBe(10);
    expect(o.startDate).toBe("2018-04-01");
    expect(o.scenarios.terminalsPerDay).toBe(5);
    expect(o.scenarios.customersPerDay).toBe(3);
    expect(o.labelDelay).toEqual({ minDays: 7, maxDays: 7 });
    expect(FRAUD_WORLD_PRESETS.small.customers).toBe(1000);
  });

  it.each([
    [{ customers: 0 }, "customers"],
    [{ terminals: 2.5 }, "terminals"],
    [{ days: -1 }, "days"],
    [{ radius: 0 }, "radius"],
    [{ startDate: "2018-02-30" }, "startDate"],
    [{ labelDelay: { minDays: 3, maxDays: 2 } }, "labelDelay.maxDays"],
    [{ scenarios: { customerFraudShare: 1.5 } }, "scenarios.customerFraudShare"],
    [{ customers: 2, scenarios: { customersPerDay: 3 } }, "scenarios.customersPerDay"],
  ])("rejects %j naming %s", (input, field) => {
    const err = (() => {
      try {
        resolveFraudWorldOptions(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(FraudWorldOptionsError);
    expect((err as FraudWorldOptionsError).field).toBe(field);
  });
});
