import { describe, expect, it } from "vitest";
import { fraudFeatureNames } from "./definitions";
import { CUSTOMER_RATIO_FEATURES, FraudColumnPlan, ratioFeatureName } from "./model-columns";

const served = fraudFeatureNames();
const col = (name: string) => served.indexOf(name);

/** A served vector with amount 50 and customer averages 10 (1 day), 25 (7 days), 40 (30 days). */
function vector(): Float64Array {
  const v = new Float64Array(served.length).fill(1);
  v[col("TX_AMOUNT")] = 50;
  v[col("CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW")] = 10;
  v[col("CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW")] = 25;
  v[col("CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW")] = 40;
  return v;
}

describe("FraudColumnPlan", () => {
  it("computes each ratio its name says, after the served features", () => {
    const plan = FraudColumnPlan.compile(served, [...served, ...CUSTOMER_RATIO_FEATURES]);
    expect(plan.identity).toBe(false);
    const row = plan.row(vector());
    expect(row).toHaveLength(served.length + 5);
    expect(Array.from(row.subarray(0, served.length))).toEqual(Array.from(vector()));
    expect(Array.from(row.subarray(served.length))).toEqual([5, 2, 1.25, 0.25, 0.625]);
  });

  it("reads served columns in any order and any subset", () => {
    const plan = FraudColumnPlan.compile(served, ["CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW", "TX_AMOUNT", ratioFeatureName("TX_AMOUNT", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW")]);
    expect(Array.from(plan.row(vector()))).toEqual([25, 50, 2]);
  });

  it("makes a ratio missing when its denominator is zero or missing (the degraded answer's vector)", () => {
    const plan = FraudColumnPlan.compile(served, [...CUSTOMER_RATIO_FEATURES]);
    const v = vector();
    v[col("CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW")] = 0;
    v[col("CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW")] = Number.NaN;
    const row = plan.row(v);
    expect(Number.isNaN(row[0] as number)).toBe(true);
    expect(row[1]).toBe(2);
    expect(Number.isNaN(row[2] as number)).toBe(true);
    expect(Number.isNaN(row[3] as number)).toBe(true);
    expect(Number.isNaN(row[4] as number)).toBe(true);
  });

  it("passes a matrix of the served features through unchanged, and extends one row by row", () => {
    const identity = FraudColumnPlan.compile(served, served);
    expect(identity.identity).toBe(true);
    const m = { names: [...served], rows: 2, values: new Float64Array([...vector(), ...vector().map((x) => x * 2)]) };
    expect(identity.matrix(m)).toBe(m);
    const extended = FraudColumnPlan.compile(served, [...served, ...CUSTOMER_RATIO_FEATURES]).matrix(m);
    expect(extended.names).toEqual([...served, ...CUSTOMER_RATIO_FEATURES]);
    expect(extended.rows).toBe(2);
    const width = served.length + 5;
    // Doubling every served value leaves the ratios as they were.
    expect(Array.from(extended.values.subarray(served.length, width))).toEqual([5, 2, 1.25, 0.25, 0.625]);
    expect(Array.from(extended.values.subarray(width + served.length))).toEqual([5, 2, 1.25, 0.25, 0.625]);
    expect(extended.values[width + col("TX_AMOUNT")]).toBe(100);
  });

  it("refuses a column it cannot compute, naming it, and a matrix of other columns", () => {
    expect(() => FraudColumnPlan.compile(served, [...served, "TX_AMOUNT/NOPE"])).toThrow(/model column TX_AMOUNT\/NOPE is neither/);
    expect(() => FraudColumnPlan.compile(served, ["A/B/C"])).toThrow(/model column A\/B\/C/);
    expect(() => FraudColumnPlan.compile(served, ["UNKNOWN"])).toThrow(/model column UNKNOWN/);
    const plan = FraudColumnPlan.compile(served, served);
    expect(() => plan.matrix({ names: ["TX_AMOUNT"], rows: 0, values: new Float64Array(0) })).toThrow(/not the plan's served features/);
  });
});
