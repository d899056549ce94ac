/**
 * Streaming drift detection against a reference: events go into a sliding window of per-feature
 * cell counts; every `evaluateEvery` events each feature's window is compared with the reference.
 *
 * A feature's condition holds in an evaluation when BOTH
 *   - the effect is large enough: PSI >= psiThreshold (default 0.1, the "moderate" band), and
 *   - it is unlikely under no drift: its PSI p-value from the null distribution for a window of this
 *     size, Holm-adjusted (or Bonferroni) across the features of the evaluation, is < alpha;
 * and a feature alerts once the condition has held for `sustain` consecutive evaluations. The alert
 * clears after the condition has failed for `clearAfter` consecutive evaluations.
 */
import { createBinner, type FeatureBinner } from "./binner";
import { invalidInput } from "./errors";
import { adjustPValues, type Correction } from "./multiple-testing";
import { PsiNullCache } from "./null-distribution";
import type { DriftReference, FeatureKind, RawValue } from "./reference";
import {
  type ChiSquareResult,
  chiSquareHomogeneity,
  DEFAULT_PSI_BANDS,
  jensenShannonDivergence,
  ksFromHistograms,
  ksPValue,
  type PsiBand,
  type PsiBands,
  psiBand,
  psiUnchecked,
} from "./statistics";
import { type BinnedWindow, CountWindow, TimeWindow } from "./windows";

export type WindowSpec = { kind: "count"; size: number } | { kind: "time"; seconds: number };

export interface DriftEvent {
  /** Event time, epoch milliseconds. */
  time: number;
  features: Readonly<Record<string, RawValue>>;
  /** The model's score; ignored when the reference has no score distribution. */
  score?: number | null;
}

export interface DriftDetectorOptions {
  window: WindowSpec;
  /** Events between evaluations. Default 500. */
  evaluateEvery?: number;
  /** Effect size an alert needs. Default 0.1 (the "moderate" band). */
  psiThreshold?: number;
  /** Band edges reported with each PSI. Default 0.1 / 0.25. */
  bands?: PsiBands;
  /** Family-wise error rate per evaluation across features. Default 0.05. */
  alpha?: number;
  /** Default "holm". */
  correction?: Correction;
  /** Consecutive evaluations the condition must hold before an alert starts. Default 3. */
  sustain?: number;
  /** Consecutive evaluations without the condition before an alert stops. Default 3. */
  clearAfter?: number;
  /** No evaluation on fewer events than this. Default 100. */
  minWindowSize?: number;
  /** Evaluations the PSI trend is fitted over. Default 5. */
  trendLength?: number;
  /**
   * Replicates per null distribution (default max(2000, 4 * features / alpha)), their seed and the
   * PSI smoothing; ignored when `nullCache` is given.
   */
  nullReplicates?: number;
  seed?: number;
  epsilon?: number;
  /** Share null distributions between detectors over the same reference. */
  nullCache?: PsiNullCache;
}

export interface FeatureDriftResult {
  feature: string;
  kind: FeatureKind;
  /** True for the model score distribution. */
  isScore: boolean;
  windowSize: number;
  psi: number;
  band: PsiBand;
  /** P(PSI >= observed) for a window of this size drawn from the reference, before correction. */
  pValue: number;
  /** pValue after the multiple-testing correction across this evaluation's features. */
  adjustedPValue: number;
  /** Numeric only: KS statistic of the non-missing values on the reference's quantile grid. */
  ks: number | null;
  ksPValue: number | null;
  /** Categorical only: chi-square homogeneity test of reference vs window counts. */
  chiSquare: ChiSquareResult | null;
  /** Bits, over the PSI bins. */
  jsDivergence: number;
  missingRate: number;
  /** Least-squares slope of PSI per evaluation over the last `trendLength` evaluations. */
  trend: number;
  /** Effect size and significance both hold in this evaluation. */
  conditionMet: boolean;
  alerting: boolean;
}

export interface AlertTransition {
  feature: string;
  type: "start" | "stop";
  evaluation: number;
  eventCount: number;
  time: number;
  psi: number;
  pValue: number;
}

export interface DriftEvaluation {
  /** 1-based count of evaluations so far. */
  evaluation: number;
  /** Events accepted so far. */
  eventCount: number;
  /** Latest event time seen. */
  time: number;
  windowSize: number;
  results: FeatureDriftResult[];
  transitions: AlertTransition[];
}

interface FeatureState {
  readonly binner: FeatureBinner;
  readonly isScore: boolean;
  readonly windowBins: Float64Array;
  readonly referenceTotal: number;
  readonly referenceValueCells: number;
  readonly psiHistory: Float64Array;
  historyLength: number;
  streak: number;
  quietStreak: number;
  alerting: boolean;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw invalidInput(field, `must be a positive integer, got ${value}`);
  return value;
}

function slope(values: Float64Array, length: number, end: number): number {
  if (length < 2) return 0;
  const cap = values.length;
  const meanX = (length - 1) / 2;
  let meanY = 0;
  for (let k = 0; k < length; k++) meanY += values[(end - length + k + cap) % cap] as number;
  meanY /= length;
  let num = 0;
  let den = 0;
  for (let k = 0; k < length; k++) {
    const dx = k - meanX;
    num += dx * ((values[(end - length + k + cap) % cap] as number) - meanY);
    den += dx * dx;
  }
  return num / den;
}

export class DriftDetector {
  readonly nullCache: PsiNullCache;
  private readonly window: BinnedWindow;
  private readonly states: FeatureState[];
  private readonly names: string[];
  private readonly hasScore: boolean;
  private readonly cells: Uint16Array;
  private readonly evaluateEvery: number;
  private readonly psiThreshold: number;
  private readonly bands: PsiBands;
  private readonly alpha: number;
  private readonly correction: Correction;
  private readonly sustain: number;
  private readonly clearAfter: number;
  private readonly minWindowSize: number;
  private readonly trendLength: number;
  private sinceEvaluation = 0;
  private accepted = 0;
  private latestTime = -Infinity;
  private evaluations = 0;

  constructor(reference: DriftReference, options: DriftDetectorOptions) {
    this.evaluateEvery = positiveInteger("options.evaluateEvery", options.evaluateEvery ?? 500);
    this.sustain = positiveInteger("options.sustain", options.sustain ?? 3);
    this.clearAfter = positiveInteger("options.clearAfter", options.clearAfter ?? 3);
    this.minWindowSize = positiveInteger("options.minWindowSize", options.minWindowSize ?? 100);
    this.trendLength = positiveInteger("options.trendLength", options.trendLength ?? 5);
    this.psiThreshold = options.psiThreshold ?? DEFAULT_PSI_BANDS.moderate;
    if (!(this.psiThreshold >= 0)) throw invalidInput("options.psiThreshold", `must be >= 0, got ${this.psiThreshold}`);
    this.bands = options.bands ?? DEFAULT_PSI_BANDS;
    if (!(this.bands.moderate > 0 && this.bands.significant >= this.bands.moderate)) {
      throw invalidInput("options.bands", "needs 0 < moderate <= significant");
    }
    this.alpha = options.alpha ?? 0.05;
    if (!(this.alpha > 0 && this.alpha < 1)) throw invalidInput("options.alpha", `must be in (0, 1), got ${this.alpha}`);
    this.correction = options.correction ?? "holm";
    if (this.correction !== "holm" && this.correction !== "bonferroni") {
      throw invalidInput("options.correction", `must be "holm" or "bonferroni", got ${String(this.correction)}`);
    }
    const references = [...reference.features, ...(reference.score ? [reference.score] : [])];
    if (references.length === 0) throw invalidInput("reference.features", "has no feature to monitor");
    // The smallest p-value is 1 / (replicates + 1) and the correction multiplies it by up to the
    // number of features, so the default grows with the feature count to keep alerts reachable.
    const replicates = options.nullReplicates ?? Math.max(2000, Math.ceil((4 * references.length) / this.alpha));
    this.nullCache = options.nullCache ?? new PsiNullCache({ replicates, seed: options.seed ?? 1, epsilon: options.epsilon });
    if (references.length / (this.nullCache.replicates + 1) >= this.alpha) {
      throw invalidInput(
        options.nullCache ? "options.nullCache" : "options.nullReplicates",
        `${this.nullCache.replicates} replicates cannot reach alpha ${this.alpha} after correcting for ${references.length} features; use at least ${Math.ceil(references.length / this.alpha)}`,
      );
    }
    this.hasScore = reference.score !== null;
    this.names = references.map((r) => r.name);
    this.states = references.map((r, i) => {
      const binner = createBinner(r);
      let referenceTotal = 0;
      for (const c of binner.referenceBins) referenceTotal += c;
      return {
        binner,
        isScore: this.hasScore && i === references.length - 1,
        windowBins: new Float64Array(binner.binCount),
        referenceTotal,
        referenceValueCells: binner.cellCount - 1,
        psiHistory: new Float64Array(this.trendLength),
        historyLength: 0,
        streak: 0,
        quietStreak: 0,
        alerting: false,
      };
    });
    this.cells = new Uint16Array(references.length);
    const cellCounts = this.states.map((s) => s.binner.cellCount);
    const spec = options.window;
    if (spec?.kind === "count") this.window = new CountWindow(cellCounts, spec.size);
    else if (spec?.kind === "time") {
      if (!(spec.seconds > 0)) throw invalidInput("options.window.seconds", `must be > 0, got ${spec.seconds}`);
      this.window = new TimeWindow(cellCounts, spec.seconds * 1000);
    } else throw invalidInput("options.window", 'must be { kind: "count", size } or { kind: "time", seconds }');
  }

  get eventCount(): number {
    return this.accepted;
  }

  get windowSize(): number {
    return this.window.size;
  }

  /** Events a time window dropped for arriving older than its horizon (0 for count windows). */
  get lateEvents(): number {
    return this.window instanceof TimeWindow ? this.window.lateEvents : 0;
  }

  /**
   * Moves a time window's clock to `time` (epoch ms) without an event, evicting what expired, so a
   * quiet stream does not keep reporting old events; a no-op for count windows.
   */
  advanceTime(time: number): void {
    if (typeof time !== "number" || !Number.isFinite(time)) throw invalidInput("time", `must be a finite number (epoch ms), got ${String(time)}`);
    if (this.window instanceof TimeWindow) this.window.advanceTo(time);
    if (time > this.latestTime) this.latestTime = time;
  }

  /** Names of the features (and score) currently alerting. */
  alertingFeatures(): string[] {
    return this.states.filter((s) => s.alerting).map((s) => s.binner.name);
  }

  /** Adds an event; returns the evaluation when this event completes an evaluation period. */
  push(event: DriftEvent): DriftEvaluation | undefined {
    const time = event.time;
    if (typeof time !== "number" || !Number.isFinite(time)) throw invalidInput("event.time", `must be a finite number (epoch ms), got ${String(time)}`);
    const features = event.features;
    if (typeof features !== "object" || features === null) throw invalidInput("event.features", "must be an object");
    const states = this.states;
    const last = states.length - 1;
    for (let i = 0; i <= last; i++) {
      const state = states[i] as FeatureState;
      const value = state.isScore ? event.score : features[this.names[i] as string];
      this.cells[i] = state.binner.cellOf(value);
    }
    if (!this.window.insert(time, this.cells)) return undefined;
    this.accepted++;
    if (time > this.latestTime) this.latestTime = time;
    if (++this.sinceEvaluation < this.evaluateEvery) return undefined;
    this.sinceEvaluation = 0;
    return this.evaluate();
  }

  /** Evaluates the current window now; undefined while it holds fewer than `minWindowSize` events. */
  evaluate(): DriftEvaluation | undefined {
    const n = this.window.size;
    if (n < this.minWindowSize) return undefined;
    this.evaluations++;
    const epsilon = this.nullCache.epsilon;
    const m = this.states.length;
    const psis = new Float64Array(m);
    const pValues = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const s = this.states[i] as FeatureState;
      s.binner.binsFromCells(this.window.counts[i] as Int32Array, s.windowBins);
      psis[i] = psiUnchecked(s.binner.referenceBins, s.windowBins, s.referenceTotal, n, epsilon);
      pValues[i] = this.nullCache.get(s.binner.referenceBins, n).pValue(psis[i] as number);
    }
    const adjusted = adjustPValues(pValues, this.correction);
    const results: FeatureDriftResult[] = [];
    const transitions: AlertTransition[] = [];
    for (let i = 0; i < m; i++) {
      const s = this.states[i] as FeatureState;
      const counts = this.window.counts[i] as Int32Array;
      const psi = psis[i] as number;
      const pValue = pValues[i] as number;
      const conditionMet = psi >= this.psiThreshold && (adjusted[i] as number) < this.alpha;
      if (conditionMet) {
        s.streak++;
        s.quietStreak = 0;
      } else {
        s.streak = 0;
        s.quietStreak++;
      }
      const transition = (type: "start" | "stop"): AlertTransition => ({
        feature: s.binner.name,
        type,
        evaluation: this.evaluations,
        eventCount: this.accepted,
        time: this.latestTime,
        psi,
        pValue,
      });
      if (!s.alerting && s.streak >= this.sustain) {
        s.alerting = true;
        transitions.push(transition("start"));
      } else if (s.alerting && s.quietStreak >= this.clearAfter) {
        s.alerting = false;
        transitions.push(transition("stop"));
      }
      const cap = this.trendLength;
      s.psiHistory[this.evaluations % cap] = psi;
      s.historyLength = Math.min(cap, s.historyLength + 1);

      let ks: number | null = null;
      let ksP: number | null = null;
      let chiSquare: ChiSquareResult | null = null;
      const missing = counts[s.binner.missingCell] as number;
      if (s.binner.kind === "numeric") {
        const present = n - missing;
        const referencePresent = s.referenceTotal - (s.binner.referenceCells[s.binner.missingCell] as number);
        if (present > 0) {
          ks = ksFromHistograms(s.binner.referenceCells, counts, s.referenceValueCells);
          ksP = ksPValue(ks, present, referencePresent);
        }
      } else {
        chiSquare = chiSquareHomogeneity(s.binner.referenceBins, s.windowBins);
      }
      results.push({
        feature: s.binner.name,
        kind: s.binner.kind,
        isScore: s.isScore,
        windowSize: n,
        psi,
        band: psiBand(psi, this.bands),
        pValue,
        adjustedPValue: adjusted[i] as number,
        ks,
        ksPValue: ksP,
        chiSquare,
        jsDivergence: jensenShannonDivergence(s.binner.referenceBins, s.windowBins),
        missingRate: missing / n,
        trend: slope(s.psiHistory, s.historyLength, (this.evaluations % this.trendLength) + 1),
        conditionMet,
        alerting: s.alerting,
      });
    }
    return { evaluation: this.evaluations, eventCount: this.accepted, time: this.latestTime, windowSize: n, results, transitions };
  }
}
