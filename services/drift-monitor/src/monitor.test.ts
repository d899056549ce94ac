import { fraudStream } from "./streams";
import type { RetrainRequestEvent } from "@mlsd/contracts";
import { RetrainRequestPayloadSchema } from "@mlsd/contracts";
import { createMetrics, silentLogger } from "@mlsd/service-kit";
import { describe, expect, it } from "vitest";
import type { AlertSink, DriftAlert } from "./alerts";
import { createDriftMonitorMetrics } from "./metrics";
import { DriftMonitor } from "./monitor";
import { SyntheticDecisions } from "./synthetic";

const DAY = 86_400_000;

function setup(seed: number) {
  const stream = new SyntheticDecisions({ features: 6, seed, startMs: Date.UTC(2024, 3, 1), stepMs: 1_000 });
  const reference = { id: "fraud-gbdt@v1", version: "v1", reference: stream.reference(20_000) };
  const requests: RetrainRequestEvent[] = [];
  const alerts: DriftAlert[] = [];
  const sink: AlertSink = { send: (a) => alerts.push(a), flush: async () => {} };
  const metrics = createMetrics("drift-monitor", { defaultMetrics: false });
  const monitor = new DriftMonitor({
    model: "fraud-gbdt",
    stream: fraudStream,
    reference,
    countWindow: { size: 1_000, evaluateEvery: 100 },
    timeWindow: { seconds: 1_000, evaluateEvery: 100 },
    performance: { horizonMs: 7 * DAY, bucketMs: 3_600_000, maxBuckets: 48, maxPending: 100_000 },
    logger: silentLogger,
    metrics: createDriftMonitorMetrics(metrics.registry),
    alerts: sink,
    retrain: { publish: (e) => requests.push(e) },
    now: () => Date.UTC(2024, 3, 2),
  });
  return { stream, monitor, requests, alerts, metrics };
}

describe("DriftMonitor", () => {
  it("alerts on the shifted feature only, within a window of the shift, and requests one retrain", async () => {
    const { stream, monitor, requests, alerts, metrics } = setup(11);
    for (let i = 0; i < 3_000; i++) monitor.handle([stream.next().decision]);
    expect(monitor.alertingFeatures()).toEqual([]);
    expect(requests).toHaveLength(0);

    let firstAlertAfter = -1;
    for (let i = 0; i < 3_000; i++) {
      monitor.handle([stream.next({ feature: "f3", meanShift: 0.5 }).decision]);
      if (firstAlertAfter < 0 && monitor.alertingFeatures().length > 0) firstAlertAfter = i + 1;
    }
    // A 0.5 sd shift fills enough of a 1,000-decision window after ~700 events, then 3 evaluations must agree.
    expect(firstAlertAfter).toBeGreaterThan(300);
    expect(firstAlertAfter).toBeLessThanOrEqual(1_200);
    expect(monitor.alertingFeatures()).toEqual(["f3"]);
    expect(requests).toHaveLength(1);
    const payload = RetrainRequestPayloadSchema.parse(requests[0]!.payload);
    expect(payload).toMatchObject({ model: "fraud-gbdt", reason: "drift", requestedBy: "drift-monitor" });
    expect(payload.driftSummary?.reference).toBe("fraud-gbdt@v1");
    expect(payload.driftSummary?.findings.filter((f) => f.breached).map((f) => f.feature)).toEqual(["f3"]);
    expect(alerts.filter((a) => a.kind === "episode_started")).toHaveLength(1);
    expect(alerts.filter((a) => a.kind === "feature_alert_started").every((a) => a.feature === "f3")).toBe(true);

    const report = monitor.report();
    expect(report.episode).toMatchObject({ active: true, features: ["f3"], retrainRequested: true, episodes: 1 });
    const count = report.windows.find((w) => w.window === "count")!;
    const f3 = count.features.find((f) => f.feature === "f3")!;
    expect(f3).toMatchObject({ statistic: "psi", alerting: true, windowSize: 1_000 });
    expect(f3.psi).toBeGreaterThan(0.1);
    expect(f3.adjustedPValue).toBeLessThan(0.05);
    expect(count.features.filter((f) => f.alerting).map((f) => f.feature)).toEqual(["f3"]);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/drift_monitor_feature_alerting\{model="fraud-gbdt",feature="f3",window="count",service="drift-monitor"\} 1/);
    expect(text).toMatch(/drift_monitor_feature_alerting\{model="fraud-gbdt",feature="f0",window="count",service="drift-monitor"\} 0/);
    expect(text).toMatch(/drift_monitor_retrain_requests_total\{model="fraud-gbdt",service="drift-monitor"\} 1/);
    expect(text).toMatch(/drift_monitor_window_size\{model="fraud-gbdt",window="count",service="drift-monitor"\} 1000/);

    // Back to the reference distribution: the episode ends, and a new shift starts a new one.
    for (let i = 0; i < 2_000; i++) monitor.handle([stream.next().decision]);
    expect(monitor.report().episode.active).toBe(false);
    for (let i = 0; i < 2_000; i++) monitor.handle([stream.next({ feature: "f3", meanShift: 0.5 }).decision]);
    expect(requests).toHaveLength(2);
    expect(alerts.filter((a) => a.kind === "episode_ended")).toHaveLength(1);
  });

  it("skips decisions without a model score and joins delayed labels into per-bucket metrics", () => {
    const { stream, monitor } = setup(5);
    const labels = [];
    for (let i = 0; i < 4_000; i++) {
      const { decision, label } = stream.next(null, 2 * 3_600_000);
      monitor.handle([decision]);
      if (label) labels.push(label);
    }
    const ruled = stream.next().decision;
    monitor.handle([{ ...ruled, payload: { ...ruled.payload, decidedBy: "rules", score: 1 } }]);
    monitor.handle(labels);
    const report = monitor.report();
    expect(report.events).toMatchObject({ decisions: 4_001, monitored: 4_000, skipped: 1, labels: labels.length });
    const first = report.performance.buckets[0]!;
    expect(first.predictions).toBe(3_600);
    expect(first.labelled).toBe(first.positives);
    expect(first.positives).toBeGreaterThan(100);
    // Fraud is drawn from the score: AUC well above chance, calibration error small.
    expect(first.auc).toBeGreaterThan(0.65);
    expect(first.ece).toBeLessThan(0.03);
    expect(report.performance.stats.joined).toBe(labels.length);
  });
});
