import { createRecWorld, simulateInteractions } from "@mlsd/synth";
import { describe, expect, it } from "vitest";
import { rankerData } from "./ranker";
import { noisyLatentScorer } from "./ranker-data";
import { recsTrainingWindows, towerAndRankerWindows } from "./windows";
import { clicksBefore, clicksOf } from "./world-data";

const world = createRecWorld({ preset: "small", seed: 4, numUsers: 150, numItems: 300 });
const log = simulateInteractions(world, { seed: 5, sessionsPerUser: 8, slateSize: 8 });
const clicks = clicksOf(log);
const scorer = noisyLatentScorer(world, { noise: 0.3 });

describe("the two-tower is fitted before the ranker's training window", () => {
  it("gives the tower only clicks of sessions that end before the ranker's first training session", () => {
    for (const towerEndDay of [undefined, 6, 14]) {
      const { windows, tower, cutoffRows } = towerAndRankerWindows(world, clicks, towerEndDay);
      const rankerStart = windows.ranker.warmupDays;
      expect(rankerStart).toBe(windows.towerEndDay);
      expect(tower.trainRows).toBe(clicksBefore(clicks, rankerStart));
      expect(tower.trainRows).toBeGreaterThan(20);
      // Every interaction the tower trains on happened before the ranker's window.
      expect(tower.data.interactions.time.length).toBe(tower.trainRows);
      expect(Math.max(...Array.from(tower.data.interactions.time))).toBeLessThan(rankerStart);
      // ... and every click the ranker's training and validation rows carry comes after it.
      const data = rankerData({ world, impressions: log, scorer: (u, i) => scorer(u, i), split: windows.ranker });
      const days = (rows: Int32Array) => Array.from(rows, (r) => log.day[r] as number);
      expect(data.train.logRows.length).toBeGreaterThan(100);
      expect(Math.min(...days(data.train.logRows))).toBeGreaterThanOrEqual(rankerStart);
      expect(Math.max(...days(data.train.logRows))).toBeLessThan(world.options.trainCutoffDay - windows.ranker.validDays);
      expect(Math.min(...days(data.valid.logRows))).toBeGreaterThanOrEqual(world.options.trainCutoffDay - windows.ranker.validDays);
      expect(Math.min(...days(data.test.logRows))).toBeGreaterThanOrEqual(world.options.trainCutoffDay);
      // Serving at the cut-off knows every click before it, the ranker's window included.
      expect(cutoffRows).toBe(clicksBefore(clicks, world.options.trainCutoffDay));
      expect(cutoffRows).toBeGreaterThan(tower.trainRows);
    }
  });

  it("defaults to 60 % of the days before validation and refuses a tower window that leaves the ranker no days", () => {
    expect(recsTrainingWindows({ trainCutoffDay: 24 })).toEqual({ towerEndDay: 12, ranker: { warmupDays: 12, validDays: 4, testStartDay: 24 } });
    expect(() => recsTrainingWindows({ trainCutoffDay: 24 }, 20)).toThrow(/towerEndDay: must be an integer day in \[1, 19\]/);
    expect(() => recsTrainingWindows({ trainCutoffDay: 24 }, 0)).toThrow(/towerEndDay/);
    expect(() => recsTrainingWindows({ trainCutoffDay: 5 })).toThrow(/leaves no days/);
  });
});
