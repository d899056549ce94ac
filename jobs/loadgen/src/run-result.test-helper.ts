import type { LatencySummary } from "./latency";
import type { RunResult } from "./open-loop";

export function latency(p50: number, p95: number, p99: number, count = 1000): LatencySummary {
  return { count, mean: p50, min: p50 / 2, p50, p90: (p50 + p95) / 2, p95, p99, p999: p99 * 1.2, max: p99 * 1.5 };
}

/** A plausible fraud run at 1,000/s for 30 s; override what a test is about. */
export function fraudRun(overrides: Partial<RunResult> = {}): RunResult {
  return {
    endpoint: "fraud",
    offeredRate: 1000,
    arrivals: "constant",
    warmupMs: 5000,
    durationMs: 30_000,
    counts: { scheduled: 30_000, sent: 30_000, ok: 30_000, rejected: 0, badStatus: 0, timeouts: 0, transportErrors: 0, dropped: 0, fallbacks: 30 },
    statusCounts: { "200": 30_000 },
    errorRate: 0,
    fallbackRate: 0.001,
    throughput: 999.5,
    latency: latency(1.2, 2.5, 4.1, 30_000),
    stages: { features: latency(0.4, 0.9, 1.4, 30_000), model: latency(0.1, 0.2, 0.3, 30_000) },
    latencyFromSend: latency(1.1, 2.3, 3.8, 30_000),
    admittedLatency: latency(1.2, 2.5, 4.1, 30_000),
    refusedLatency: latency(0, 0, 0, 0),
    sendLag: latency(0.03, 0.08, 0.11, 30_000),
    timer: "precise",
    sender: "sender thread",
    handedToMain: 0,
    maxInFlightSeen: 12,
    elapsedMs: 35_010,
    generatorCpuMs: 5250,
    sentTotal: 35_000,
    ...overrides,
  };
}
