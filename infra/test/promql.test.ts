import { describe, expect, it } from "vitest";
import { familyCandidates } from "@mlsd/prom-text";
import { groupingLabels, metricNames, PromqlError, selectors } from "./promql";

describe("PromQL selectors", () => {
  it("finds the histogram series inside histogram_quantile, not the function, aggregation or label names", () => {
    const expr = `histogram_quantile(0.99, sum by (le, stage) (rate(fraud_stage_duration_seconds_bucket{stage="features", route=~"/v1/.*"}[1m])))`;
    expect(selectors(expr)).toEqual([
      {
        metric: "fraud_stage_duration_seconds_bucket",
        matchers: [
          { label: "stage", op: "=", value: "features" },
          { label: "route", op: "=~", value: "/v1/.*" },
        ],
      },
    ]);
  });

  it("reads both sides of a binary operation, trailing by clauses and vector matching", () => {
    const expr = `sum(rate(a_total{status!="200"}[5m])) by (job) / on (job) group_left (instance) sum without (le) (b_count) > bool 0.5 or up`;
    expect(metricNames(expr)).toEqual(["a_total", "b_count", "up"]);
    expect(selectors(expr)[0]?.matchers).toEqual([{ label: "status", op: "!=", value: "200" }]);
  });

  it("ignores strings, numbers, durations, offsets and Grafana variables", () => {
    expect(metricNames(`max_over_time(x_seconds{q="{not_a_metric}"}[$__rate_interval] offset 1h30m) * 1e-3 + 0x1f`)).toEqual(["x_seconds"]);
    expect(metricNames(`topk(5, count_values("v", y_info)) and vector(1)`)).toEqual(["y_info"]);
    expect(metricNames(`z @ start()`)).toEqual(["z"]);
  });

  it("reads a selector without a metric name through __name__", () => {
    expect(selectors(`{__name__="w_total", job="fraud"}`)).toEqual([{ metric: "w_total", matchers: [{ label: "job", op: "=", value: "fraud" }] }]);
  });

  it("refuses unbalanced brackets, bad matchers and stray characters, naming the position", () => {
    expect(() => selectors(`sum(rate(x[1m])`)).toThrow(PromqlError);
    expect(() => selectors(`rate(x[1m]))`)).toThrow(/unbalanced "\)" at 11/);
    expect(() => selectors(`x{a="b"`)).toThrow(/never closed/);
    expect(() => selectors(`x{a b}`)).toThrow(/matcher operator/);
    expect(() => selectors(`x{a=b}`)).toThrow(/quoted label value/);
    expect(() => selectors(`x ; y`)).toThrow(/unexpected character ";"/);
    expect(() => selectors(`x{a="b}`)).toThrow(/unterminated string/);
  });

  it("maps histogram series back to their family", () => {
    expect(familyCandidates("a_seconds_bucket")).toEqual([
      { family: "a_seconds_bucket", suffix: null },
      { family: "a_seconds", suffix: "_bucket" },
    ]);
    expect(familyCandidates("b_total")).toEqual([{ family: "b_total", suffix: null }]);
  });

  it("lists the labels a query groups by", () => {
    expect(groupingLabels(`histogram_quantile(0.9, sum by (le, stage) (rate(a_bucket[1m]))) / on (job) sum(b) by (job, stage)`)).toEqual(["le", "stage", "job"]);
    expect(groupingLabels(`sum without (le) (a)`)).toEqual([]);
  });
});
