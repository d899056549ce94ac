import { buildReference, createDriftReference, type NumericFeatureReference } from "@mlsd/drift";
import { describe, expect, it } from "vitest";
import { referenceMean, referenceTraffic, sampleReference, scoreDriftPolls, type DriftPoll } from "./drift-injected";
import type { OpenLoopResult } from "./open-loop";
import { asProbeResult, overloadPhases, p99Bound, scoreOverload } from "./overload";

const DAY_MS = 86_400_000;
const numeric = (name: string, values: number[]) => buildReference(name, values, { kind: "numeric" }) as NumericFeatureReference;
const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe("drift-injected: traffic drawn from the reference", () => {
  // Amounts 1..100 evenly, as are the cards' 30-day averages; 20 % at night; cards with 60
  // transactions in 30 days (2 a day), terminals with 30 (1 a day).
  const reference = createDriftReference({
    features: [
      numeric("TX_AMOUNT", range(1000, (i) => 1 + (i % 100))),
      numeric("TX_DURING_NIGHT", range(1000, (i) => (i % 5 === 0 ? 1 : 0))),
      numeric("CUSTOMER_ID_NB_TX_30DAY_WINDOW", range(1000, () => 60)),
      numeric("TERMINAL_ID_NB_TX_30DAY_WINDOW", range(1000, () => 30)),
      numeric("CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW", range(1000, (i) => 1 + (i % 100))),
    ],
  });
  const amount = reference.features[0] as NumericFeatureReference;

  it("samples a numeric reference by its counts and knows its mean", () => {
    expect(sampleReference(amount, 0, 0)).toBe(amount.min);
    expect(sampleReference(amount, 0.999_999, 0.999_999)).toBeCloseTo(amount.max, 1);
    const draws = range(20_000, (i) => sampleReference(amount, ((i * 0.618_034) % 1), ((i * 0.414_214) % 1)));
    const below25 = draws.filter((x) => x < 25.5).length / draws.length;
    expect(below25).toBeGreaterThan(0.23);
    expect(below25).toBeLessThan(0.27);
    expect(referenceMean(amount)).toBeCloseTo(50.5, 0);
  });

  it("sizes cards and terminals to the reference's daily rates, keeps its night share, and shifts half the cards", () => {
    // 10 transactions a real second at 8640x: 100 a clock day; 2 a card a day -> 50 cards, 1 a terminal -> 100 terminals.
    const now = Date.UTC(2024, 1, 5, 12, 0, 0);
    const traffic = referenceTraffic(reference, { rate: 10, clockSpeed: 8640, multiple: 10, now: () => now });
    expect(traffic.customers).toBe(50);
    expect(traffic.terminals).toBe(100);
    expect(traffic.nightShare).toBeCloseTo(0.2, 12);
    const normal = range(5000, (n) => traffic.next(n, false));
    const night = normal.filter((t) => t.timeMs % DAY_MS < 6 * 3_600_000).length / normal.length;
    expect(night).toBeGreaterThan(0.17);
    expect(night).toBeLessThan(0.23);
    // Within the last clock day, never in the future.
    expect(normal.every((t) => t.timeMs <= now && t.timeMs > now - DAY_MS - 1_000)).toBe(true);
    expect(new Set(normal.map((t) => t.customerId)).size).toBe(50);
    expect(normal.every((t) => Number(t.terminalId) < 100)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(normal.map((t) => t.amount))).toBeCloseTo(50.5, -0.5);
    // Half the cards (the even ones) spend 10x as much once shifted; the others as before.
    const shifted = range(20_000, (n) => traffic.next(n, true));
    const spend = (list: typeof normal, parity: number) => mean(list.filter((t) => Number(t.customerId) % 2 === parity).map((t) => t.amount));
    expect(spend(shifted, 0) / spend(normal, 0)).toBeGreaterThan(8);
    expect(spend(shifted, 0) / spend(normal, 0)).toBeLessThan(12);
    expect(spend(shifted, 1) / spend(normal, 1)).toBeGreaterThan(0.85);
    expect(spend(shifted, 1) / spend(normal, 1)).toBeLessThan(1.15);
    // Cards with different rates in the reference get different shares of the traffic.
    const busy = referenceTraffic(createDriftReference({ features: [...reference.features.filter((f) => f.name !== "CUSTOMER_ID_NB_TX_30DAY_WINDOW"), numeric("CUSTOMER_ID_NB_TX_30DAY_WINDOW", range(1000, (i) => (i < 500 ? 30 : 120)))] }), { rate: 10, clockSpeed: 8640, multiple: 10, now: () => now });
    // Per transaction half the values are 30 (1 a day), half 120 (4 a day): per card, 4 quiet ones to each busy one.
    const perCard = new Map<string, number>();
    for (const t of range(20_000, (n) => busy.next(n, false))) perCard.set(t.customerId, (perCard.get(t.customerId) ?? 0) + 1);
    const counts = [...perCard.values()].sort((a, b) => a - b);
    expect((counts.at(-1) as number) / (counts[0] as number)).toBeGreaterThan(2.5);
  });
});

describe("drift-injected: scoring the monitor's polls", () => {
  const polls = (list: [number, string[]][]): DriftPoll[] => list.map(([at, alerting]) => ({ at, evaluations: 0, alerting }));

  it("times the shifted feature's alert from the shift and lets the features the amounts move alert", () => {
    const score = scoreDriftPolls(polls([[1_000, ["CUSTOMER_ID_NB_TX_1HOUR"]], [9_000, ["CUSTOMER_ID_NB_TX_1HOUR"]], [12_000, ["CUSTOMER_ID_NB_TX_1HOUR", "score"]], [70_000, ["CUSTOMER_ID_NB_TX_1HOUR", "score", "TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"]]]), 10_000, new Set(["score"]));
    expect(score).toEqual({ detectMs: 60_000, falseAlerts: [], alertingBefore: ["CUSTOMER_ID_NB_TX_1HOUR"], firstAlert: { score: 2_000, TX_AMOUNT: 60_000, CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW: 60_000 } });
  });

  it("fails a feature the shift does not move, and a shift never seen", () => {
    const score = scoreDriftPolls(polls([[5_000, []], [20_000, ["TERMINAL_ID_NB_TX_1DAY_WINDOW"]], [30_000, ["TERMINAL_ID_NB_TX_1DAY_WINDOW", "TX_DURING_NIGHT"]]]), 10_000, new Set());
    expect(score.detectMs).toBeNull();
    expect(score.falseAlerts).toEqual(["TERMINAL_ID_NB_TX_1DAY_WINDOW", "TX_DURING_NIGHT"]);
  });
});

describe("overload: offered, admitted, refused", () => {
  const result = (phase: string, at: number, status: number, ms: number, extra: Partial<OpenLoopResult> = {}): OpenLoopResult => ({ phase, at, sendLagMs: 1, status, ms, retryAfter: status === 503 ? "1" : null, error: null, body: status === 200 ? JSON.stringify({ decidedBy: "model", degraded: false }) : null, ...extra });
  // Baseline: 100 answers at 4..7 ms (p99 7 ms: bound max(14, 17) = 17 ms). Overload: 200 admitted at
  // 8 ms, 100 refused at 1 ms. After: 20 answers at 5 ms from 30.5 s on.
  const baseline = range(100, (i) => result("baseline", i * 100, 200, 4 + (i % 4)));
  const over = range(300, (i) => (i % 3 === 2 ? result("overload", 10_000 + i * 50, 503, 1) : result("overload", 10_000 + i * 50, 200, 8)));
  const after = range(20, (i) => result("after", 30_500 + i * 100, 200, 5));
  const seconds = { baseline: 10, overload: 15, after: 2 };

  it("counts each phase and passes a service that refuses the excess and stays fast", () => {
    const phases = overloadPhases([...baseline, ...over, ...after], seconds);
    expect(phases.map((p) => [p.phase, p.offered, p.offeredPerSecond, p.admitted, p.refused, p.admittedP99Ms, p.refusedP99Ms])).toEqual([
      ["baseline", 100, 10, 100, 0, 7, null],
      ["overload", 300, 20, 200, 100, 8, 1],
      ["after", 20, 10, 20, 0, 5, null],
    ]);
    expect(p99Bound(7)).toBe(17);
    expect(p99Bound(40)).toBe(80);
    const score = scoreOverload(phases, [...baseline, ...over, ...after], 30_000);
    expect(score.boundMs).toBe(17);
    expect(score.recoverMs).toBe(500);
    expect(score.pass).toEqual([true, true, true, true]);
  });

  it("fails a service that queues the excess (slow, no 503), one that times out, and a refusal without Retry-After", () => {
    const queued = range(300, (i) => result("overload", 10_000 + i * 50, 200, 40 + i));
    const slowAfter = range(20, (i) => result("after", 30_500 + i * 100, 200, i < 15 ? 100 : 5));
    const all = [...baseline, ...queued, ...slowAfter, result("after", 32_600, 0, 10_000, { error: "timeout" })];
    const score = scoreOverload(overloadPhases(all, seconds), all, 30_000);
    expect(score.pass).toEqual([false, false, false, false]);
    expect(score.observed[1]).toBe("1 timeouts, 0 transport errors or other statuses");
    expect(asProbeResult(queued[0] as OpenLoopResult, 17).outcome).toBe("slow");
    const bare = [...baseline, result("overload", 10_000, 503, 1, { retryAfter: null })];
    expect(scoreOverload(overloadPhases(bare, seconds), bare, 11_000).pass[0]).toBe(false);
    expect(asProbeResult(result("overload", 0, 200, 3, { body: JSON.stringify({ decidedBy: "fallback" }) }), 17).outcome).toBe("fallback");
    expect(asProbeResult(result("overload", 0, 200, 3, { body: "not json" }), 17).outcome).toBe("error");
  });
});
