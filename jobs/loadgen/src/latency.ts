import * as hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";
import type { PercentileKey } from "@mlsd/budgets";

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** The percentiles a summary has are the ones a budget may name. */
export { PERCENTILE_KEYS, type PercentileKey } from "@mlsd/budgets";
const PERCENTILE_OF: Record<PercentileKey, number> = { p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9 };

/** One hour in microseconds: anything slower is recorded at this value, not dropped. */
const HIGHEST_US = 3_600_000_000;

/**
 * An HDR histogram of latencies recorded in milliseconds and kept in whole microseconds with three
 * significant digits (0.1 % relative error), so p99.9 of a million samples costs a few kB.
 */
export class LatencyRecorder {
  private readonly histogram: Histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });

  // Exact extremes beside the histogram, whose buckets round them.
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const clamped = Math.max(0, ms);
    this.histogram.recordValue(Math.min(HIGHEST_US, Math.round(clamped * 1000)));
    if (clamped < this.min) this.min = clamped;
    if (clamped > this.max) this.max = clamped;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentile(p: number): number {
    return this.histogram.getValueAtPercentile(p) / 1000;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    if (h.totalCount === 0) return { count: 0, mean: Number.NaN, min: Number.NaN, p50: Number.NaN, p90: Number.NaN, p95: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN };
    const at = (key: PercentileKey): number => Math.min(this.max, h.getValueAtPercentile(PERCENTILE_OF[key]) / 1000);
    return {
      count: h.totalCount,
      mean: h.mean / 1000,
      min: this.min,
      p50: at("p50"),
      p90: at("p90"),
      p95: at("p95"),
      p99: at("p99"),
      p999: at("p999"),
      max: this.max,
    };
  }
}
