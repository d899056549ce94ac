import { describe, expect, it } from "vitest";
import { Progress, ProgressOptionsError, formatCount, formatDuration } from "./index";

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 200, write: (c: string) => chunks.push(c) } };
}

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("Progress on a non-TTY stream", () => {
  it("prints one line per 10 % step and a summary with the total time", () => {
    const { chunks, stream } = fakeStream(false);
    const clock = fakeClock();
    const bar = new Progress({ total: 1000, label: "gen", unit: "rows", stream, now: clock.now });
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      bar.tick();
    }
    bar.done();
    expect(chunks).toHaveLength(10);
    expect(chunks[0]).toBe("gen: 10.0% 100/1,000 1,000 rows/s ETA 900 ms\n");
    expect(chunks[4]).toBe("gen: 50.0% 500/1,000 1,000 rows/s ETA 500 ms\n");
    expect(chunks[9]).toBe("gen: done, 1,000 rows in 1.0 s (1,000 rows/s)\n");
    expect(chunks.every((c) => !c.includes("\r"))).toBe(true);
  });

  it("skips steps jumped over in one update and ignores updates after done()", () => {
    const { chunks, stream } = fakeStream(false);
    const clock = fakeClock();
    const bar = new Progress({ total: 10, stream, now: clock.now });
    clock.advance(2000);
    bar.update(7);
    bar.done();
    bar.update(9);
    bar.done();
    expect(chunks).toEqual(["progress: 70.0% 7/10 3.5 items/s ETA 857 ms\n", "progress: done, 7 items in 2.0 s (3.5 items/s)\n"]);
  });
});

describe("Progress on a TTY stream", () => {
  it("redraws in place, throttled, with a bar, rate and ETA", () => {
    const { chunks, stream } = fakeStream(true);
    const clock = fakeClock();
    const bar = new Progress({ total: 100, label: "days", unit: "days", stream, now: clock.now, minRedrawMs: 100 });
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      bar.tick();
    }
    bar.done();
    // 1,000 ms of work at one redraw per 100 ms, plus the summary.
    expect(chunks).toHaveLength(11);
    expect(chunks[0]).toBe(`\rdays [........................] 1.0% 1/100 100 days/s ETA 990 ms\x1b[K`);
    expect(chunks[5]).toBe(`\rdays [############............] 51.0% 51/100 100 days/s ETA 490 ms\x1b[K`);
    expect(chunks[10]).toBe(`\rdays: done, 100 days in 1.0 s (100 days/s)\x1b[K\n`);
    expect(chunks.slice(0, 10).every((c) => c.startsWith("\r") && !c.includes("\n"))).toBe(true);
  });

  it("cuts the line to the terminal width", () => {
    const chunks: string[] = [];
    const stream = { isTTY: true, columns: 30, write: (c: string) => chunks.push(c) };
    const clock = fakeClock();
    const bar = new Progress({ total: 10, label: "a-long-label", stream, now: clock.now });
    clock.advance(5);
    bar.tick();
    expect(chunks[0]).toBe("\ra-long-label [##.............\x1b[K");
    expect("a-long-label [##.............").toHaveLength(29);
  });
});

describe("options and formatting", () => {
  it("rejects a total that is not positive", () => {
    expect(() => new Progress({ total: 0 })).toThrow(ProgressOptionsError);
    expect(() => new Progress({ total: Number.NaN })).toThrow(/total/);
  });

  it("formats counts and durations compactly", () => {
    expect(formatCount(999)).toBe("999");
    expect(formatCount(12_345)).toBe("12.3k");
    expect(formatCount(1_754_155)).toBe("1.75M");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(125_000)).toBe("2:05");
    expect(formatDuration(3_725_000)).toBe("1:02:05");
  });
});
