import { describe, expect, it } from "vitest";
import type { ServedImpressionStore } from "./served";

/** One behaviour for every ServedImpressionStore: Redis in the integration tests, the twin in the unit tests. */
export function servedImpressionContract(name: string, make: () => ServedImpressionStore | Promise<ServedImpressionStore>): void {
  describe(`${name}: served impression contract`, () => {
    it("finds an answer's items in position order, per user and request", async () => {
      const store = await make();
      await store.record("u1", "req-1", ["i3", "i1", "i2"]);
      await store.record("u1", "req-2", []);
      expect(await store.find("u1", "req-1")).toEqual(["i3", "i1", "i2"]);
      expect(await store.find("u1", "req-2")).toEqual([]);
      expect(await store.find("u2", "req-1")).toBeNull();
      expect(await store.find("u1", "req-3")).toBeNull();
    });
  });
}
