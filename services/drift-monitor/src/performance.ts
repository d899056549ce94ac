import { averagePrecision, expectedCalibrationError, rocAuc } from "@mlsd/ml-metrics";

export interface DelayedLabelOptions {
  /** How long after a decision a label can still arrive; past it an unlabelled decision counts as legitimate. */
  horizonMs: number;
  /** Width of a decision-time bucket. */
  bucketMs: number;
  /** Buckets kept (oldest dropped). */
  maxBuckets: number;
  /** Decisions waiting for their label; beyond it the oldest stop waiting (counted as dropped). */
  maxPending: number;
  /** Labels that arrive before their decision (another topic, consumed in parallel) wait this many at most. */
  maxEarlyLabels?: number;
  /** Rows a bucket keeps; later decisions in a full bucket are counted but not scored. */
  maxRowsPerBucket?: number;
}

export interface BucketReport {
  start: string;
  end: string;
  /** Every decision in it is past the label horizon: the metrics are final. */
  complete: boolean;
  predictions: number;
  /** Decisions with an explicit label so far (fraud or legitimate). */
  labelled: number;
  positives: number;
  /** Over all decisions of the bucket, unlabelled ones counted as legitimate; null without both classes. */
  auc: number | null;
  averagePrecision: number | null;
  /** Expected calibration error, 10 equal-width bins. */
  ece: number | null;
  meanScore: number;
  /** Features that were alerting in a drift evaluation during this bucket. */
  alertingFeatures: string[];
}

export interface DelayedLabelStats {
  pending: number;
  earlyLabels: number;
  joined: number;
  /** Labels for decisions this tracker never saw or already let go of. */
  unmatchedLabels: number;
  droppedPending: number;
  unscoredRows: number;
}

interface Bucket {
  start: number;
  scores: number[];
  labels: number[];
  labelled: number;
  positives: number;
  scoreSum: number;
  predictions: number;
  alerting: Set<string>;
  cache: { version: number; auc: number | null; ap: number | null; ece: number | null } | null;
  version: number;
}

function positive(field: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${field}: must be a positive number, got ${value}`);
  return value;
}

/**
 * Joins delayed labels to the decisions they judge (by transaction id) and tracks AUC, average
 * precision and calibration per bucket of decision time. Memory is bounded: a decision waits for
 * its label for `horizonMs` of stream time (the latest event time seen), at most `maxPending` at
 * once; buckets keep their scored rows until they fall out of the last `maxBuckets`.
 */
export class DelayedLabelTracker {
  private readonly horizonMs: number;
  private readonly bucketMs: number;
  private readonly maxBuckets: number;
  private readonly maxPending: number;
  private readonly maxEarly: number;
  private readonly maxRows: number;
  /** Insertion order is decision arrival order, which is close to time order: the oldest are evicted first. */
  private readonly pending = new Map<string, { bucket: Bucket; row: number; timeMs: number }>();
  private readonly early = new Map<string, { value: 0 | 1; knownAtMs: number }>();
  private readonly buckets = new Map<number, Bucket>();
  private clock = -Infinity;
  private readonly counts = { joined: 0, unmatchedLabels: 0, droppedPending: 0, unscoredRows: 0 };

  constructor(options: DelayedLabelOptions) {
    this.horizonMs = positive("horizonMs", options.horizonMs);
    this.bucketMs = positive("bucketMs", options.bucketMs);
    this.maxBuckets = positive("maxBuckets", options.maxBuckets);
    this.maxPending = positive("maxPending", options.maxPending);
    this.maxEarly = positive("maxEarlyLabels", options.maxEarlyLabels ?? 100_000);
    this.maxRows = positive("maxRowsPerBucket", options.maxRowsPerBucket ?? 500_000);
  }

  get now(): number {
    return this.clock;
  }

  stats(): DelayedLabelStats {
    return { pending: this.pending.size, earlyLabels: this.early.size, ...this.counts };
  }

  recordPrediction(transactionId: string, score: number, timeMs: number): void {
    const bucket = this.bucketAt(timeMs);
    if (bucket === null) return;
    bucket.predictions++;
    bucket.scoreSum += score;
    bucket.version++;
    if (bucket.scores.length >= this.maxRows) {
      this.counts.unscoredRows++;
    } else {
      const row = bucket.scores.length;
      bucket.scores.push(score);
      bucket.labels.push(0);
      const early = this.early.get(transactionId);
      if (early !== undefined) {
        this.early.delete(transactionId);
        this.applyLabel(bucket, row, early.value);
      } else if (timeMs + this.horizonMs > Math.max(this.clock, timeMs)) {
        this.pending.delete(transactionId);
        this.pending.set(transactionId, { bucket, row, timeMs });
        if (this.pending.size > this.maxPending) {
          this.pending.delete(this.pending.keys().next().value as string);
          this.counts.droppedPending++;
        }
      }
    }
    this.advance(timeMs);
  }

  /** value: 1 fraud, 0 legitimate. */
  recordLabel(transactionId: string, value: 0 | 1, knownAtMs: number): void {
    const waiting = this.pending.get(transactionId);
    if (waiting !== undefined) {
      this.pending.delete(transactionId);
      if (waiting.bucket === this.buckets.get(waiting.bucket.start)) this.applyLabel(waiting.bucket, waiting.row, value);
    } else {
      this.early.delete(transactionId);
      this.early.set(transactionId, { value, knownAtMs });
      if (this.early.size > this.maxEarly) {
        this.early.delete(this.early.keys().next().value as string);
        this.counts.unmatchedLabels++;
      }
    }
    this.advance(knownAtMs);
  }

  /** Remembers which features were alerting at `timeMs`, for the bucket report. */
  noteAlerting(timeMs: number, features: readonly string[]): void {
    if (features.length === 0) return;
    const bucket = this.bucketAt(timeMs);
    if (bucket === null) return;
    for (const f of features) bucket.alerting.add(f);
  }

  report(): BucketReport[] {
    return [...this.buckets.values()]
      .sort((a, b) => a.start - b.start)
      .map((b) => {
        const metrics = this.metricsOf(b);
        return {
          start: new Date(b.start).toISOString(),
          end: new Date(b.start + this.bucketMs).toISOString(),
          complete: b.start + this.bucketMs + this.horizonMs <= this.clock,
          predictions: b.predictions,
          labelled: b.labelled,
          positives: b.positives,
          auc: metrics.auc,
          averagePrecision: metrics.ap,
          ece: metrics.ece,
          meanScore: b.predictions > 0 ? b.scoreSum / b.predictions : 0,
          alertingFeatures: [...b.alerting].sort(),
        };
      });
  }

  private applyLabel(bucket: Bucket, row: number, value: 0 | 1): void {
    bucket.labels[row] = value;
    bucket.labelled++;
    if (value === 1) bucket.positives++;
    bucket.version++;
    this.counts.joined++;
  }

  private bucketAt(timeMs: number): Bucket | null {
    const start = Math.floor(timeMs / this.bucketMs) * this.bucketMs;
    let bucket = this.buckets.get(start);
    if (bucket !== undefined) return bucket;
    const starts = [...this.buckets.keys()];
    // Too old for the buckets kept: nothing to attach it to.
    if (starts.length >= this.maxBuckets && start < Math.min(...starts)) return null;
    bucket = { start, scores: [], labels: [], labelled: 0, positives: 0, scoreSum: 0, predictions: 0, alerting: new Set(), cache: null, version: 0 };
    this.buckets.set(start, bucket);
    if (this.buckets.size > this.maxBuckets) this.buckets.delete(Math.min(...this.buckets.keys()));
    return bucket;
  }

  private advance(timeMs: number): void {
    if (!(timeMs > this.clock)) return;
    this.clock = timeMs;
    const cutoff = timeMs - this.horizonMs;
    for (const [id, entry] of this.pending) {
      if (entry.timeMs > cutoff) break;
      // Past the horizon with no label: it stays a legitimate row of its bucket.
      this.pending.delete(id);
    }
    for (const [id, label] of this.early) {
      if (label.knownAtMs > cutoff) break;
      this.early.delete(id);
      this.counts.unmatchedLabels++;
    }
  }

  private metricsOf(b: Bucket): { auc: number | null; ap: number | null; ece: number | null } {
    if (b.cache !== null && b.cache.version === b.version) return b.cache;
    const rows = b.scores.length;
    const positives = b.labels.reduce((s, y) => s + y, 0);
    const both = positives > 0 && positives < rows;
    const result = {
      version: b.version,
      auc: both ? rocAuc(b.labels, b.scores) : null,
      ap: both ? averagePrecision(b.labels, b.scores) : null,
      // Calibration is defined for probabilities only: a ranker's margins have no ECE.
      ece: rows > 0 && isProbabilities(b.scores, rows) ? expectedCalibrationError(b.labels, b.scores, 10) : null,
    };
    b.cache = result;
    return result;
  }
}

function isProbabilities(scores: ArrayLike<number>, rows: number): boolean {
  for (let i = 0; i < rows; i++) {
    const p = scores[i] as number;
    if (!(p >= 0 && p <= 1)) return false;
  }
  return true;
}
