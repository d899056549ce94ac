import { FraudColumnPlan, fraudFeatureNames, fraudFeatureSchemaHash, ratioFeatureName } from "@mlsd/feature-store";
import { Dataset, Predictor, train } from "@mlsd/gbdt";
import { describe, expect, it } from "vitest";
import { applyRules, decide, fraudEvents, GbdtFraudModel, requestOnlyFeatures, toFeatureVector } from "./index";

const names = fraudFeatureNames();
const AMOUNT = names.indexOf("TX_AMOUNT");

/** Fraud when the amount is over 200: a model whose answer the test controls through one feature. */
function amountModel(columns = names.length) {
  const rows: Float64Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 600; i++) {
    const row = new Float64Array(columns).fill(1);
    row[AMOUNT] = (i * 7919) % 400;
    rows.push(row);
    labels.push((row[AMOUNT] as number) > 200 ? 1 : 0);
  }
  return train(Dataset.fromRows(rows, { labels, featureNames: names.slice(0, columns), seed: 1 }), { objective: "binary", numRounds: 20, maxDepth: 3, learningRate: 0.3, seed: 1 }).model;
}

function row(amount: number): Float64Array {
  const r = new Float64Array(names.length).fill(1);
  r[AMOUNT] = amount;
  return r;
}

describe("decide", () => {
  it("declines at or above the decline threshold, reviews at or above review, approves below", () => {
    const t = { review: 0.3, decline: 0.7 };
    expect([decide(0.7, t), decide(0.69, t), decide(0.3, t), decide(0.29, t)]).toEqual(["decline", "review", "review", "approve"]);
  });
});

describe("applyRules", () => {
  const rules = { maxAmount: 100, blockedTerminals: new Set(["t9"]) };
  const tx = { transactionId: "1", customerId: "c", terminalId: "t1", amount: 50, time: "2018-06-01T10:00:00Z" };
  it("declines a blocked terminal before the amount rule, an amount over the limit, and passes the rest", () => {
    expect(applyRules({ ...tx, terminalId: "t9", amount: 500 }, rules)).toEqual({ rule: "blocked-terminal", decision: "decline" });
    expect(applyRules({ ...tx, amount: 100.01 }, rules)).toEqual({ rule: "amount-over-limit", decision: "decline" });
    expect(applyRules({ ...tx, amount: 100 }, rules)).toBeNull();
  });
});

describe("GbdtFraudModel", () => {
  const gbdt = amountModel();
  const model = new GbdtFraudModel(gbdt, "v1", { review: 0.3, decline: 0.7 }, fraudFeatureSchemaHash(), { gbdt: amountModel(3), thresholds: { review: 0.2, decline: 0.6 } });

  it("scores with the predictor and explains only review and decline decisions, the amount first", () => {
    const low = model.score(row(20), 3);
    const high = model.score(row(380), 3);
    expect(low.probability).toBeCloseTo(new Predictor(gbdt).predictRow(row(20)), 12);
    expect(low.probability).toBeLessThan(0.3);
    expect(low.reasons).toEqual([]);
    expect(high.probability).toBeGreaterThan(0.7);
    expect(high.reasons[0]).toMatchObject({ feature: "TX_AMOUNT", value: 380 });
    expect(high.reasons[0]?.contribution).toBeGreaterThan(0);
    expect(model.score(row(380), 0).reasons).toEqual([]);
  });

  it("answers a degraded row with the fallback model, its thresholds and version", () => {
    const features = requestOnlyFeatures({ transactionId: "1", customerId: "c", terminalId: "t", timeMs: Date.UTC(2018, 5, 1, 10), amount: 380 }, names.length);
    expect(Number.isNaN(features[5] as number)).toBe(true);
    const scored = model.scoreDegraded(features, 3);
    expect(scored.modelVersion).toBe("v1/fallback");
    expect(scored.thresholds).toEqual({ review: 0.2, decline: 0.6 });
    expect(scored.probability).toBeGreaterThan(0.6);
  });
});

describe("GbdtFraudModel with ratio columns", () => {
  const AVG_1D = names.indexOf("CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW");
  const RATIO = ratioFeatureName("TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW");
  /** Fraud when the amount is over three times the customer's 1-day average: only the ratio column can say it in one split. */
  function ratioModel() {
    const columns = [...names, RATIO];
    const plan = FraudColumnPlan.compile(names, columns);
    const rows: Float64Array[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 800; i++) {
      const served = new Float64Array(names.length).fill(1);
      served[AMOUNT] = 10 + ((i * 7919) % 400);
      served[AVG_1D] = 10 + ((i * 104729) % 200);
      rows.push(plan.row(served));
      labels.push((served[AMOUNT] as number) > 3 * (served[AVG_1D] as number) ? 1 : 0);
    }
    return train(Dataset.fromRows(rows, { labels, featureNames: columns, seed: 1 }), { objective: "binary", numRounds: 20, maxDepth: 2, learningRate: 0.3, seed: 1 }).model;
  }
  const gbdt = ratioModel();
  const model = new GbdtFraudModel(gbdt, "v2", { review: 0.3, decline: 0.7 }, fraudFeatureSchemaHash());
  const served = (amount: number, avg: number) => {
    const r = row(amount);
    r[AVG_1D] = avg;
    return r;
  };

  it("takes the served features, computes the ratio, scores and names it as a reason with its value", () => {
    expect(model.featureNames).toEqual(names);
    expect(model.columns).toEqual([...names, RATIO]);
    const high = model.score(served(300, 50), 3);
    const low = model.score(served(300, 150), 3);
    const expected = new Predictor(gbdt).predictRow(Float64Array.from([...served(300, 50), 6]));
    expect(high.probability).toBeCloseTo(expected, 12);
    expect(high.probability).toBeGreaterThan(0.7);
    expect(low.probability).toBeLessThan(0.3);
    expect(high.reasons[0]).toMatchObject({ feature: RATIO, value: 6 });
  });

  it("leaves the ratio missing when the store's features are", () => {
    const degraded = requestOnlyFeatures({ transactionId: "1", customerId: "c", terminalId: "t", timeMs: Date.UTC(2018, 5, 1, 10), amount: 300 }, names.length);
    const missing = Float64Array.from([...degraded, Number.NaN]);
    expect(model.scoreDegraded(degraded, 0).probability).toBeCloseTo(new Predictor(gbdt).predictRow(missing), 12);
  });

  it("refuses at load a model reading a column the served features cannot give", () => {
    const other = train(Dataset.fromRows([new Float64Array([1]), new Float64Array([2])], { labels: [0, 1], featureNames: ["TX_AMOUNT/UNKNOWN"], seed: 1 }), { objective: "binary", numRounds: 1, maxDepth: 1, seed: 1 }).model;
    expect(() => new GbdtFraudModel(other, "v3", { review: 0.3, decline: 0.7 }, fraudFeatureSchemaHash())).toThrow(/model column TX_AMOUNT\/UNKNOWN is neither/);
  });
});

describe("requestOnlyFeatures and toFeatureVector", () => {
  it("fills the request's own features, leaves the store's missing, and maps missing to null", () => {
    const features = requestOnlyFeatures({ transactionId: "1", customerId: "c", terminalId: "t", timeMs: Date.UTC(2018, 5, 2, 23), amount: 12.5 }, names.length);
    const vector = toFeatureVector(names, features);
    expect(vector.TX_AMOUNT).toBe(12.5);
    expect(Object.keys(vector)).toEqual(names);
    expect(names.slice(3).every((n) => vector[n] === null)).toBe(true);
  });
});

describe("fraudEvents", () => {
  it("logs the transaction and the decision with the served features, a rule's decision with score 1", () => {
    const tx = { transactionId: "t1", customerId: "c1", terminalId: "m1", timeMs: Date.UTC(2018, 5, 1, 10), amount: 12.5 };
    const features = requestOnlyFeatures(tx, names.length);
    const [transaction, decision] = fraudEvents(
      { tx, featureNames: names, features, score: null, thresholds: { review: 0.3, decline: 0.7 }, decision: "decline", decidedBy: "rules", modelVersion: "v1", reasonCodes: ["amount-over-limit"], arm: "current", latencyMs: 0.12345 },
      "fraud",
    );
    expect(transaction.type).toBe("fraud.transaction");
    expect(transaction.payload).toMatchObject({ transactionId: "t1", amount: 12.5, time: "2018-06-01T10:00:00.000Z" });
    expect(decision.payload).toMatchObject({ score: 1, threshold: 0.7, decision: "decline", reasonCodes: ["amount-over-limit"], latencyMs: 0.123 });
    expect(decision.payload.features.TX_AMOUNT).toBe(12.5);
    expect(decision.payload.features[names[5] as string]).toBeNull();
  });
});
