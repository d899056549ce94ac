import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { profileMarkdown, summarizeCpuProfile } from "./cpu-profile";

const frame = (id: number, functionName: string, url: string, children: number[] = [], lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber }, children });

/** root > scoreTransaction > (contributions, json); root > (idle); root > (garbage collector). */
const profile = {
  nodes: [
    frame(1, "(root)", "", [2, 4, 5]),
    frame(2, "scoreTransaction", "file:///repo/services/fraud/src/scoring.ts", [3, 6]),
    frame(3, "contributions", "file:///repo/packages/gbdt/src/explain.ts"),
    frame(4, "(idle)", ""),
    frame(5, "(garbage collector)", ""),
    frame(6, "json", "file:///repo/node_modules/express/lib/response.js", [], 235),
  ],
  startTime: 1_000_000,
  // One sample per millisecond; the first falls before the window.
  samples: [3, 3, 6, 4, 5, 3, 3],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe("summarizeCpuProfile", () => {
  it("splits the window's samples into own time, inclusive time and areas, idle apart", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-prof-"));
    const file = path.join(dir, "x.cpuprofile");
    await writeFile(file, JSON.stringify(profile));
    const s = await summarizeCpuProfile(file, { fromUs: 1_000_500, toUs: 1_010_000 }, "/repo");
    // Samples at 1, 2, 3, 4, 5 ms count 1 ms each; the last one (6 ms) has no successor and counts 0.
    expect(s.totalMs).toBeCloseTo(5, 9);
    expect(s.idleMs).toBeCloseTo(1, 9);
    expect(s.self.map((r) => [r.name, r.ms])).toEqual([
      ["contributions packages/gbdt/src/explain.ts", 2],
      ["json express/lib/response.js:236", 1],
      ["(garbage collector)", 1],
    ]);
    expect(s.self[0]?.share).toBeCloseTo(0.5, 9);
    expect(s.inclusive.map((r) => [r.name, r.ms])).toEqual([
      ["scoreTransaction services/fraud/src/scoring.ts", 3],
      ["contributions packages/gbdt/src/explain.ts", 2],
      ["json express/lib/response.js:236", 1],
      ["(garbage collector)", 1],
    ]);
    expect(s.byArea.map((r) => [r.name, r.ms])).toEqual([
      ["packages/gbdt", 2],
      ["npm express", 1],
      ["(garbage collector)", 1],
    ]);
    const md = profileMarkdown(s, "Profile");
    expect(md).toContain("busy 0.0 s (80 % of one core)");
    expect(md).toContain("| `contributions packages/gbdt/src/explain.ts` | 2 | 50.0 % |");

    const whole = await summarizeCpuProfile(file, null, "/repo");
    expect(whole.totalMs).toBeCloseTo(6, 9);
  });
});
