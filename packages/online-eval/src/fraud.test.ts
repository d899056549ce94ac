import { makeEvent, type AnyEvent, type FraudDecision } from "@mlsd/contracts";
import { describe, expect, it } from "vitest";
import { FraudOnlineEval } from "./fraud";

const T0 = Date.UTC(2024, 4, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const COSTS = { declineFriction: 10, reviewCost: 2 };

function tx(id: string, card: string, amount: number, t: number): AnyEvent {
  return makeEvent("fraud.transaction", { transactionId: id, customerId: card, terminalId: "T1", amount, time: iso(t) }, { producer: "test", eventTime: iso(t) });
}

function decision(id: string, card: string, d: FraudDecision, score: number, arm: "current" | "challenger", t: number, extra: { decidedBy?: "model" | "rules" | "fallback"; latencyMs?: number } = {}): AnyEvent {
  return makeEvent(
    "fraud.decision",
    { transactionId: id, customerId: card, terminalId: "T1", features: {}, score, threshold: 0.7, decision: d, decidedBy: extra.decidedBy ?? "model", modelVersion: arm === "current" ? "v1" : "v2", reasonCodes: [], arm, latencyMs: extra.latencyMs ?? 2 },
    { producer: "test", eventTime: iso(t) },
  );
}

function label(id: string, card: string, fraud: boolean, t: number, knownAt: number): AnyEvent {
  return makeEvent("fraud.label", { transactionId: id, customerId: card, terminalId: "T1", label: fraud ? "chargeback" : "legitimate", transactionTime: iso(t), knownAt: iso(knownAt) }, { producer: "test", eventTime: iso(knownAt) });
}

describe("fraud arms from the log", () => {
  it("costs each labelled decision under the arm that made it, and leaves rule decisions out", () => {
    const e = new FraudOnlineEval({ model: "fraud-gbdt", costs: COSTS, labelHorizonMs: 7 * 86_400_000 });
    const events: AnyEvent[] = [
      tx("a", "c1", 100, T0),
      decision("a", "c1", "approve", 0.1, "current", T0), // fraud missed: 100
      tx("b", "c2", 50, T0 + 1),
      decision("b", "c2", "decline", 0.9, "challenger", T0 + 1), // legit declined: 10
      tx("c", "c3", 70, T0 + 2),
      decision("c", "c3", "review", 0.5, "challenger", T0 + 2), // review: 2
      tx("d", "c4", 20_000, T0 + 3),
      decision("d", "c4", "decline", 1, "current", T0 + 3, { decidedBy: "rules" }),
      tx("e", "c5", 30, T0 + 4),
      decision("e", "c5", "approve", 0.2, "current", T0 + 4, { decidedBy: "fallback" }), // legit approved: 0
      label("a", "c1", true, T0, T0 + 86_400_000),
      label("b", "c2", false, T0 + 1, T0 + 86_400_000),
      label("c", "c3", true, T0 + 2, T0 + 86_400_000),
      label("d", "c4", true, T0 + 3, T0 + 86_400_000),
      label("e", "c5", false, T0 + 4, T0 + 86_400_000),
    ];
    for (const ev of events) e.observe(ev);
    const v = e.view("split");
    expect(v.direction).toBe("lower-is-better");
    expect([v.current.primary.count, v.current.primary.mean]).toEqual([2, 50]);
    expect([v.challenger.primary.count, v.challenger.primary.mean]).toEqual([2, 6]);
    expect(v.current.summary).toMatchObject({ labelled: 2, declineRate: 0, degradedRate: 0.5 });
    // The fraud (0.5) ranks below the declined good customer (0.9): AP 1/2.
    expect(v.challenger.summary).toMatchObject({ declineRate: 0.5, averagePrecision: 0.5 });
    expect([v.current.requests, v.current.units, v.challenger.units]).toEqual([2, 2, 2]);
  });

  it("pairs a shadow's decision with the served one on the same labelled transaction", () => {
    const e = new FraudOnlineEval({ model: "fraud-gbdt", costs: COSTS, labelHorizonMs: 7 * 86_400_000 });
    const shadow = (id: string, card: string, serving: [number, FraudDecision], mine: [number, FraudDecision], error: string | null = null): AnyEvent =>
      makeEvent(
        "ml.shadow-prediction",
        {
          model: "fraud-gbdt",
          requestId: id,
          entityId: card,
          servingVersion: "v1",
          shadowVersion: "v2",
          servingMs: 0.1,
          shadowMs: 0.3,
          prediction: error ? null : { kind: "fraud", serving: { probability: serving[0], decision: serving[1] }, shadow: { probability: mine[0], decision: mine[1] } },
          error,
        },
        { producer: "test", eventTime: iso(T0) },
      );
    for (const ev of [tx("a", "c1", 100, T0), shadow("a", "c1", [0.1, "approve"], [0.95, "decline"]), tx("b", "c2", 40, T0), shadow("b", "c2", [0.2, "approve"], [0.8, "decline"]), shadow("x", "c3", [0, "approve"], [0, "approve"], "boom")]) e.observe(ev);
    e.observe(label("a", "c1", true, T0, T0 + 1000));
    e.observe(label("b", "c2", false, T0, T0 + 1000));
    const v = e.view("shadow");
    // Served: a missed fraud (100) + nothing; shadow: caught (0) + a declined good customer (10).
    expect([v.current.primary.mean, v.challenger.primary.mean]).toEqual([50, 5]);
    expect(v.challenger.errors.successes).toBe(1);
    expect(v.challenger.errors.trials).toBe(3);
    expect(v.current.errors.successes).toBe(0);
    expect(v.challenger.latency.quantile(0.5)).toBeCloseTo(0.3, 2);
    expect(v.challenger.summary.declineRate).toBeCloseTo(2 / 2, 6);
  });

  it("forgets decisions whose label did not come within the horizon", () => {
    const e = new FraudOnlineEval({ model: "fraud-gbdt", costs: COSTS, labelHorizonMs: 1000 });
    e.observe(tx("a", "c1", 100, T0));
    e.observe(decision("a", "c1", "approve", 0.1, "current", T0));
    e.observe(tx("z", "c9", 1, T0 + 5000));
    e.observe(label("a", "c1", true, T0, T0 + 5000));
    expect(e.view("split").current.primary.count).toBe(0);
  });
});
