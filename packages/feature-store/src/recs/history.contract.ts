import { describe, expect, it } from "vitest";
import type { UserHistoryStore } from "./history";

/**
 * One behaviour for every UserHistoryStore: the Redis store runs it in the integration tests,
 * the in-memory twin in the unit tests, so the twin cannot drift from the real thing.
 * `make` returns a fresh, empty store whose histories are capped at `maxLength`.
 */
export function userHistoryContract(name: string, make: (maxLength: number) => Promise<UserHistoryStore> | UserHistoryStore): void {
  describe(`${name}: user history contract`, () => {
    it("keeps clicks most recent first, without repeats, capped", async () => {
      const store = await make(4);
      for (const item of ["a", "b", "c", "b", "d", "e"]) await store.append("u1", item);
      expect(await store.read("u1", 10)).toEqual(["e", "d", "b", "c"]);
      expect(await store.read("u1", 2)).toEqual(["e", "d"]);
      expect(await store.read("nobody", 10)).toEqual([]);
    });

    it("replaces whole histories in bulk, de-duplicated and capped, leaving other users alone", async () => {
      const store = await make(3);
      await store.append("u2", "x");
      await store.replace([
        ["u1", ["p", "q", "p", "r", "s"]],
        ["u3", []],
      ]);
      expect(await store.read("u1", 10)).toEqual(["p", "q", "r"]);
      expect(await store.read("u2", 10)).toEqual(["x"]);
      expect(await store.read("u3", 10)).toEqual([]);
      await store.replace([["u2", ["y"]]]);
      expect(await store.read("u2", 10)).toEqual(["y"]);
    });
  });
}
