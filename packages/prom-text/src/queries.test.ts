import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseExposition } from "./exposition";
import { histogramDelta, histogramOf, histogramQuantile, labelValues, sumBy, sumOf } from "./queries";

async function page(fill: (h: Histogram<"stage">, c: Counter<"kind">) => void) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "svc" });
  const h = new Histogram({ name: "svc_stage_duration_seconds", help: "h", labelNames: ["stage"], buckets: [0.001, 0.002, 0.005, 0.01], registers: [registry] });
  const c = new Counter({ name: "svc_fallbacks_total", help: "c", labelNames: ["kind"], registers: [registry] });
  fill(h, c);
  return parseExposition(await registry.metrics());
}

describe("queries over a scraped page", () => {
  it("sums counters, by label and in total", async () => {
    const families = await page((_, c) => {
      c.inc({ kind: "popularity" }, 3);
      c.inc({ kind: "cold-start" }, 2);
    });
    expect(sumOf(families, "svc_fallbacks_total")).toBe(5);
    expect(sumOf(families, "svc_fallbacks_total", { kind: "popularity" })).toBe(3);
    expect(sumBy(families, "svc_fallbacks_total", "kind")).toEqual({ popularity: 3, "cold-start": 2 });
    expect(sumOf(families, "absent_total")).toBe(0);
    expect(labelValues(families, "svc_fallbacks_total", "kind")).toEqual(["cold-start", "popularity"]);
  });

  it("reads a histogram per label set and interpolates quantiles inside buckets as Prometheus does", async () => {
    const families = await page((h) => {
      // 100 observations: 50 at 0.5 ms, 40 at 1.5 ms, 10 at 4 ms; and a second stage.
      for (let i = 0; i < 50; i++) h.observe({ stage: "model" }, 0.0005);
      for (let i = 0; i < 40; i++) h.observe({ stage: "model" }, 0.0015);
      for (let i = 0; i < 10; i++) h.observe({ stage: "model" }, 0.004);
      h.observe({ stage: "rules" }, 0.02);
    });
    const model = histogramOf(families, "svc_stage_duration_seconds", { stage: "model" });
    expect(model.count).toBe(100);
    expect(model.sum).toBeCloseTo(0.125, 9);
    expect(model.bounds).toEqual([0.001, 0.002, 0.005, 0.01, Infinity]);
    expect(model.counts).toEqual([50, 90, 100, 100, 100]);
    // Rank 50 is the top of the first bucket [0, 1 ms]; rank 99 is 9/10 of the way through (2, 5] ms.
    expect(histogramQuantile(0.5, model)).toBeCloseTo(0.001, 12);
    expect(histogramQuantile(0.99, model)).toBeCloseTo(0.002 + 0.003 * 0.9, 12);
    expect(histogramQuantile(0.25, model)).toBeCloseTo(0.0005, 12);
    // Above the highest finite bound: that bound, as histogram_quantile answers.
    const rules = histogramOf(families, "svc_stage_duration_seconds", { stage: "rules" });
    expect(histogramQuantile(0.99, rules)).toBe(0.01);
    expect(histogramOf(families, "svc_stage_duration_seconds").count).toBe(101);
    expect(sumBy(families, "svc_stage_duration_seconds_count", "stage")).toEqual({ model: 100, rules: 1 });
    expect(sumOf(families, "svc_stage_duration_seconds_count", { stage: "rules" })).toBe(1);
    expect(histogramQuantile(0.5, histogramOf(families, "absent"))).toBeNull();
    expect(() => histogramQuantile(1.5, model)).toThrow(/\[0, 1\]/);
  });

  it("takes the delta of two scrapes, and the later scrape whole after a restart", async () => {
    const first = await page((h) => h.observe({ stage: "s" }, 0.0005));
    const second = await page((h) => {
      h.observe({ stage: "s" }, 0.0005);
      h.observe({ stage: "s" }, 0.008);
      h.observe({ stage: "s" }, 0.008);
    });
    const delta = histogramDelta(histogramOf(second, "svc_stage_duration_seconds"), histogramOf(first, "svc_stage_duration_seconds"));
    expect(delta.count).toBe(2);
    expect(delta.counts).toEqual([0, 0, 0, 2, 2]);
    expect(histogramQuantile(0.5, delta)).toBeCloseTo(0.0075, 12);
    const restarted = histogramDelta(histogramOf(first, "svc_stage_duration_seconds"), histogramOf(second, "svc_stage_duration_seconds"));
    expect(restarted.count).toBe(1);
  });
});
