import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BUDGETS_PATH } from "./command";
import { evaluateBudgets, loadBudgets, parseBudgets } from "./budgets";
import { fraudRun, latency } from "./run-result.test-helper";

describe("budget file", () => {
  it("states the architecture's targets", async () => {
    const budgets = await loadBudgets(DEFAULT_BUDGETS_PATH);
    expect(budgets.endpoints.fraud).toMatchObject({ rate: 1000, latency: { p99: 5 }, stages: { features: { p99: 2 } } });
    expect(budgets.endpoints.recommendations).toMatchObject({ rate: 300, latency: { p99: 25 }, stages: { features: { p99: 2 } } });
  });

  it("names the field that is wrong", async () => {
    expect(() => parseBudgets({})).toThrow(/^endpoints: must be an object/);
    expect(() => parseBudgets({ endpoints: {} })).toThrow(/^endpoints: needs at least one endpoint/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1000, latency: { p99: "5" } } } })).toThrow(/^endpoints\.fraud\.latency\.p99: must be a positive number, got "5"/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1000, latency: { p98: 5 } } } })).toThrow(/^endpoints\.fraud\.latency\.p98: unknown percentile/);
    expect(() => parseBudgets({ endpoints: { fraud: { latency: { p99: 5 } } } })).toThrow(/^endpoints\.fraud\.rate:/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1, latency: { p99: 5 }, stages: { features: {} } } } })).toThrow(/^endpoints\.fraud\.stages\.features: needs at least one percentile/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1, latency: { p99: 5 }, maxErrorRate: 2 } } })).toThrow(/^endpoints\.fraud\.maxErrorRate: must be a share/);
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-budgets-"));
    await writeFile(path.join(dir, "broken.json"), "{ endpoints:");
    await expect(loadBudgets(path.join(dir, "broken.json"))).rejects.toThrow(/^budgets: .*broken\.json is not JSON/);
    await expect(loadBudgets(path.join(dir, "missing.json"))).rejects.toThrow(/^budgets: cannot read/);
  });
});

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
