import { describe, expect, it } from "vitest";
import type { ImpressionLog } from "./simulate";
import { simulateInteractions } from "./simulate";
import { RecWorldOptionsError, createRecWorld } from "./world";

const world = createRecWorld({ preset: "small", seed: 1 });

function ctrByPosition(log: ImpressionLog, slateSize: number): { ctr: number[]; relevance: number[] } {
  const clicks = new Float64Array(slateSize);
  const shown = new Float64Array(slateSize);
  const rel = new Float64Array(slateSize);
  for (let i = 0; i < log.length; i++) {
    const p = log.position[i] as number;
    shown[p]! += 1;
    clicks[p]! += log.clicked[i] as number;
    rel[p]! += log.trueRelevance[i] as number;
  }
  return { ctr: Array.from(clicks, (c, p) => c / shown[p]!), relevance: Array.from(rel, (r, p) => r / shown[p]!) };
}

/** Least-squares slope of log(impressions) on log(rank + 1) over a band of popularity ranks. */
function zipfSlope(exponent: number): number {
  const w = createRecWorld({ preset: "small", seed: 2, zipfExponent: exponent });
  const log = simulateInteractions(w, { seed: 3, policy: { kind: "popularity", exploration: 0 } });
  const byRank = new Float64Array(w.numItems);
  for (let i = 0; i < log.length; i++) byRank[w.items.popularityRank[log.item[i] as number] as number]! += 1;
  // Ranks below 20 saturate (an item appears at most once per slate); past 1,000 counts are tiny.
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 20; r < 1000; r++) {
    if (byRank[r]! > 0) {
      xs.push(Math.log(r + 1));
      ys.push(Math.log(byRank[r]!));
    }
  }
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let j = 0; j < xs.length; j++) {
    sxy += (xs[j]! - mx) * (ys[j]! - my);
    sxx += (xs[j]! - mx) ** 2;
  }
  return sxy / sxx;
}

describe("simulateInteractions", () => {
  it("is a function of the seed", () => {
    const a = simulateInteractions(world, { seed: 4, sessionsPerUser: 1 });
    const b = simulateInteractions(world, { seed: 4, sessionsPerUser: 1 });
    const c = simulateInteractions(world, { seed: 5, sessionsPerUser: 1 });
    expect(a.item).toEqual(b.item);
    expect(a.clicked).toEqual(b.clicked);
    expect(a.item).not.toEqual(c.item);
  });

  it("logs sessions in time order, after signup, showing only released items", () => {
    const log = simulateInteractions(world, { seed: 6, sessionsPerUser: 2 });
    expect(log.length).toBe(log.sessions * 10);
    const violations = { order: 0, signup: 0, release: 0, relevance: 0 };
    for (let i = 0; i < log.length; i++) {
      const day = log.day[i] as number;
      const user = log.user[i] as number;
      const item = log.item[i] as number;
      if (i > 0 && day < (log.day[i - 1] as number)) violations.order++;
      if (day < (world.users.signupDay[user] as number)) violations.signup++;
      if (!world.isReleased(item, day)) violations.release++;
      if (Math.abs((log.trueRelevance[i] as number) - world.trueRelevance(user, item)) > 1e-6) violations.relevance++;
    }
    expect(violations).toEqual({ order: 0, signup: 0, release: 0, relevance: 0 });
    // About 2 sessions per user, fewer for users who sign up during the period.
    expect(log.sessions / world.numUsers).toBeGreaterThan(1.6);
    expect(log.sessions / world.numUsers).toBeLessThan(2.1);
  });

  it("recovers the Zipf exponent from impression counts of the popularity policy", () => {
    expect(Math.abs(zipfSlope(0.8) + 0.8)).toBeLessThan(0.12);
    expect(Math.abs(zipfSlope(1.2) + 1.2)).toBeLessThan(0.12);
  });

  it("position-based model: CTR falls as 1/(1+position)^eta under random slates", () => {
    for (const eta of [0.5, 1]) {
      const log = simulateInteractions(world, {
        seed: 7,
        sessionsPerUser: 20,
        policy: { kind: "random" },
        clickModel: { kind: "position-based", eta },
      });
      const { ctr, relevance } = ctrByPosition(log, 10);
      // Random slates make relevance the same at every position, so CTR / relevance is examination.
      for (let p = 0; p < 10; p++) expect(relevance[p]! / relevance[0]!).toBeCloseTo(1, 1);
      for (let p = 1; p < 6; p++) {
        const measured = ctr[p]! / relevance[p]! / (ctr[0]! / relevance[0]!);
        expect(Math.abs(measured / (1 / (1 + p) ** eta) - 1)).toBeLessThan(0.2);
      }
      for (let i = 0; i < 40; i++) expect(log.examination[i]).toBeCloseTo(1 / (1 + (log.position[i] as number)) ** eta, 6);
    }
  });

  it("cascade: one click at most per slate, nothing examined below it, CTR falling with position", () => {
    const log = simulateInteractions(world, {
      seed: 8,
      sessionsPerUser: 10,
      policy: { kind: "random" },
      clickModel: { kind: "cascade", continueProbability: 0.8 },
    });
    const violations = { clickedTwice: 0, examinedBelowClick: 0, topNotExamined: 0 };
    for (let s = 0; s < log.sessions; s++) {
      let clicks = 0;
      for (let p = 0; p < 10; p++) {
        const row = s * 10 + p;
        if (clicks > 0 && log.examination[row] !== 0) violations.examinedBelowClick++;
        clicks += log.clicked[row] as number;
      }
      if (clicks > 1) violations.clickedTwice++;
      if (log.examination[s * 10] !== 1) violations.topNotExamined++;
    }
    expect(violations).toEqual({ clickedTwice: 0, examinedBelowClick: 0, topNotExamined: 0 });
    const { ctr } = ctrByPosition(log, 10);
    for (let p = 1; p < 10; p++) expect(ctr[p]!).toBeLessThan(ctr[p - 1]!);
    // Reaching position 1 needs a skip (about 0.92) and a continuation (0.8).
    expect(ctr[1]! / ctr[0]!).toBeGreaterThan(0.65);
    expect(ctr[1]! / ctr[0]!).toBeLessThan(0.8);
  });

  it("clicks track true relevance: at the top slot the click rate equals relevance", () => {
    const log = simulateInteractions(world, { seed: 9, sessionsPerUser: 20, policy: { kind: "random" } });
    const bins = [0, 0.05, 0.1, 0.2, 0.4, 1.01];
    const clicks = new Float64Array(bins.length - 1);
    const rel = new Float64Array(bins.length - 1);
    const count = new Float64Array(bins.length - 1);
    let relClicked = 0;
    let nClicked = 0;
    let relSkipped = 0;
    for (let i = 0; i < log.length; i++) {
      const r = log.trueRelevance[i] as number;
      if (log.clicked[i]) {
        relClicked += r;
        nClicked++;
      } else {
        relSkipped += r;
      }
      if (log.position[i] !== 0) continue;
      const b = bins.findIndex((edge, j) => r >= edge && r < (bins[j + 1] ?? Infinity));
      clicks[b]! += log.clicked[i] as number;
      rel[b]! += r;
      count[b]! += 1;
    }
    for (let b = 0; b < count.length; b++) {
      expect(count[b]).toBeGreaterThan(300);
      const se = Math.sqrt((rel[b]! / count[b]!) / count[b]!);
      expect(Math.abs(clicks[b]! / count[b]! - rel[b]! / count[b]!)).toBeLessThan(4 * se + 0.005);
    }
    expect(relClicked / nClicked).toBeGreaterThan(2.5 * (relSkipped / (log.length - nClicked)));
  });

  it("popularity policy shows popular items first", () => {
    const log = simulateInteractions(world, { seed: 10, sessionsPerUser: 1, policy: { kind: "popularity", exploration: 0 } });
    let outOfOrder = 0;
    for (let s = 0; s < log.sessions; s++) {
      for (let p = 1; p < 10; p++) {
        const above = world.items.popularityRank[log.item[s * 10 + p - 1] as number] as number;
        if ((world.items.popularityRank[log.item[s * 10 + p] as number] as number) <= above) outOfOrder++;
      }
    }
    expect(log.sessions).toBeGreaterThan(1000);
    expect(outOfOrder).toBe(0);
  });

  it("logs a custom policy's slates verbatim and rejects invalid ones by field", () => {
    const released = Array.from({ length: world.numItems }, (_, i) => i).filter((i) => world.items.releaseDay[i]! < 0);
    const fixed = released.slice(0, 5);
    const log = simulateInteractions(world, {
      seed: 11,
      sessionsPerUser: 0.5,
      slateSize: 5,
      policy: { kind: "custom", name: "fixed", slate: () => fixed },
    });
    expect(log.sessions).toBeGreaterThan(0);
    for (let i = 0; i < log.length; i++) expect(log.item[i]).toBe(fixed[log.position[i] as number]);

    const twice = { kind: "custom" as const, name: "twice", slate: () => [fixed[0]!, fixed[0]!] };
    expect(() => simulateInteractions(world, { slateSize: 2, policy: twice })).toThrow(/^policy: twice returned item \d+ twice/);
    const cold = Array.from({ length: world.numItems }, (_, i) => i).find((i) => world.items.releaseDay[i]! > world.options.days - 1);
    const early = { kind: "custom" as const, name: "early", slate: () => [cold!] };
    expect(() => simulateInteractions(world, { slateSize: 1, days: 1, policy: early })).toThrow(/before its release/);
    expect(() => simulateInteractions(world, { slateSize: 0 })).toThrow(RecWorldOptionsError);
    expect(() => simulateInteractions(world, { clickModel: { kind: "position-based", eta: -1 } })).toThrow(/^clickModel\.eta: /);
  });
});
