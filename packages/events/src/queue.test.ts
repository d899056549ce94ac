import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { RecordQueue } from "./queue";
import type { SizedRecord } from "./record";

const record = (n: number, bytes = 10): SizedRecord => ({ topic: "t", key: `k${n % 3}`, value: Buffer.from(String(n)), bytes });

describe("RecordQueue", () => {
  it("refuses a record past the count bound and leaves the queue unchanged", () => {
    const queue = new RecordQueue({ maxEvents: 3, maxBytes: 1_000 });
    expect([1, 2, 3, 4].map((n) => queue.push(record(n)))).toEqual([true, true, true, false]);
    expect(queue.length).toBe(3);
    expect(queue.bytes).toBe(30);
    expect(queue.peek(10).map((r) => r.value.toString())).toEqual(["1", "2", "3"]);
  });

  it("refuses a record past the byte bound", () => {
    const queue = new RecordQueue({ maxEvents: 100, maxBytes: 25 });
    expect(queue.push(record(1, 10))).toBe(true);
    expect(queue.push(record(2, 10))).toBe(true);
    expect(queue.push(record(3, 10))).toBe(false);
    expect(queue.push(record(4, 5))).toBe(true);
    expect(queue.bytes).toBe(25);
  });

  it("cuts batches by count and bytes, but never below one record", () => {
    const queue = new RecordQueue({ maxEvents: 100, maxBytes: 10_000 });
    for (const bytes of [40, 40, 40, 500, 10]) queue.push(record(bytes, bytes));
    expect(queue.batchLength(2, 1_000)).toBe(2);
    expect(queue.batchLength(10, 100)).toBe(2);
    expect(queue.batchLength(10, 120)).toBe(3);
    queue.drop(3);
    expect(queue.batchLength(10, 100)).toBe(1);
    expect(queue.batchLength(10, 10_000)).toBe(2);
  });

  it("stays a FIFO through many pushes and drops (compared with a plain array)", () => {
    const rng = new Rng(11);
    const queue = new RecordQueue({ maxEvents: 20_000, maxBytes: 1e9 });
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 2_000; step++) {
      const pushes = rng.int(40);
      for (let i = 0; i < pushes; i++) {
        if (queue.push(record(next, 1 + (next % 7)))) model.push(next);
        next++;
      }
      const drops = rng.int(45);
      queue.drop(drops);
      model.splice(0, drops);
      expect(queue.length).toBe(model.length);
    }
    expect(queue.peek(model.length).map((r) => Number(r.value.toString()))).toEqual(model);
    expect(queue.bytes).toBe(model.reduce((sum, n) => sum + 1 + (n % 7), 0));
  });
});
