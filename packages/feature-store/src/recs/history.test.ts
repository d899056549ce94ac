import { describe, expect, it } from "vitest";
import { MemoryUserHistory } from "./history";
import { MemoryServedImpressions } from "./served";
import { servedImpressionContract } from "./served.contract";
import { userHistoryContract } from "./history.contract";

userHistoryContract("MemoryUserHistory", (maxLength) => new MemoryUserHistory(maxLength));

servedImpressionContract("MemoryServedImpressions", () => new MemoryServedImpressions(60_000));

describe("MemoryServedImpressions expiry", () => {
  it("forgets an answer after the attribution window", async () => {
    let now = 0;
    const store = new MemoryServedImpressions(1_000, () => now);
    await store.record("u1", "r", ["i1"]);
    now = 999;
    expect(await store.find("u1", "r")).toEqual(["i1"]);
    now = 1_000;
    expect(await store.find("u1", "r")).toBeNull();
  });
});
