import { describe, expect, it } from "vitest";
import { waitFor } from "./probes";

describe("waitFor", () => {
  it("returns the first value the probe gives, skipping undefined and false", async () => {
    let calls = 0;
    const value = await waitFor("the third call", () => (++calls < 3 ? (calls === 1 ? undefined : false) : { calls }), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it("gives up after the timeout, naming what it waited for", async () => {
    await expect(waitFor("a thing that never happens", async () => undefined, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(/timed out after 30 ms waiting for a thing that never happens/);
  });
});
