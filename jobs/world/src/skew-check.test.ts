import { VirtualClock } from "@mlsd/loadgen";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { RecsSkewReport } from "./recs-skew";
import { RecsSkewChecker, type SkewWindow } from "./skew-check";

const START = Date.parse("2024-01-31T00:00:00Z");
const SPEED = 1000;
const EVERY = 30_000;
const SETTLE = 5_000 * SPEED;

function report(window: SkewWindow, over: { answers?: number; gap?: number; mismatches?: Record<string, number> } = {}): RecsSkewReport {
  const answers = over.answers ?? 4;
  const rows = answers * 10;
  const feature = (name: string, compared: number) => {
    const mismatches = over.mismatches?.[name] ?? 0;
    return { feature: name, compared, mismatches, mismatchRate: compared > 0 ? mismatches / compared : 0, servedMissing: 0, offlineMissing: 0, meanAbsDiff: 0, examples: [] };
  };
  return {
    from: new Date(window.from).toISOString(),
    to: new Date(window.to).toISOString(),
    logged: answers + 2,
    ranked: answers + 1,
    sampled: answers,
    skipped: 0,
    answers,
    withoutOffsets: 0,
    rows,
    answersWithMismatch: Object.values(over.mismatches ?? {}).some((n) => n > 0) ? 1 : 0,
    answersWithLogGap: over.gap ?? 0,
    eventsWithoutSource: 0,
    features: [feature("item_ctr", rows), feature("log_clicks", answers)],
  };
}

/** A checker on a virtual clock whose measure answers from `script` (one entry per call), recording each call. */
function setup(script: ((w: SkewWindow) => RecsSkewReport | Error)[], logReached: () => Promise<number | null> = async () => Number.POSITIVE_INFINITY) {
  const clock = new VirtualClock();
  const registry = new Registry();
  const calls: { window: SkewWindow; realMs: number }[] = [];
  const lines: string[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const checker = new RecsSkewChecker({
    async measure(window) {
      calls.push({ window, realMs: clock.now() });
      const step = script[calls.length - 1];
      if (calls.length >= script.length) done();
      const out = step ? step(window) : report(window);
      if (out instanceof Error) throw out;
      return out;
    },
    worldNow: () => START + clock.now() * SPEED,
    logReached,
    timer: clock,
    everyMs: EVERY,
    fromMs: START,
    settleMs: SETTLE,
    maxRetries: 2,
    registry,
    log: (line) => lines.push(line),
  });
  return { clock, registry, calls, lines, checker, finished };
}

async function gauge(registry: Registry, name: string, labels: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("the periodic recs skew check", () => {
  it("checks consecutive windows of the log, each ending a settle time behind the clock, one interval after the last check", async () => {
    const { clock, registry, calls, lines, checker, finished } = setup([(w) => report(w), (w) => report(w, { mismatches: { item_ctr: 4 } }), (w) => report(w)]);
    checker.start();
    await clock.run(finished);
    await checker.stop();
    expect(calls.map((c) => c.realMs)).toEqual([EVERY, 2 * EVERY, 3 * EVERY]);
    expect(calls.map((c) => c.window)).toEqual([
      { from: START, to: START + EVERY * SPEED - SETTLE },
      { from: START + EVERY * SPEED - SETTLE, to: START + 2 * EVERY * SPEED - SETTLE },
      { from: START + 2 * EVERY * SPEED - SETTLE, to: START + 3 * EVERY * SPEED - SETTLE },
    ]);
    expect(checker.outcomes).toMatchObject({ published: 3, retry: 0 });
    // The gauges hold the last check: the mismatches of the second are gone.
    expect(await gauge(registry, "recs_skew_mismatch_rate", 'feature="item_ctr"')).toBe(0);
    expect(await gauge(registry, "recs_skew_mismatch_rate", 'feature="log_clicks"')).toBe(0);
    expect(await gauge(registry, "recs_skew_answers", 'kind="compared"')).toBe(4);
    expect(await gauge(registry, "recs_skew_checks_total", 'outcome="published"')).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^skew check: world 2024-01-31 06:56 -> 2024-01-31 15:16: 4 answers \(40 item rows\) compared of 6 logged .* 4 mismatching values in 1 answers over 2 features \(worst item_ctr 10\.00 %\); 0 answers past the log/);
  });

  it("never ends a window past the newest answer the log holds: a lagging event logger delays answers, never skips them", async () => {
    const reached = [START + 1_000, START + 1_000, null, START + 9_000_000];
    let call = 0;
    const { clock, calls, checker, finished } = setup([(w) => report(w), (w) => report(w)], async () => reached[Math.min(call++, reached.length - 1)] ?? null);
    checker.start();
    await clock.run(finished);
    await checker.stop();
    // The log stood still for two checks (nothing new, no read), then moved on.
    expect(calls.map((c) => c.window)).toEqual([
      { from: START, to: START + 1_001 },
      { from: START + 1_001, to: START + 9_000_001 },
    ]);
    expect(calls.map((c) => c.realMs)).toEqual([EVERY, 4 * EVERY]);
    expect(checker.outcomes).toMatchObject({ published: 2, "nothing-new": 2 });
  });

  it("checks a window again, grown, while its answers read events the log does not hold yet; then reports it as it is", async () => {
    const { clock, registry, calls, lines, checker, finished } = setup([
      (w) => report(w, { gap: 2, mismatches: { item_ctr: 3 } }),
      (w) => report(w, { gap: 1, mismatches: { item_ctr: 1 } }),
      (w) => report(w, { gap: 1, mismatches: { item_ctr: 1 } }),
      (w) => report(w),
    ]);
    checker.start();
    await clock.run(finished);
    await checker.stop();
    // Two retries from the same start (maxRetries 2), then published with its gap; the next window starts where it ended.
    expect(calls.map((c) => c.window.from)).toEqual([START, START, START, calls[2]!.window.to]);
    expect(calls[1]!.window.to).toBeGreaterThan(calls[0]!.window.to);
    expect(checker.outcomes).toMatchObject({ retry: 2, published: 2 });
    expect(lines[0]).toMatch(/2 answers read events the log does not hold yet: checked again next time/);
    expect(await gauge(registry, "recs_skew_answers", 'kind="log_gap"')).toBe(0);
    expect(await gauge(registry, "recs_skew_checks_total", 'outcome="retry"')).toBe(2);
  });

  it("keeps the last result through windows without a ranked answer, and through a failed read, which it retries", async () => {
    const { clock, registry, calls, checker, finished } = setup([
      (w) => report(w, { mismatches: { log_clicks: 2 } }),
      (w) => report(w, { answers: 0 }),
      () => new Error("EACCES: permission denied"),
      (w) => report(w, { answers: 0 }),
    ]);
    checker.start();
    await clock.run(finished);
    await checker.stop();
    expect(checker.outcomes).toMatchObject({ published: 1, "no-answers": 2, failed: 1 });
    // The failed window is read again from the same start.
    expect(calls[3]!.window.from).toBe(calls[2]!.window.from);
    expect(await gauge(registry, "recs_skew_mismatch_rate", 'feature="log_clicks"')).toBe(0.5);
    expect(checker.last?.window).toEqual(calls[0]!.window);
  });

  it("stops: no check after stop(), and none before the clock is a settle time past the log's start", async () => {
    const { clock, calls, checker } = setup([]);
    checker.start();
    await checker.stop();
    await clock.run(new Promise((r) => clock.setTimer(5 * EVERY, () => r(undefined))));
    expect(calls).toHaveLength(0);
    const early = new RecsSkewChecker({ measure: async (w) => report(w), worldNow: () => START + 1, logReached: async () => null, timer: clock, everyMs: EVERY, fromMs: START, settleMs: SETTLE, registry: null, log: () => undefined });
    expect((await early.check()).outcome).toBe("nothing-new");
    expect(() => new RecsSkewChecker({ measure: async (w) => report(w), worldNow: () => START, logReached: async () => null, timer: clock, everyMs: 0, fromMs: START, settleMs: 0, registry: null, log: () => undefined })).toThrow(/everyMs/);
  });
});
