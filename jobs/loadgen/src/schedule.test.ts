import { describe, expect, it } from "vitest";
import { LoadgenInputError } from "./errors";
import { scheduleArrivals } from "./schedule";

describe("scheduleArrivals", () => {
  it("spaces constant arrivals exactly 1/rate apart over the span", () => {
    const t = scheduleArrivals({ rate: 1000, spanMs: 1000 });
    expect(t.length).toBe(1000);
    expect(t[0]).toBe(0);
    expect(t[999]).toBeCloseTo(999, 9);
    const odd = scheduleArrivals({ rate: 300, spanMs: 10_000 });
    expect(odd.length).toBe(3000);
    expect((odd[1] as number) - (odd[0] as number)).toBeCloseTo(10 / 3, 9);
  });

  it("draws Poisson arrivals with exponential gaps, reproducibly from the seed", () => {
    const a = scheduleArrivals({ rate: 1000, spanMs: 10_000, arrivals: "poisson", seed: 7 });
    const b = scheduleArrivals({ rate: 1000, spanMs: 10_000, arrivals: "poisson", seed: 7 });
    const c = scheduleArrivals({ rate: 1000, spanMs: 10_000, arrivals: "poisson", seed: 8 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a.slice(0, 10))).not.toEqual(Array.from(c.slice(0, 10)));
    // 10,000 expected, standard deviation 100.
    expect(Math.abs(a.length - 10_000)).toBeLessThan(400);
    const gaps = Array.from(a.slice(1), (t, i) => t - (a[i] as number));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeCloseTo(1, 1);
    // An exponential's coefficient of variation is 1 (a constant rate's is 0).
    expect(sd / mean).toBeGreaterThan(0.95);
    expect(sd / mean).toBeLessThan(1.05);
    for (let i = 1; i < a.length; i++) expect(a[i] as number).toBeGreaterThan(a[i - 1] as number);
    expect(a[a.length - 1] as number).toBeLessThan(10_000);
  });

  it("refuses a rate, span or process that makes no schedule, naming the field", () => {
    expect(() => scheduleArrivals({ rate: 0, spanMs: 1000 })).toThrow(new LoadgenInputError("rate", "must be a positive number, got 0"));
    expect(() => scheduleArrivals({ rate: 10, spanMs: Number.NaN })).toThrow(/^spanMs:/);
    expect(() => scheduleArrivals({ rate: 10, spanMs: 10, arrivals: "bursty" as never })).toThrow(/^arrivals: must be constant or poisson/);
    expect(() => scheduleArrivals({ rate: 1e9, spanMs: 1e6 })).toThrow(/^rate: .* above 20000000/);
  });
});
