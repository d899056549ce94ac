import { describe, expect, it } from "vitest";
import { chooseThresholds, expectedValueMargins, policyCost, type CostedRows } from "./costs";

const rows: CostedRows = {
  scores: [0.95, 0.7, 0.6, 0.2, 0.1, 0.65, 0.05],
  fraud: [1, 1, 0, 0, 0, 1, 0],
  amount: [500, 80, 30, 20, 10, 40, 5],
  day: [0, 0, 0, 0, 0, 1, 1],
};
const costs = { declineFriction: 10, reviewCost: 2, reviewCapacityPerDay: 1 };

describe("decision costs", () => {
  it("charges missed fraud its amount, friction for good declines, review cost within capacity", () => {
    const c = policyCost(rows, { review: 0.5, decline: 0.9 }, costs);
    // day 0: 0.95 fraud declined (0); 0.7 fraud reviewed (2); 0.6 good overflow (0); day 1: 0.65 fraud reviewed (2)
    expect(c).toMatchObject({ declined: 1, reviewed: 2, overflow: 1, fraudCaught: 3, friction: 0, reviewSpend: 4, missedFraudAmount: 0, total: 4 });
    const declineAtHalf = policyCost(rows, { review: 0.5, decline: 0.5 }, costs);
    expect(declineAtHalf).toMatchObject({ declined: 4, friction: 10, total: 10 });
    const approveAll = policyCost(rows, { review: 2, decline: 2 }, costs);
    expect(approveAll.total).toBe(620);
  });

  it("finds the cheapest policy, never worse than declining at 0.5", () => {
    const best = chooseThresholds(rows, costs);
    expect(best.total).toBeLessThanOrEqual(policyCost(rows, { review: 0.5, decline: 0.5 }, costs).total);
    // Declining everything above the good 0.6 and below the frauds at 0.65+ costs nothing here.
    expect(best.total).toBe(0);
    expect(best.thresholds.decline).toBeGreaterThan(0.6);
    expect(best.thresholds.decline).toBeLessThanOrEqual(0.65);
    expect(best.thresholds.review).toBeLessThanOrEqual(best.thresholds.decline);
  });

  it("declines by expected value: probability times amount against friction", () => {
    const margins = expectedValueMargins([0.1, 0.1, 0.5], [50, 200, 5], { declineFriction: 10 });
    // 0.1 * 50 - 0.9 * 10 < 0; 0.1 * 200 - 9 > 0; 0.5 * 5 - 5 < 0
    expect(Array.from(margins, (m) => m >= 0)).toEqual([false, true, false]);
    const cost = policyCost({ scores: margins, fraud: [0, 1, 1], amount: [50, 200, 5], day: [0, 0, 0] }, { review: Infinity, decline: 0 }, costs);
    expect(cost).toMatchObject({ declined: 1, fraudCaught: 1, missedFraudAmount: 5, friction: 0, total: 5 });
  });
});

