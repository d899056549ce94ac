import { describe, expect, it } from "vitest";
import { compareServedWithOffline } from "./skew";

describe("compareServedWithOffline", () => {
  it("compares null and numbers exactly, within a relative tolerance", () => {
    const names = ["a", "b", "c"];
    const rows = new Map([["tx-1", [1, Number.NaN, 100]]]);
    const result = compareServedWithOffline(
      [
        { transactionId: "tx-1", features: { a: 1 + 1e-12, b: null, c: 100.5 } },
        { transactionId: "tx-unknown", features: { a: 1, b: 2, c: 3 } },
      ],
      names,
      (id) => rows.get(id),
    );
    expect(result).toMatchObject({ compared: 1, missingTransactions: 1, decisionsWithMismatch: 1 });
    expect(result.features.map((f) => f.mismatches)).toEqual([0, 0, 1]);
    expect(result.features[2]!.meanAbsDiff).toBeCloseTo(0.5, 12);
  });

  it("counts a value served missing against an offline number", () => {
    const result = compareServedWithOffline([{ transactionId: "t", features: { a: null } }], ["a"], () => [3]);
    expect(result.features[0]).toMatchObject({ mismatches: 1, servedMissing: 1, offlineMissing: 0, mismatchRate: 1 });
  });
});
