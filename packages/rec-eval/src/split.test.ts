import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import type { Interactions } from "./matrix";
import { RecEvalError, UserItemMatrix } from "./matrix";
import { leaveLastOut, stratifiedSplit } from "./split";

/** A log where user u rated items 0..(5 + 3u) - 1 at times 100 * item (user 3 rates one item). */
function toyLog(): Interactions {
  const users: number[] = [];
  const items: number[] = [];
  const times: number[] = [];
  for (let u = 0; u < 3; u++) {
    for (let i = 0; i < 5 + 3 * u; i++) {
      users.push(u);
      items.push(i);
      times.push(100 * i);
    }
  }
  users.push(3);
  items.push(4);
  times.push(5);
  return {
    numUsers: 4,
    numItems: 12,
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    values: new Float32Array(users.length).fill(4),
    timestamps: Float64Array.from(times),
  };
}

describe("stratifiedSplit", () => {
  it("puts round(0.75 n) of every user's ratings in train and the rest in test", () => {
    const data = toyLog();
    const split = stratifiedSplit(data, { seed: 1 });
    for (const [u, n] of [
      [0, 5],
      [1, 8],
      [2, 11],
      [3, 1],
    ] as const) {
      expect(split.train.countOf(u)).toBe(Math.round(0.75 * n));
      expect(split.test.countOf(u)).toBe(n - Math.round(0.75 * n));
      const all = [...split.train.itemsOf(u), ...split.test.itemsOf(u)].sort((a, b) => a - b);
      expect(all).toEqual(u === 3 ? [4] : Array.from({ length: n }, (_, i) => i));
    }
    expect(split.train.nnz + split.test.nnz).toBe(data.users.length);
  });

  it("is a function of the seed", () => {
    const data = toyLog();
    const a = stratifiedSplit(data, { seed: 5 });
    const b = stratifiedSplit(data, { seed: 5 });
    expect(Array.from(a.test.indices)).toEqual(Array.from(b.test.indices));
    const differs = [6, 7, 8, 9].some(
      (s) => Array.from(stratifiedSplit(data, { seed: s }).test.indices).join() !== Array.from(a.test.indices).join(),
    );
    expect(differs).toBe(true);
  });

  it("samples test items uniformly within a user", () => {
    const n = 40;
    const data: Interactions = {
      numUsers: 1,
      numItems: n,
      users: new Int32Array(n),
      items: Int32Array.from({ length: n }, (_, i) => i),
      values: new Float32Array(n),
      timestamps: new Float64Array(n),
    };
    const hits = new Float64Array(n);
    const rng = new Rng(11);
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      for (const i of stratifiedSplit(data, { seed: rng.nextUint32() }).test.itemsOf(0)) hits[i] = (hits[i] as number) + 1;
    }
    // Each item is in test with probability 10/40; 400 trials give mean 100, sd about 8.7.
    for (const h of hits) expect(Math.abs(h - 100)).toBeLessThan(40);
  });

  it("rejects a ratio outside (0, 1)", () => {
    expect(() => stratifiedSplit(toyLog(), { trainRatio: 1 })).toThrow(/^trainRatio: /);
  });
});

describe("leaveLastOut", () => {
  it("tests each user's latest rating; ties go to the later row; single-rating users are not tested", () => {
    const data = toyLog();
    // A second rating of user 0 at the same latest time, later in the log: item 9.
    const withTie: Interactions = {
      ...data,
      users: Int32Array.from([...data.users, 0]),
      items: Int32Array.from([...data.items, 9]),
      values: Float32Array.from([...data.values, 3]),
      timestamps: Float64Array.from([...data.timestamps, 400]),
    };
    const split = leaveLastOut(withTie);
    expect(Array.from(split.test.itemsOf(0))).toEqual([9]);
    expect(Array.from(split.test.itemsOf(1))).toEqual([7]);
    expect(Array.from(split.test.itemsOf(2))).toEqual([10]);
    expect(split.test.countOf(3)).toBe(0);
    expect(Array.from(split.train.itemsOf(3))).toEqual([4]);
    expect(split.train.has(0, 4)).toBe(true);
    expect(split.train.has(0, 9)).toBe(false);
  });
});

describe("UserItemMatrix", () => {
  it("sorts items per user and rejects duplicates by field", () => {
    const m = UserItemMatrix.fromRatings({
      numUsers: 2,
      numItems: 5,
      users: Int32Array.of(1, 0, 1),
      items: Int32Array.of(4, 2, 0),
      values: Float32Array.of(5, 3, 1),
      timestamps: Float64Array.of(1, 2, 3),
    });
    expect(Array.from(m.itemsOf(1))).toEqual([0, 4]);
    expect(Array.from(m.valuesOf(1))).toEqual([1, 5]);
    expect(Array.from(m.itemCounts())).toEqual([1, 0, 1, 0, 1]);
    expect(() =>
      UserItemMatrix.fromRatings({
        numUsers: 1,
        numItems: 5,
        users: Int32Array.of(0, 0),
        items: Int32Array.of(3, 3),
        values: new Float32Array(2),
        timestamps: new Float64Array(2),
      }),
    ).toThrow(RecEvalError);
  });
});
