import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { CountWindow, TimeWindow } from "./windows";

const cellsPerFeature = [7, 3, 300];

function randomCells(rng: Rng): number[] {
  return cellsPerFeature.map((c) => rng.int(c));
}

function bruteForce(events: ReadonlyArray<{ cells: number[] }>): number[][] {
  const counts = cellsPerFeature.map((c) => new Array<number>(c).fill(0));
  for (const e of events) {
    e.cells.forEach((cell, f) => {
      const row = counts[f] as number[];
      row[cell] = (row[cell] as number) + 1;
    });
  }
  return counts;
}

describe("CountWindow", () => {
  it("always holds the counts of the last N events", () => {
    const rng = new Rng(4);
    const window = new CountWindow(cellsPerFeature, 50);
    const history: Array<{ cells: number[] }> = [];
    for (let i = 0; i < 537; i++) {
      const cells = randomCells(rng);
      history.push({ cells });
      window.insert(i, cells);
      if (i % 37 === 0 || i === 536) {
        expect(window.size).toBe(Math.min(50, i + 1));
        expect(window.counts.map((c) => [...c])).toEqual(bruteForce(history.slice(-50)));
      }
    }
    window.clear();
    expect(window.size).toBe(0);
    expect(window.counts.every((c) => c.every((v) => v === 0))).toBe(true);
  });

  it("rejects a bad capacity naming the field", () => {
    expect(() => new CountWindow([3], 0)).toThrow(/window\.size/);
    expect(() => new CountWindow([70_000], 10)).toThrow(/cellsPerFeature\[0\]/);
  });
});

describe("TimeWindow", () => {
  it("holds exactly the events within the horizon of the latest time, out of order included", () => {
    const rng = new Rng(12);
    const horizon = 1000;
    const window = new TimeWindow(cellsPerFeature, horizon);
    const accepted: Array<{ time: number; cells: number[] }> = [];
    let latest = -Infinity;
    let late = 0;
    // Enough events to outgrow the initial 1,024 slots; times jitter by up to 300 behind the clock.
    for (let i = 0; i < 6000; i++) {
      const time = i * 0.5 - rng.uniform(0, 300);
      const cells = randomCells(rng);
      latest = Math.max(latest, time);
      const inserted = window.insert(time, cells);
      expect(inserted).toBe(time > latest - horizon);
      if (inserted) accepted.push({ time, cells });
      else late++;
      if (i % 499 === 0 || i === 5999) {
        const live = accepted.filter((e) => e.time > latest - horizon);
        expect(window.size).toBe(live.length);
        expect(window.counts.map((c) => [...c])).toEqual(bruteForce(live));
      }
    }
    expect(window.watermark).toBe(latest);
    expect(window.lateEvents).toBe(late);
    expect(window.size).toBeGreaterThan(1024);
  });

  it("drops an event older than the horizon on arrival and evicts on advanceTo", () => {
    const window = new TimeWindow([2], 10);
    expect(window.insert(100, [0])).toBe(true);
    expect(window.insert(89, [1])).toBe(false);
    expect(window.insert(95, [1])).toBe(true);
    expect([...(window.counts[0] as Int32Array)]).toEqual([1, 1]);
    window.advanceTo(105);
    expect([...(window.counts[0] as Int32Array)]).toEqual([1, 0]);
    window.advanceTo(110);
    expect(window.size).toBe(0);
    expect(window.lateEvents).toBe(1);
  });
});
