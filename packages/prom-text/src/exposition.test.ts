import { describe, expect, it } from "vitest";
import { mergeFamilies, parseExposition, resolveSeries } from "./exposition";

const PAGE = [
  "# HELP fraud_stage_duration_seconds Duration of each stage",
  "# TYPE fraud_stage_duration_seconds histogram",
  'fraud_stage_duration_seconds_bucket{le="0.001",stage="features",service="fraud"} 3',
  'fraud_stage_duration_seconds_bucket{le="+Inf",stage="features",service="fraud"} 4',
  'fraud_stage_duration_seconds_sum{stage="features",service="fraud"} 0.0042',
  'fraud_stage_duration_seconds_count{stage="features",service="fraud"} 4',
  "# HELP fraud_decisions_total Decisions",
  "# TYPE fraud_decisions_total counter",
  'fraud_decisions_total{decision="decline",decided_by="rule",service="fraud"} 1',
  "# TYPE fraud_degraded_total counter",
  "# TYPE odd_gauge gauge",
  'odd_gauge{path="a \\"quoted\\" \\\\ value\\nnext",service="fraud"} -1.5e-3 1700000000000',
  "",
].join("\n");

describe("Prometheus text format", () => {
  const families = parseExposition(PAGE);

  it("groups samples under their family, histogram series included", () => {
    expect([...families.keys()]).toEqual(["fraud_stage_duration_seconds", "fraud_decisions_total", "fraud_degraded_total", "odd_gauge"]);
    expect(families.get("fraud_stage_duration_seconds")?.samples.map((s) => s.name)).toEqual([
      "fraud_stage_duration_seconds_bucket",
      "fraud_stage_duration_seconds_bucket",
      "fraud_stage_duration_seconds_sum",
      "fraud_stage_duration_seconds_count",
    ]);
    expect(families.get("fraud_degraded_total")?.samples).toEqual([]);
  });

  it("reads escaped label values, exponents and timestamps", () => {
    expect(families.get("odd_gauge")?.samples[0]).toEqual({ name: "odd_gauge", labels: { path: 'a "quoted" \\ value\nnext', service: "fraud" }, value: -0.0015 });
  });

  it("resolves queried series: histograms only through their suffixed series", () => {
    expect(resolveSeries("fraud_stage_duration_seconds_bucket", families)).toMatchObject({ family: { name: "fraud_stage_duration_seconds" } });
    expect(resolveSeries("fraud_stage_duration_seconds", families)).toEqual({ problem: expect.stringContaining("is a histogram") });
    expect(resolveSeries("fraud_decisions_total", families)).toMatchObject({ family: { type: "counter" } });
    expect(resolveSeries("fraud_decisions_total_count", families)).toEqual({ problem: "fraud_decisions_total_count is not exported" });
    expect(resolveSeries("nope", families)).toEqual({ problem: "nope is not exported" });
  });

  it("merges pages, refusing a family with two types", () => {
    const other = parseExposition('# TYPE fraud_decisions_total counter\nfraud_decisions_total{decision="approve",service="x"} 2\n');
    expect(mergeFamilies([families, other]).get("fraud_decisions_total")?.samples).toHaveLength(2);
    expect(() => mergeFamilies([families, parseExposition("# TYPE fraud_decisions_total gauge\n")])).toThrow(/counter in one service and a gauge/);
    expect(() => parseExposition("orphan 1\n")).toThrow(/before its # TYPE line/);
  });
});
