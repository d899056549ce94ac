import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseBudgets } from "./budgets";
import type { RampResult } from "./ramp";
import { formatMs, formatShare, renderReport, writeReport } from "./report";
import { fraudRun, latency } from "./run-result.test-helper";

const budgets = parseBudgets({
  endpoints: { fraud: { rate: 1000, latency: { p50: 2, p99: 5 }, stages: { features: { p99: 2 } }, maxErrorRate: 0.001, maxFallbackRate: 0.01 } },
});

const ramp: RampResult = {
  endpoint: "fraud",
  steps: [
    fraudRun({ offeredRate: 250, latency: latency(0.9, 1.5, 2.2) }),
    fraudRun({ offeredRate: 1000, latency: latency(1.2, 2.5, 4.1) }),
    fraudRun({ offeredRate: 2000, latency: latency(30, 250, 900), errorRate: 0.2 }),
  ],
  stoppedEarly: null,
};

describe("renderReport", () => {
  it("tables measured against budget with pass and fail, per run and per ramp step", () => {
    const report = renderReport({ runs: [fraudRun({ latency: latency(1.2, 2.5, 6.5) })], ramps: [ramp], budgets, notes: ["shared 2-core machine"] });
    expect(report.evaluation.passed).toBe(false);
    const md = report.markdown;
    expect(md).toContain("- shared 2-core machine");
    expect(md).toContain("## Budgets: FAIL: 1 of 6 checks missed or had no data");
    expect(md).toContain("| fraud | end to end p99 | 6.50 ms | <= 5.00 ms | FAIL |");
    expect(md).toContain("| fraud | end to end p50 | 1.20 ms | <= 2.00 ms | PASS |");
    expect(md).toContain("| fraud | stage features p99 | 1.40 ms | <= 2.00 ms | PASS |");
    expect(md).toContain("| fraud | offered rate | 1000/s | >= 1000/s | PASS |");
    expect(md).toContain("| stage features (service clock) | 30000 | 0.400 | 0.650 | 0.900 | 1.40 | 1.68 | 2.10 | 0.400 |");
    expect(md).toContain("| 2000 | 999.5 | 30.0 | 250 | 900 | 20.00 % | 0.10 % | no |");
    expect(md).toContain("Highest offered rate within budget: 1000/s.");
    expect(md).toContain("![latency vs load](latency-vs-load-fraud.svg)");
  });

  it("prints the same tables aligned for a terminal", () => {
    const report = renderReport({ runs: [fraudRun()], budgets });
    const lines = report.terminal.split("\n");
    const header = lines.findIndex((l) => l.startsWith("endpoint  check"));
    expect(header).toBeGreaterThan(0);
    const rule = lines[header + 1] as string;
    const body = lines.slice(header + 2, header + 8);
    expect(body).toHaveLength(6);
    // Every row's "result" column starts where the header's does.
    const at = (lines[header] as string).indexOf("result");
    for (const row of body) expect(row.slice(at)).toMatch(/^PASS/);
    expect(rule).toMatch(/^-+ {2}-+/);
    expect(report.terminal).toContain("Budgets: PASS: every budget met");
  });

  it("draws latency against offered load with the budget as a reference line", () => {
    const [chart] = renderReport({ runs: [], ramps: [ramp], budgets }).charts;
    expect(chart?.file).toBe("latency-vs-load-fraud.svg");
    const svg = chart?.svg ?? "";
    expect(svg.startsWith("<svg")).toBe(true);
    for (const name of ["p50 end to end", "p95 end to end", "p99 end to end", "p99 stage features"]) expect(svg).toContain(`data-name="${name}"`);
    expect(svg).toContain("p99 budget 5.00 ms");
    expect(svg).toContain("features p99 budget 2.00 ms");
    expect(svg.match(/class="reference"/g)).toHaveLength(2);
  });

  it("writes the report, the raw results and the charts", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "loadgen-report-"));
    const runs = [fraudRun()];
    const report = renderReport({ runs, ramps: [ramp], budgets });
    const files = await writeReport(path.join(dir, "nested"), report, { runs, ramps: [ramp] });
    expect(files.map((f) => path.basename(f))).toEqual(["report.md", "results.json", "latency-vs-load-fraud.svg"]);
    const json = JSON.parse(await readFile(files[1] as string, "utf8"));
    expect(json.runs[0].latency.p99).toBe(4.1);
    expect(json.ramps[0].steps).toHaveLength(3);
    expect(json.evaluation.passed).toBe(true);
  });

  it("prints the instrument's error beside each end-to-end budget, its own section and what ran where", () => {
    const calibration = { run: fraudRun({ endpoint: "null server", latency: latency(0.2, 0.3, 0.5), latencyFromSend: latency(0.15, 0.25, 0.4), sendLag: latency(0.05, 0.1, 0.2) }), url: "http://127.0.0.1:1", builtIn: true };
    const placements = [
      { role: "generator (this process, every thread)", pid: 10, cpus: "0", pinned: true },
      { role: "null server (calibration)", pid: 11, cpus: "1", pinned: true },
    ];
    const report = renderReport({ runs: [fraudRun()], budgets, calibration, placements });
    const md = report.markdown;
    expect(md).toContain("| fraud | end to end p50 | 1.20 ms | <= 2.00 ms | 0.200 ms | PASS |");
    expect(md).toContain("| fraud | end to end p99 | 4.10 ms | <= 5.00 ms | 0.500 ms | PASS |");
    expect(md).toContain("| fraud | stage features p99 | 1.40 ms | <= 2.00 ms | service clock | PASS |");
    expect(md).toContain("## Instrument: the generator's own error at 1000/s");
    expect(md).toContain("| send lag (actual - scheduled send) | 1000 | 0.050 | 0.075 | 0.100 | 0.200 | 0.240 | 0.300 | 0.050 |");
    expect(md).toContain("generator CPU 0.150 ms per request");
    expect(md).toContain("| null server (calibration) | 11 | 1 | yes (taskset) |");

    const tooCoarse = { ...calibration, run: { ...calibration.run, latency: latency(0.2, 0.3, 1.5) } };
    const refused = renderReport({ runs: [fraudRun()], budgets, calibration: tooCoarse });
    expect(refused.markdown).toContain("## Budgets: NOT JUDGED: 1 of 6 checks are budgets the instrument cannot resolve; the other 5 met");
    expect(refused.markdown).toContain("| fraud | end to end p99 | 4.10 ms | <= 5.00 ms | 1.50 ms | NOT JUDGED (budget below 4 x the instrument's own p99 of 1.500 ms = 6.000 ms) |");

    const uncalibrated = renderReport({ runs: [fraudRun()], budgets, calibration: null });
    expect(uncalibrated.markdown).toContain("| fraud | end to end p99 | 4.10 ms | <= 5.00 ms | not measured | NOT JUDGED (the instrument's own error was not measured (--calibrate 0)) |");
    expect(uncalibrated.markdown).toContain("The instrument's own error was not measured (--calibrate 0)");
  });

  it("formats milliseconds and shares for reading", () => {
    expect([formatMs(0.1234), formatMs(4.567), formatMs(45.67), formatMs(456.7), formatMs(Number.NaN), formatMs(null)]).toEqual(["0.123", "4.57", "45.7", "457", "n/a", "n/a"]);
    expect([formatShare(0), formatShare(0.0004), formatShare(0.25)]).toEqual(["0.00 %", "0.040 %", "25.00 %"]);
  });
});
