import { averagePrecision, rocAuc } from "@mlsd/ml-metrics";
import { describe, expect, it } from "vitest";
import { DelayedLabelTracker } from "./delayed-labels";

const H = 3_600_000;

describe("DelayedLabelTracker", () => {
  it("joins labels by transaction id and reports AUC and AP per decision-time bucket", () => {
    const t = new DelayedLabelTracker({ horizonMs: 10 * H, bucketMs: H, maxBuckets: 10, maxPending: 100 });
    const scores = [0.9, 0.8, 0.3, 0.2, 0.7, 0.1];
    scores.forEach((s, i) => t.recordPrediction(`tx-${i}`, s, i * 60_000));
    t.recordPrediction("tx-next-hour", 0.5, H + 1);
    t.recordLabel("tx-0", 1, 2 * H);
    t.recordLabel("tx-2", 1, 2 * H);
    t.recordLabel("tx-1", 0, 2 * H);
    const [first, second] = t.report();
    const labels = [1, 0, 1, 0, 0, 0];
    expect(first).toMatchObject({ start: "1970-01-01T00:00:00.000Z", complete: false, predictions: 6, labelled: 3, positives: 2 });
    expect(first!.auc).toBeCloseTo(rocAuc(labels, scores), 12);
    expect(first!.averagePrecision).toBeCloseTo(averagePrecision(labels, scores), 12);
    expect(second).toMatchObject({ predictions: 1, positives: 0, auc: null });
  });

  it("keeps a decision only for the label horizon and a label that came first until its decision", () => {
    const t = new DelayedLabelTracker({ horizonMs: H, bucketMs: H, maxBuckets: 10, maxPending: 100 });
    t.recordLabel("tx-early", 1, 1_000);
    t.recordPrediction("tx-early", 0.4, 500);
    t.recordPrediction("tx-late", 0.6, 2_000);
    expect(t.stats()).toMatchObject({ pending: 1, earlyLabels: 0, joined: 1 });
    // The stream moves past tx-late's horizon: its label is too late to count.
    t.recordPrediction("tx-other", 0.1, 2_000 + H);
    t.recordLabel("tx-late", 1, 2_000 + H + 1);
    expect(t.stats()).toMatchObject({ pending: 1, joined: 1, earlyLabels: 1 });
    expect(t.report()[0]).toMatchObject({ predictions: 2, positives: 1, complete: false });
    t.recordPrediction("tx-far", 0.1, 5 * H);
    expect(t.report()[0]!.complete).toBe(true);
    expect(t.stats().unmatchedLabels).toBe(1);
  });

  it("bounds the decisions waiting for labels and the buckets kept", () => {
    const t = new DelayedLabelTracker({ horizonMs: 100 * H, bucketMs: H, maxBuckets: 3, maxPending: 5 });
    for (let i = 0; i < 10; i++) t.recordPrediction(`tx-${i}`, 0.5, i * H);
    expect(t.stats()).toMatchObject({ pending: 5, droppedPending: 5 });
    expect(t.report().map((b) => b.start)).toEqual([7, 8, 9].map((h) => new Date(h * H).toISOString()));
    expect(() => new DelayedLabelTracker({ horizonMs: 0, bucketMs: H, maxBuckets: 1, maxPending: 1 })).toThrow(/^horizonMs:/);
  });

  it("completes buckets when the clock is advanced without an event", () => {
    const t = new DelayedLabelTracker({ horizonMs: 2 * H, bucketMs: H, maxBuckets: 10, maxPending: 100 });
    t.recordPrediction("a", 0.9, 0);
    t.recordPrediction("b", 0.1, 60_000);
    t.recordLabel("a", 1, H);
    expect(t.report()[0]!.complete).toBe(false);
    t.advanceTo(3 * H);
    const [bucket] = t.report();
    expect(bucket).toMatchObject({ complete: true, predictions: 2, positives: 1, auc: 1 });
    expect(() => t.advanceTo(Number.NaN)).toThrow(RangeError);
  });
});

