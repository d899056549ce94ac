import { buildReference, createDriftReference, DelayedLabelTracker, DriftDetector, type DriftReference, type PsiNullCache } from "@mlsd/drift";
import { DAY_MS, type FraudFeatureMatrix } from "@mlsd/feature-store";

/**
 * The two monitors a deployed fraud model has, as the drift monitor service runs them: input drift
 * (PSI with significance over a sliding window, @mlsd/drift's DriftDetector, against the training
 * window's histograms, model score included) and labelled performance (AUC per decision day once its
 * chargeback window has closed, @mlsd/drift's DelayedLabelTracker).
 */

/**
 * Calendar flags are left out of the input monitor: a window shorter than a week holds a varying
 * share of weekend and night payments by construction, which is not drift.
 */
export const UNMONITORED_FEATURES: readonly string[] = ["TX_DURING_WEEKEND", "TX_DURING_NIGHT"];

export interface MonitorOptions {
  /** Payments in the input monitor's sliding window. */
  windowEvents: number;
  evaluateEvery: number;
  /** Evaluations the condition must hold before an input alarm. */
  sustain: number;
  /** How long until every label of a decision is known (the chargeback window). */
  labelHorizonMs: number;
  /** The labelled alarm fires when this many consecutive complete days have AUC below baseline - drop. */
  baselineAuc: number;
  aucDrop: number;
  consecutiveDays: number;
  seed: number;
  /** Null distributions shared by monitors over the same reference and window (they are costly). */
  nullCache?: PsiNullCache;
}

export interface Alarm {
  timeMs: number;
  what: string;
}

export function monitorReference(matrix: FraudFeatureMatrix, rows: ArrayLike<number>, scores: ArrayLike<number>): DriftReference {
  const w = matrix.names.length;
  const features = matrix.names
    .map((name, f) => ({ name, f }))
    .filter(({ name }) => !UNMONITORED_FEATURES.includes(name))
    .map(({ name, f }) => buildReference(name, Float64Array.from({ length: rows.length }, (_, r) => matrix.values[(rows[r] as number) * w + f] as number), { kind: "numeric", bins: 10 }));
  return createDriftReference({ features, score: buildReference("score", scores, { kind: "numeric", bins: 10 }), createdAt: "1970-01-01T00:00:00.000Z" });
}

export class FraudMonitors {
  readonly inputAlarms: Alarm[] = [];
  readonly labelledAlarms: Alarm[] = [];
  /** AUC of each complete decision day, in day order. */
  readonly dailyAuc: { dayStartMs: number; auc: number | null }[] = [];
  private readonly detector: DriftDetector;
  private readonly tracker: DelayedLabelTracker;
  private readonly monitored: { name: string; f: number }[];
  private readonly judgedDays = new Set<string>();
  private lowStreak = 0;

  constructor(
    private readonly matrix: FraudFeatureMatrix,
    reference: DriftReference,
    private readonly options: MonitorOptions,
  ) {
    this.detector = new DriftDetector(reference, {
      window: { kind: "count", size: options.windowEvents },
      evaluateEvery: options.evaluateEvery,
      sustain: options.sustain,
      // Judged on full windows only: one window size means one null distribution per series.
      minWindowSize: options.windowEvents,
      seed: options.seed,
      ...(options.nullCache ? { nullCache: options.nullCache } : {}),
    });
    this.tracker = new DelayedLabelTracker({ horizonMs: options.labelHorizonMs, bucketMs: DAY_MS, maxBuckets: 400, maxPending: 5_000_000 });
    this.monitored = matrix.names.map((name, f) => ({ name, f })).filter(({ name }) => !UNMONITORED_FEATURES.includes(name));
  }

  /** A scored payment (matrix row `row`), in time order. */
  observe(row: number, transactionId: string, timeMs: number, score: number): void {
    const w = this.matrix.names.length;
    const features: Record<string, number> = {};
    for (const { name, f } of this.monitored) features[name] = this.matrix.values[row * w + f] as number;
    const evaluation = this.detector.push({ time: timeMs, features, score });
    for (const t of evaluation?.transitions ?? []) if (t.type === "start") this.inputAlarms.push({ timeMs: t.time, what: t.feature });
    this.tracker.recordPrediction(transactionId, score, timeMs);
  }

  /** A chargeback: the payment was fraud, known from knownAtMs. */
  fraudLabel(transactionId: string, knownAtMs: number): void {
    this.tracker.recordLabel(transactionId, 1, knownAtMs);
  }

  /** Judges the decision days whose labels are now complete; call at each day's end. */
  endOfDay(nowMs: number): void {
    this.tracker.advanceTo(nowMs);
    for (const bucket of this.tracker.report()) {
      if (!bucket.complete || this.judgedDays.has(bucket.start)) continue;
      this.judgedDays.add(bucket.start);
      this.dailyAuc.push({ dayStartMs: Date.parse(bucket.start), auc: bucket.auc });
      if (bucket.auc !== null && bucket.auc < this.options.baselineAuc - this.options.aucDrop) this.lowStreak++;
      else this.lowStreak = 0;
      if (this.lowStreak === this.options.consecutiveDays) this.labelledAlarms.push({ timeMs: nowMs, what: `AUC ${bucket.auc?.toFixed(3)} on ${bucket.start.slice(0, 10)}` });
    }
  }

  firstInputAlarmAfter(timeMs: number): Alarm | undefined {
    return this.inputAlarms.find((a) => a.timeMs >= timeMs);
  }

  firstLabelledAlarmAfter(timeMs: number): Alarm | undefined {
    return this.labelledAlarms.find((a) => a.timeMs >= timeMs);
  }
}
