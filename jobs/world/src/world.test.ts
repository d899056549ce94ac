import type { AnyEvent, WorldFraudOutcomePayload, WorldRecsOutcomePayload } from "@mlsd/contracts";
import { MemoryEventPublisher } from "@mlsd/events";
import { VirtualClock } from "@mlsd/loadgen";
import { ScaledClock } from "@mlsd/service-kit";
import { createFraudWorld, createRecWorld, DEFAULT_CLICK_MODEL, REC_WORLD_ORIGIN_MS, shiftPreferences, streamTransactionDays, type FraudWorldInput } from "@mlsd/synth";
import { describe, expect, it } from "vitest";
import { CardHolders } from "./card-holders";
import { parseDrift, type WorldDrift } from "./drift";
import { FakeServices } from "./fake-services.test-helper";
import { RecsUsers } from "./recs-users";
import { DAY_MS } from "./timeline";
import { runWorld, type WorldRunResult } from "./world";

const SPEED = 1440;
/** A fraud world ending where the recs world (small preset, 30 days from REC_WORLD_ORIGIN_MS) ends. */
const FRAUD: FraudWorldInput = { customers: 150, terminals: 300, days: 40, seed: 3, startDate: "2023-12-22" };
const START = REC_WORLD_ORIGIN_MS + 30 * DAY_MS;
const recWorld = createRecWorld({ preset: "small", numUsers: 300, numItems: 1_000, seed: 2 });
/** Everyone is served the 10 most popular items, best first. */
const popular = Array.from({ length: recWorld.numItems }, (_, i) => i).sort((a, b) => (recWorld.items.popularityRank[a] as number) - (recWorld.items.popularityRank[b] as number));
const SLATE = popular.slice(0, 10).map(String);

interface Setup {
  days: number;
  recs?: boolean;
  fraud?: boolean;
  drifts?: string[];
  /** Real ms between the clock's origin and the run's start (> 0: the world starts behind). */
  lateByMs?: number;
  delayMs?: number;
  maxInFlight?: number;
  catchUpFactor?: number;
  fail?: ConstructorParameters<typeof FakeServices>[2]["fail"];
  fallback?: ConstructorParameters<typeof FakeServices>[2]["fallback"];
  cardHolders?: Partial<ConstructorParameters<typeof CardHolders>[0]>;
  seed?: number;
}

async function simulate(setup: Setup): Promise<{ result: WorldRunResult; services: FakeServices; events: AnyEvent[]; clock: ScaledClock; virtual: VirtualClock; drifts: WorldDrift[] }> {
  const virtual = new VirtualClock();
  const origin = 1_000;
  const lateBy = setup.lateByMs ?? 0;
  // The virtual real time starts at 0; run from origin + lateBy.
  await virtual.run(new Promise<void>((resolve) => virtual.setTimer(origin + lateBy, resolve)));
  const clock = new ScaledClock(START, origin, SPEED, () => virtual.now());
  const services = new FakeServices(clock, virtual, { slate: (_u, k) => SLATE.slice(0, k), skewMs: 1, ...(setup.delayMs ? { delayMs: setup.delayMs } : {}), ...(setup.fail ? { fail: setup.fail } : {}), ...(setup.fallback ? { fallback: setup.fallback } : {}) });
  const drifts = (setup.drifts ?? []).map((d) => parseDrift(d, START));
  const seed = setup.seed ?? 7;
  const recs = setup.recs === false ? null : new RecsUsers({ world: recWorld, sessionsPerUser: 8, slateSize: 10, clickModel: DEFAULT_CLICK_MODEL, originMs: REC_WORLD_ORIGIN_MS, seed }, START);
  const fraud =
    setup.fraud === false
      ? null
      : new CardHolders({ world: FRAUD, horizonDays: setup.days + 1, drift: drifts.filter((d): d is Extract<WorldDrift, { kind: "card-testing" | "terminal-wave" }> => d.kind === "card-testing" || d.kind === "terminal-wave"), seed, ...setup.cardHolders });
  const outcomes = new MemoryEventPublisher();
  const result = await virtual.run(
    runWorld({ clock, timer: virtual, send: services.send, outcomes, recs, fraud, drifts, startMs: START, endMs: START + setup.days * DAY_MS, maxInFlight: setup.maxInFlight ?? 256, ...(setup.catchUpFactor ? { catchUpFactor: setup.catchUpFactor } : {}) }),
  );
  return { result, services, events: outcomes.events, clock, virtual, drifts };
}

const ofType = <T>(events: AnyEvent[], type: string) => events.filter((e) => e.type === type).map((e) => e.payload as T);

describe("pacing", () => {
  it("sends every transaction of the world when the shared clock reads its time, and takes the world's time in real time", async () => {
    const { result, services, virtual } = await simulate({ days: 3, recs: false });
    // The same world, generated independently: the days after the history.
    const world = createFraudWorld({ ...FRAUD, days: 44 });
    const expected: string[] = [];
    let day = 0;
    for (const t of streamTransactionDays(world)) {
      if (day++ < 40) continue;
      for (let i = 0; i < t.length; i++) if ((t.timeSeconds[i] as number) * 1000 + Date.parse("2023-12-22") < START + 3 * DAY_MS) expected.push(String(t.transactionId[i]));
    }
    expect(services.transactions.map((t) => t.body.transactionId)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(700);
    for (const t of services.transactions) {
      // Arrived exactly when the clock read the transaction's own time (ISO strings drop sub-ms).
      expect(t.worldNow - Date.parse(t.body.time as string)).toBeGreaterThanOrEqual(0);
      expect(t.worldNow - Date.parse(t.body.time as string)).toBeLessThan(1);
    }
    expect(services.refused).toEqual([]);
    expect(services.outOfOrder).toBe(0);
    // Three world days at 1440x: 180 s of (virtual) real time.
    expect(result.realMs).toBeCloseTo((3 * DAY_MS) / SPEED, -1);
    expect(virtual.now()).toBeGreaterThanOrEqual(1_000 + (3 * DAY_MS) / SPEED);
    expect(result.counters.sent.score).toBe(expected.length);
    expect(result.counters.ok.score).toBe(expected.length);
    expect(result.counters.maxBehindMs).toBe(0);
    // The rate asked: the world's transactions per day at this speed.
    expect(result.asked.score).toBeCloseTo((expected.length / 3) * (SPEED / 86_400), 0);
  });

  it("catches up at a bounded multiple of its rates when it starts behind the clock, keeping each customer's transactions in order", async () => {
    const { result, services, clock } = await simulate({ days: 2, recs: false, lateByMs: 30_000, delayMs: 5, catchUpFactor: 2 });
    // 30 s real at 1440x: the clock is half a world day ahead when the world starts.
    expect(result.counters.maxBehindMs).toBeGreaterThan(25_000);
    expect(services.refused).toEqual([]);
    expect(services.outOfOrder).toBe(0);
    expect(result.counters.errorCount).toBe(0);
    // At twice its rates it gains one second a second: back on schedule about 30 s after its start
    // (the world starts at real 31,000 ms; a transaction is on time when it arrives at its own time).
    const caughtUp = services.transactions.find((t) => t.worldNow - Date.parse(t.body.time as string) < 1_000 * SPEED)!;
    const caughtUpReal = 1_000 + (caughtUp.worldNow - START) / SPEED;
    expect(caughtUpReal - 31_000).toBeGreaterThan(25_000);
    expect(caughtUpReal - 31_000).toBeLessThan(35_000);
    expect(clock.speed).toBe(SPEED);
  });

  it("never has more requests outstanding than --max-in-flight", async () => {
    const { result, services } = await simulate({ days: 1, recs: false, lateByMs: 20_000, delayMs: 200, maxInFlight: 8, catchUpFactor: Number.POSITIVE_INFINITY });
    expect(services.maxInFlight).toBeLessThanOrEqual(8);
    expect(services.maxInFlight).toBe(8);
    expect(result.counters.sent.score).toBe(result.counters.ok.score);
  });

  it("counts failures by endpoint and status and keeps going", async () => {
    const { result } = await simulate({ days: 1, recs: false, fail: (endpoint, n) => (endpoint === "score" && n % 10 === 3 ? 503 : null) });
    const c = result.counters;
    expect(c.errors.get("score 503")).toBeGreaterThan(20);
    expect(c.sent.score - c.ok.score).toBe(c.errors.get("score 503"));
    expect(c.fraud.answers).toBe(c.ok.score);
    expect(result.summary).toMatch(/errors: score 503 x\d+/);
  });
});

describe("users and the click model", () => {
  it("click by position-based examination of true relevance, and report each click after a reaction time", async () => {
    const { result, services, events } = await simulate({ days: 4, fraud: false });
    const outcomes = ofType<WorldRecsOutcomePayload>(events, "world.recs-outcome");
    expect(outcomes.length).toBe(services.recommendations.length);
    // 300 users at 8 sessions a month each (times activity): about 80 a day.
    expect(outcomes.length).toBeGreaterThan(4 * 50);
    expect(outcomes.length).toBeLessThan(4 * 130);
    const examined = new Array<number>(10).fill(0);
    const clicks = new Array<number>(10).fill(0);
    let expectedClicks = 0;
    for (const o of outcomes) {
      o.items.forEach((item, p) => {
        expect(item.examination).toBeCloseTo(1 / (1 + p), 6);
        expect(item.relevance).toBeCloseTo(recWorld.trueRelevance(Number(o.userId), Number(item.itemId)), 6);
        if (item.examined) examined[p]!++;
        if (item.clicked) clicks[p]!++;
        if (item.clicked) expect(item.examined).toBe(true);
        expectedClicks += item.examination * (item.relevance as number);
      });
    }
    // Examined share by position follows 1 / (1 + p).
    expect(examined[0]).toBe(outcomes.length);
    expect((examined[1] as number) / outcomes.length).toBeCloseTo(0.5, 1);
    expect((examined[3] as number) / outcomes.length).toBeCloseTo(0.25, 1);
    const total = clicks.reduce((s, c) => s + c, 0);
    expect(total).toBeGreaterThan(20);
    // Clicks match the model's expectation within four standard deviations (Poisson-binomial).
    expect(Math.abs(total - expectedClicks)).toBeLessThan(4 * Math.sqrt(expectedClicks));
    // Every click was accepted: named the answer, item and position served, never ahead of the clock.
    expect(services.refused).toEqual([]);
    expect(services.clicks.length).toBe(total);
    expect(result.counters.ok.click).toBe(total);
    for (const c of services.clicks) {
      const session = services.recommendations[Number(c.body.requestId.slice(1)) - 1]!;
      const delay = Date.parse(c.body.time as string) - Date.parse(session.body.context?.time as string);
      // At least 2 s plus 2 s per position down the list.
      expect(delay).toBeGreaterThanOrEqual(2_000 + 2_000 * c.body.position - 1);
      expect(delay).toBeLessThan(30 * 60_000);
    }
    expect(result.counters.recs.fallbacks).toBe(0);
    // Ideal DCG bounds the served DCG.
    expect(result.counters.recs.idealDcg).toBeGreaterThan(result.counters.recs.dcg);
  });

  it("counts the answers each fallback served, and keeps them in the ground truth", async () => {
    const { result, events } = await simulate({ days: 1, fraud: false, fallback: (u) => (Number(u) % 3 === 0 ? "cold-start" : Number(u) % 3 === 1 ? "popularity" : null) });
    const outcomes = ofType<WorldRecsOutcomePayload>(events, "world.recs-outcome");
    const count = (kind: string | null) => outcomes.filter((o) => o.fallback === kind).length;
    expect(count("cold-start")).toBeGreaterThan(5);
    expect(result.counters.fallbacks.get("cold-start")).toBe(count("cold-start"));
    expect(result.counters.fallbacks.get("popularity")).toBe(count("popularity"));
    expect(result.counters.recs.fallbacks).toBe(outcomes.length - count(null));
    expect(result.summary).toContain(`fallback answers (`);
  });

  it("is a function of the seed", async () => {
    const a = await simulate({ days: 1, fraud: false, seed: 11 });
    const b = await simulate({ days: 1, fraud: false, seed: 11 });
    const c = await simulate({ days: 1, fraud: false, seed: 12 });
    const clicksOf = (r: typeof a) => r.services.clicks.map((x) => `${x.body.userId}/${x.body.itemId}/${x.body.time}`);
    expect(clicksOf(a)).toEqual(clicksOf(b));
    expect(a.services.recommendations.map((r) => r.body.userId)).toEqual(b.services.recommendations.map((r) => r.body.userId));
    expect(c.services.recommendations.map((r) => r.body.userId)).not.toEqual(a.services.recommendations.map((r) => r.body.userId));
  });
});

describe("labels", () => {
  it("post each label when the clock reaches its knownAt, 7 days after the transaction, named by what happened", async () => {
    const { result, services, events } = await simulate({ days: 10, recs: false });
    const outcomes = new Map(ofType<WorldFraudOutcomePayload>(events, "world.fraud-outcome").map((o) => [o.transactionId, o]));
    expect(services.labels.length).toBeGreaterThan(500);
    expect(services.refused).toEqual([]);
    for (const l of services.labels) {
      const known = Date.parse(l.body.knownAt as string);
      expect(known - Date.parse(l.body.transactionTime)).toBe(7 * DAY_MS);
      expect(l.worldNow - known).toBeGreaterThanOrEqual(0);
      expect(l.worldNow - known).toBeLessThan(1);
      const o = outcomes.get(l.body.transactionId)!;
      expect(o.labelAt).toBe(l.body.knownAt);
      const expected = !o.fraud ? "legitimate" : o.decision === "approve" ? "chargeback" : "fraud_confirmed";
      expect(l.body.label).toBe(expected);
    }
    // Transactions of the first three days have their labels by day 10; later ones not yet.
    const scoredBy3 = services.transactions.filter((t) => Date.parse(t.body.time as string) < START + 3 * DAY_MS).length;
    expect(services.labels.length).toBe(scoredBy3);
    expect(result.counters.fraud.labelsPlanned).toBe(services.transactions.length);
    expect(result.counters.fraud.frauds).toBeGreaterThan(10);
  });

  it("confirm only a share of legitimate transactions, and none for declined ones when declined transactions never settle", async () => {
    const { services, events } = await simulate({ days: 9, recs: false, cardHolders: { confirmShare: 0.3, declinedLabels: "none" } });
    const outcomes = ofType<WorldFraudOutcomePayload>(events, "world.fraud-outcome").filter((o) => Date.parse(o.time) < START + 2 * DAY_MS);
    const legit = outcomes.filter((o) => !o.fraud && o.decision !== "decline");
    const legitLabels = services.labels.filter((l) => l.body.label === "legitimate").length;
    expect(legitLabels / legit.length).toBeGreaterThan(0.25);
    expect(legitLabels / legit.length).toBeLessThan(0.35);
    const declined = new Set(outcomes.filter((o) => o.decision === "decline").map((o) => o.transactionId));
    expect(declined.size).toBeGreaterThan(0);
    for (const l of services.labels) expect(declined.has(l.body.transactionId)).toBe(false);
    for (const o of outcomes) if (declined.has(o.transactionId)) expect(o.labelAt).toBeNull();
  });
});

describe("drift", () => {
  it("a card-testing drift brings bursts of small frauds from its time on, named in the ground truth", async () => {
    const { services, events } = await simulate({ days: 4, recs: false, drifts: ["card-testing@+2d,cards=40"] });
    const outcomes = ofType<WorldFraudOutcomePayload>(events, "world.fraud-outcome");
    const drift = START + 2 * DAY_MS;
    const testing = outcomes.filter((o) => o.scenario === "card-testing");
    expect(testing.length).toBeGreaterThan(40 * 2 * 8);
    for (const o of testing) {
      expect(Date.parse(o.time)).toBeGreaterThanOrEqual(drift);
      expect(o.fraud).toBe(true);
      expect(o.amount).toBeLessThanOrEqual(5);
      expect(o.drift).toEqual(["card-testing@2024-02-02T00:00:00.000Z"]);
    }
    for (const o of outcomes) if (Date.parse(o.time) < drift) expect(o.drift).toEqual([]);
    expect(services.refused).toEqual([]);
    expect(services.outOfOrder).toBe(0);
  });

  it("a preference shift changes what users like from its time on", async () => {
    const base = await simulate({ days: 4, fraud: false });
    const shifted = await simulate({ days: 4, fraud: false, drifts: ["preference-shift@+2d,share=1,angle=90"] });
    const outcomes = ofType<WorldRecsOutcomePayload>(shifted.events, "world.recs-outcome");
    const before = outcomes.filter((o) => o.drift.length === 0);
    const after = outcomes.filter((o) => o.drift.length > 0);
    expect(before.length).toBeGreaterThan(100);
    expect(after.length).toBeGreaterThan(100);
    // Up to the drift, the same users asked at the same times as without it.
    expect(shifted.services.recommendations.slice(0, before.length).map((r) => r.body)).toEqual(base.services.recommendations.slice(0, before.length).map((r) => r.body));
    // The world the users live in after the drift: everyone's taste turned 90 degrees (the hook's seed is the world's + 17).
    const turned = shiftPreferences(recWorld, { share: 1, angleDegrees: 90, seed: 7 + 17 }).world;
    for (const o of before) for (const item of o.items) expect(item.relevance).toBeCloseTo(recWorld.trueRelevance(Number(o.userId), Number(item.itemId)), 6);
    let changed = 0;
    for (const o of after) {
      expect(o.drift).toEqual(["preference-shift@2024-02-02T00:00:00.000Z"]);
      for (const item of o.items) {
        expect(item.relevance).toBeCloseTo(turned.trueRelevance(Number(o.userId), Number(item.itemId)), 6);
        if (Math.abs((item.relevance as number) - recWorld.trueRelevance(Number(o.userId), Number(item.itemId))) > 1e-3) changed++;
      }
    }
    expect(changed / (after.length * 10)).toBeGreaterThan(0.9);
  });
});
