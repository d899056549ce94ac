import { ScoreTransactionRequestSchema } from "@mlsd/contracts";
import { createRecWorld } from "@mlsd/synth";
import { describe, expect, it } from "vitest";
import { FRAUD_WORLD_PRESETS } from "@mlsd/synth";
import { fraudTarget, INVALID_KINDS, invalidate, type ScoreBody } from "./fraud";
import { recsTarget, type RecommendationsBody } from "./recs";

const take = <T>(n: number, next: () => { body: string; expectRejection: boolean }) =>
  Array.from({ length: n }, () => {
    const r = next();
    return { body: JSON.parse(r.body) as T, expectRejection: r.expectRejection };
  });

describe("fraudTarget", () => {
  it("streams the world's transactions in time order, starting after the training history", () => {
    const target = fraudTarget({ world: "small" });
    expect(target).toMatchObject({ endpoint: "fraud", path: "/v1/transactions/score" });
    const requests = take<ScoreBody>(3000, () => target.next());
    const times = requests.map((r) => Date.parse(r.body.time));
    // The small preset covers 60 days from 2018-04-01: requests start on day 60.
    expect(new Date(times[0] as number).toISOString().slice(0, 10)).toBe("2018-05-31");
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    for (const r of requests) {
      expect(r.expectRejection).toBe(false);
      expect(ScoreTransactionRequestSchema.safeParse(r.body).success).toBe(true);
    }
    // Every fraud scenario makes big amounts; the stream carries them as the world made them.
    expect(requests.some((r) => r.body.amount > 220)).toBe(true);
    expect(new Set(requests.map((r) => r.body.transactionId)).size).toBe(3000);
  });

  it("continues a history of any length and start date, from a given time on", () => {
    const all = fraudTarget({ world: { ...FRAUD_WORLD_PRESETS.small, days: 90, startDate: "2023-11-02" } });
    const first = take<ScoreBody>(2500, () => all.next()).map((r) => r.body);
    expect(first[0]!.time.slice(0, 10)).toBe("2024-01-31");
    const from = Date.parse(first[2000]!.time);
    const later = fraudTarget({ world: { ...FRAUD_WORLD_PRESETS.small, days: 90, startDate: "2023-11-02" }, fromTimeMs: from });
    const rest = take<ScoreBody>(400, () => later.next()).map((r) => r.body);
    // The same transactions, the ones before `from` skipped.
    expect(rest[0]!.transactionId).toBe(first.find((b) => Date.parse(b.time) >= from)!.transactionId);
    expect(rest.map((b) => b.transactionId)).toEqual(first.filter((b) => Date.parse(b.time) >= from).slice(0, 400).map((b) => b.transactionId));
  });

  it("mixes in the asked share of invalid transactions, each one the contract refuses", () => {
    const target = fraudTarget({ world: "small", invalidShare: 0.2, seed: 3 });
    const requests = take<ScoreBody>(2000, () => target.next());
    const invalid = requests.filter((r) => r.expectRejection);
    expect(invalid.length / requests.length).toBeGreaterThan(0.17);
    expect(invalid.length / requests.length).toBeLessThan(0.23);
    for (const r of requests) expect(ScoreTransactionRequestSchema.safeParse(r.body).success).toBe(!r.expectRejection);
    const again = fraudTarget({ world: "small", invalidShare: 0.2, seed: 3 });
    expect(take<ScoreBody>(2000, () => again.next())).toEqual(requests);
  });

  it("breaks a body in each of the ways the contract names", () => {
    const valid: ScoreBody = { transactionId: "1", customerId: "2", terminalId: "3", amount: 10, time: "2018-06-01T00:00:00.000Z" };
    const issues = INVALID_KINDS.map((kind) => {
      const parsed = ScoreTransactionRequestSchema.safeParse(invalidate(valid, kind));
      return parsed.success ? "accepted" : parsed.error.issues[0]?.path.join(".") || parsed.error.issues[0]?.code;
    });
    expect(issues).toEqual(["amount", "customerId", "time", "unrecognized_keys"]);
  });

  it("reads timings and the degraded flag from an answer", () => {
    const target = fraudTarget({ world: "small", startDay: 0 });
    expect(target.interpret(200, { decision: "approve", degraded: true, timings: { features: 0.8, model: 0.2, note: "x" } })).toEqual({
      timings: { features: 0.8, model: 0.2 },
      fallback: true,
    });
    expect(target.interpret(200, { degraded: false })).toEqual({ fallback: false });
    expect(target.interpret(500, undefined)).toEqual({});
  });

  it("refuses a share or start day that makes no sense", () => {
    expect(() => fraudTarget({ invalidShare: 1.5 })).toThrow(/^invalidShare: must be in \[0, 1\]/);
    expect(() => fraudTarget({ startDay: -1 })).toThrow(/^startDay: must be an integer >= 0/);
  });
});

describe("recsTarget", () => {
  const world = createRecWorld({ preset: "small", seed: 5 });

  it("sends known users by activity and a share of users no model has seen, with k and context", () => {
    const target = recsTarget({ world, newUserShare: 0.25, k: [10, 50], seed: 2 });
    expect(target).toMatchObject({ endpoint: "recommendations", path: "/v1/recommendations" });
    const requests = take<RecommendationsBody>(4000, () => target.next()).map((r) => r.body);
    const fresh = requests.filter((r) => Number(r.userId) >= world.numUsers);
    expect(fresh.length / requests.length).toBeGreaterThan(0.22);
    expect(fresh.length / requests.length).toBeLessThan(0.28);
    expect(new Set(fresh.map((r) => r.userId)).size).toBe(fresh.length);
    const known = requests.filter((r) => Number(r.userId) < world.numUsers);
    for (const r of known) expect(world.users.signupDay[Number(r.userId)]).toBeLessThanOrEqual(world.options.trainCutoffDay);
    // Activity-weighted: the most requested known user comes back far more often than uniform (2 per user).
    const perUser = new Map<string, number>();
    for (const r of known) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    expect(Math.max(...perUser.values())).toBeGreaterThan(10);
    expect(new Set(requests.map((r) => r.k))).toEqual(new Set([10, 50]));
    for (const r of requests) {
      expect(["mobile", "desktop", "tablet"]).toContain(r.context.device);
      expect(r.context.hour).toBeGreaterThanOrEqual(0);
      expect(r.context.hour).toBeLessThan(24);
    }
  });

  it("counts an answer with a fallback reason as a fallback", () => {
    const target = recsTarget({ world });
    expect(target.interpret(200, { fallback: "retrieval_timeout", timings: { retrieval: 30 } })).toEqual({ timings: { retrieval: 30 }, fallback: true });
    expect(target.interpret(200, { fallback: null, timings: {} })).toEqual({ timings: {}, fallback: false });
  });

  it("does not count a new user's cold-start list as a fallback: it is the designed answer", () => {
    const target = recsTarget({ world });
    expect(target.interpret(200, { fallback: "cold-start", timings: { user: 0.4 } })).toEqual({ timings: { user: 0.4 }, fallback: false });
    expect(target.interpret(200, { fallback: "popularity", timings: {} })).toEqual({ timings: {}, fallback: true });
  });

  it("refuses slate sizes the contract refuses", () => {
    expect(() => recsTarget({ world, k: [] })).toThrow(/^k: needs at least one/);
    expect(() => recsTarget({ world, k: [10, 101] })).toThrow(/^k\[1\]: must be an integer in \[1, 100\]/);
    expect(() => recsTarget({ world, newUserShare: -0.1 })).toThrow(/^newUserShare:/);
  });
});
