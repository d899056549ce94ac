import { describe, expect, it } from "vitest";
import { evaluateBudgets, INSTRUMENT_ERROR_MULTIPLE, parseBudgets } from "./budgets";
import { fraudRun, latency } from "./run-result.test-helper";

describe("evaluateBudgets", () => {
  const budgets = parseBudgets({
    endpoints: { fraud: { rate: 1000, latency: { p50: 2, p99: 5 }, stages: { features: { p99: 2 } }, maxErrorRate: 0.001, maxFallbackRate: 0.01 } },
  });

  it("passes a run inside every target", () => {
    const evaluation = evaluateBudgets(fraudRun(), budgets);
    expect(evaluation.passed).toBe(true);
    expect(evaluation.checks.map((c) => `${c.subject} ${c.metric} ${c.status}`)).toEqual([
      "offered rate rate pass",
      "end to end p50 pass",
      "end to end p99 pass",
      "stage features p99 pass",
      "error rate share pass",
      "fallback rate share pass",
    ]);
  });

  it("fails each target the run missed and only those", () => {
    const run = fraudRun({ latency: latency(1.5, 4, 7.25), stages: { features: latency(0.5, 1, 2.5) }, errorRate: 0.002 });
    const evaluation = evaluateBudgets(run, budgets);
    expect(evaluation.passed).toBe(false);
    const failed = evaluation.checks.filter((c) => c.status === "fail");
    expect(failed.map((c) => [c.subject, c.metric, c.measured])).toEqual([
      ["end to end", "p99", 7.25],
      ["stage features", "p99", 2.5],
      ["error rate", "share", 0.002],
    ]);
  });

  it("does not let a run at lower load, or one without the budgeted stage, pass", () => {
    const evaluation = evaluateBudgets(fraudRun({ offeredRate: 500, stages: {} }), budgets);
    expect(evaluation.passed).toBe(false);
    expect(evaluation.checks.find((c) => c.subject === "offered rate")).toMatchObject({ status: "fail", measured: 500, target: 1000 });
    expect(evaluation.checks.find((c) => c.subject === "stage features")).toMatchObject({ status: "no-data", measured: null, note: 'the answers carried no "features" timing' });
  });

  it("refuses a run of an endpoint the budgets do not cover", () => {
    expect(() => evaluateBudgets(fraudRun({ endpoint: "search" }), budgets)).toThrow(/^endpoint: no budget for "search" \(budgets cover: fraud\)/);
  });
});

describe("evaluateBudgets with the instrument's error", () => {
  const budgets = parseBudgets({
    endpoints: { fraud: { rate: 1000, latency: { p50: 2, p99: 5 }, stages: { features: { p99: 0.5 } }, maxErrorRate: 0.001, maxFallbackRate: 0.01 } },
  });
  const instrument = (p50: number, p99: number, rate = 1000) => ({ error: latency(p50, p50 * 2, p99), rate });

  it(`judges a latency budget at least ${INSTRUMENT_ERROR_MULTIPLE} x the instrument's error at the same percentile, and only those`, () => {
    // p50 budget 2 ms vs 4 x 0.5 = 2 ms: judged; p99 budget 5 ms vs 4 x 1.5 = 6 ms: not judged.
    const evaluation = evaluateBudgets(fraudRun(), budgets, instrument(0.5, 1.5));
    const e2e = evaluation.checks.filter((c) => c.subject === "end to end");
    expect(e2e.map((c) => [c.metric, c.status, c.instrumentError])).toEqual([
      ["p50", "pass", 0.5],
      ["p99", "not-judged", 1.5],
    ]);
    expect(e2e[1]?.note).toBe("budget below 4 x the instrument's own p99 of 1.500 ms = 6.000 ms");
    // A budget that is not judged is not a pass.
    expect(evaluation.passed).toBe(false);
    // The stage is the service's own clock: judged (and here missed) whatever the instrument.
    expect(evaluation.checks.find((c) => c.subject === "stage features")).toMatchObject({ status: "fail", measured: 1.4 });
  });

  it("judges as measured once the instrument is good enough, misses included", () => {
    const passing = evaluateBudgets(fraudRun({ stages: { features: latency(0.1, 0.2, 0.4) } }), budgets, instrument(0.2, 0.6));
    expect(passing.passed).toBe(true);
    const missing = evaluateBudgets(fraudRun({ latency: latency(2.5, 4, 7) }), budgets, instrument(0.2, 0.6));
    expect(missing.checks.filter((c) => c.status === "fail").map((c) => `${c.subject} ${c.metric}`)).toEqual(["end to end p50", "end to end p99", "stage features p99"]);
  });

  it("judges no latency budget without a measured error, or with one measured at a lower rate", () => {
    const unmeasured = evaluateBudgets(fraudRun(), budgets, { error: null, reason: "not calibrated" });
    expect(unmeasured.checks.filter((c) => c.subject === "end to end").map((c) => [c.status, c.note, c.instrumentError])).toEqual([
      ["not-judged", "not calibrated", null],
      ["not-judged", "not calibrated", null],
    ]);
    const slower = evaluateBudgets(fraudRun(), budgets, instrument(0.1, 0.2, 500));
    expect(slower.checks.find((c) => c.metric === "p99" && c.subject === "end to end")).toMatchObject({
      status: "not-judged",
      note: "the instrument was calibrated at 500/s, below the run's 1000/s",
    });
  });
});
