import type { Histogram } from "prom-client";

export type StageTimings = Record<string, number>;

/**
 * Times the stages of one request. Each stage is observed in the service's
 * `<service>_stage_duration_seconds{stage}` histogram and kept (in milliseconds) for the answer,
 * so a caller sees where its latency went.
 */
export class StageTimer {
  private readonly timings: StageTimings = {};
  private readonly startedAt: number;

  /** `startedAt`: when the request began (`performance.now()` clock); now by default. */
  constructor(
    private readonly histogram?: Histogram<"stage">,
    startedAt?: number,
  ) {
    this.startedAt = startedAt ?? performance.now();
  }

  async time<T>(stage: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.record(stage, performance.now() - t0);
    }
  }

  /** Synchronous variant for CPU-only stages; avoids a microtask hop on the hot path. */
  timeSync<T>(stage: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.record(stage, performance.now() - t0);
    }
  }

  record(stage: string, ms: number): void {
    this.timings[stage] = (this.timings[stage] ?? 0) + ms;
    this.histogram?.observe({ stage }, ms / 1000);
  }

  /** Stage timings rounded to microseconds, plus `total` since the timer was created. */
  snapshot(): StageTimings {
    const out: StageTimings = {};
    for (const [k, v] of Object.entries(this.timings)) out[k] = Math.round(v * 1000) / 1000;
    out.total = Math.round((performance.now() - this.startedAt) * 1000) / 1000;
    return out;
  }
}
