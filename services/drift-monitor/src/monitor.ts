import { makeEvent } from "@mlsd/contracts";
import type { AnyEvent, DriftFinding, FeatureVector, RetrainRequestEvent } from "@mlsd/contracts";
import { DEFAULT_PSI_BANDS, DelayedLabelTracker, DriftDetector, PsiNullCache } from "@mlsd/drift";
import type { AlertTransition, BucketReport, DelayedLabelOptions, DelayedLabelStats, DriftDetectorOptions, DriftEvaluation, FeatureDriftResult } from "@mlsd/drift";
import type { LoadedDriftReference } from "@mlsd/model-formats/drift-reference";
import type { Logger } from "@mlsd/service-kit";
import type { AlertSink, DriftAlert } from "./alerts";
import type { DriftMonitorMetrics } from "./metrics";
import type { MonitoredStream } from "./streams";

/** A drift reference as the model format loads it; `id` is e.g. "fraud-gbdt@20250101T000000Z-ab12cd". */
export type LoadedReference = LoadedDriftReference;

export type WindowName = "count" | "time";

export interface DriftMonitorOptions {
  model: string;
  /** How this design's events become predictions and labels. */
  stream: MonitoredStream;
  reference: LoadedReference;
  countWindow: { size: number; evaluateEvery: number };
  timeWindow: { seconds: number; evaluateEvery: number };
  /** Shared by both windows: threshold, alpha, sustain, clearAfter, minWindowSize, seed. */
  detector?: Pick<DriftDetectorOptions, "psiThreshold" | "alpha" | "sustain" | "clearAfter" | "minWindowSize" | "seed" | "nullReplicates">;
  performance: DelayedLabelOptions;
  logger: Logger;
  metrics?: DriftMonitorMetrics | null;
  alerts?: AlertSink | null;
  /** Where retrain requests go; an EventProducer fits. */
  retrain?: { publish(event: RetrainRequestEvent): void } | null;
  /** Wall clock for the retrain request's time; Date.now by default. */
  now?: () => number;
}

export interface FeatureReport {
  feature: string;
  kind: "numeric" | "categorical";
  isScore: boolean;
  statistic: "psi";
  psi: number;
  band: string;
  pValue: number;
  adjustedPValue: number;
  ks: number | null;
  ksPValue: number | null;
  chiSquarePValue: number | null;
  jsDivergence: number;
  missingRate: number;
  windowSize: number;
  trend: number;
  conditionMet: boolean;
  alerting: boolean;
}

export interface WindowReport {
  window: WindowName;
  spec: string;
  evaluations: number;
  windowSize: number;
  /** Feature evaluations so far, and how many met the alert condition (before sustain): the raw false-alarm rate under no drift. */
  featureEvaluations: number;
  conditionsMet: number;
  lastEvaluation: { evaluation: number; eventCount: number; time: string } | null;
  features: FeatureReport[];
}

export interface AlertRecord {
  window: WindowName;
  feature: string;
  type: "start" | "stop";
  time: string;
  /** Events the window's detector had accepted (a time window drops late ones). */
  eventCount: number;
  /** Decisions the monitor had seen (monitored) when the alert changed. */
  decisionsSeen: number;
  psi: number;
  pValue: number;
}

export interface DriftReport {
  model: string;
  reference: { id: string; version: string; createdAt: string; features: number; hasScore: boolean };
  events: { decisions: number; monitored: number; labels: number; skipped: number; lateForTimeWindow: number };
  episode: { active: boolean; startedAt: string | null; features: string[]; retrainRequested: boolean; episodes: number };
  windows: WindowReport[];
  recentAlerts: AlertRecord[];
  performance: { horizonMs: number; bucketMs: number; stats: DelayedLabelStats; buckets: BucketReport[] };
}

interface WindowState {
  name: WindowName;
  spec: string;
  detector: DriftDetector;
  last: DriftEvaluation | null;
  featureEvaluations: number;
  conditionsMet: number;
}

const MAX_RECENT_ALERTS = 100;

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : x;
}

/**
 * Watches the served decisions of one model against its training reference in two windows (the
 * last N decisions and the last T seconds), raises alerts per feature, opens an "episode" while
 * any feature alerts (one retrain request per episode), and joins delayed labels to the
 * decisions for the metrics that confirm or refute a drift alarm later. Synchronous and
 * allocation-light on the event path; alerts and requests are handed to non-blocking sinks.
 */
export class DriftMonitor {
  readonly model: string;
  private reference: LoadedReference;
  private windows: WindowState[];
  private readonly tracker: DelayedLabelTracker;
  private readonly options: DriftMonitorOptions;
  private readonly logger: Logger;
  private readonly metrics: DriftMonitorMetrics | null;
  private readonly now: () => number;
  /** Times of the count window's decisions (ring), so a request can name the window's start. */
  private countTimes: Float64Array;
  private countNext = 0;
  private countFilled = 0;
  private readonly recent: AlertRecord[] = [];
  private episode: { startedAt: number; retrainRequested: boolean } | null = null;
  private episodes = 0;
  private readonly counts = { decisions: 0, monitored: 0, labels: 0, skipped: 0 };

  constructor(options: DriftMonitorOptions) {
    this.options = options;
    this.model = options.model;
    this.logger = options.logger;
    this.metrics = options.metrics ?? null;
    this.now = options.now ?? Date.now;
    this.reference = options.reference;
    this.windows = this.createWindows(options.reference);
    this.countTimes = new Float64Array(options.countWindow.size);
    this.tracker = new DelayedLabelTracker(options.performance);
    this.metrics?.pendingPredictions.set({ model: this.model }, 0);
    this.metrics?.onScrape(() => this.refreshPerformanceGauges());
  }

  get referenceId(): string {
    return this.reference.id;
  }

  /** Features alerting in any window. */
  alertingFeatures(): string[] {
    const set = new Set<string>();
    for (const w of this.windows) for (const f of w.detector.alertingFeatures()) set.add(f);
    return [...set].sort();
  }

  /**
   * Switches to a new reference (a new model version went live): windows and alerts start over;
   * the label join keeps its state, since earlier decisions still get their labels.
   */
  setReference(reference: LoadedReference): void {
    if (this.episode !== null) this.endEpisode(Number.NaN);
    this.reference = reference;
    this.windows = this.createWindows(reference);
    this.countTimes = new Float64Array(this.options.countWindow.size);
    this.countNext = 0;
    this.countFilled = 0;
    this.metrics?.featurePsi.reset();
    this.metrics?.featureKs.reset();
    this.metrics?.featurePValue.reset();
    this.metrics?.featureAlerting.reset();
    this.logger.info({ reference: reference.id }, "drift monitor: reference switched");
  }

  handle(events: readonly AnyEvent[]): void {
    for (const event of events) {
      for (const o of this.options.stream.observe(event)) {
        if (o.kind === "prediction") this.onPrediction(o.id, o.time, o.features, o.score);
        else if (o.kind === "label") this.onLabel(o.id, o.positive, o.knownAt);
        else this.onSkip(o.reason);
      }
    }
  }

  report(): DriftReport {
    const ref = this.reference.reference;
    return {
      model: this.model,
      reference: {
        id: this.reference.id,
        version: this.reference.version,
        createdAt: ref.createdAt,
        features: ref.features.length,
        hasScore: ref.score !== null,
      },
      events: { ...this.counts, lateForTimeWindow: this.windows.find((w) => w.name === "time")?.detector.lateEvents ?? 0 },
      episode: {
        active: this.episode !== null,
        startedAt: this.episode ? new Date(this.episode.startedAt).toISOString() : null,
        features: this.alertingFeatures(),
        retrainRequested: this.episode?.retrainRequested ?? false,
        episodes: this.episodes,
      },
      windows: this.windows.map((w) => ({
        window: w.name,
        spec: w.spec,
        evaluations: w.last?.evaluation ?? 0,
        windowSize: w.detector.windowSize,
        featureEvaluations: w.featureEvaluations,
        conditionsMet: w.conditionsMet,
        lastEvaluation: w.last ? { evaluation: w.last.evaluation, eventCount: w.last.eventCount, time: new Date(w.last.time).toISOString() } : null,
        features: (w.last?.results ?? []).map(featureReport),
      })),
      recentAlerts: [...this.recent],
      performance: {
        horizonMs: this.options.performance.horizonMs,
        bucketMs: this.options.performance.bucketMs,
        stats: this.tracker.stats(),
        buckets: this.tracker.report(),
      },
    };
  }

  /** Sets the labelled-metrics gauges from the latest bucket that has both classes. */
  refreshPerformanceGauges(): void {
    if (this.metrics === null) return;
    const labels = { model: this.model };
    this.metrics.pendingPredictions.set(labels, this.tracker.stats().pending);
    const latest = this.tracker.report().filter((b) => b.auc !== null).at(-1);
    if (latest === undefined) return;
    this.metrics.labelledAuc.set(labels, latest.auc as number);
    this.metrics.labelledAveragePrecision.set(labels, latest.averagePrecision as number);
    if (latest.ece !== null) this.metrics.labelledEce.set(labels, latest.ece);
  }

  private createWindows(reference: LoadedReference): WindowState[] {
    const { countWindow, timeWindow } = this.options;
    const base = { ...this.options.detector };
    // Both windows compare against the same reference histograms: share the null distributions.
    const features = reference.reference.features.length + (reference.reference.score ? 1 : 0);
    const alpha = base.alpha ?? 0.05;
    const nullCache = new PsiNullCache({
      replicates: base.nullReplicates ?? Math.max(2000, Math.ceil((4 * features) / alpha)),
      seed: base.seed ?? 1,
    });
    return [
      {
        name: "count",
        spec: `last ${countWindow.size} decisions, evaluated every ${countWindow.evaluateEvery}`,
        detector: new DriftDetector(reference.reference, { ...base, nullCache, window: { kind: "count", size: countWindow.size }, evaluateEvery: countWindow.evaluateEvery }),
        last: null,
        featureEvaluations: 0,
        conditionsMet: 0,
      },
      {
        name: "time",
        spec: `last ${timeWindow.seconds} s of event time, evaluated every ${timeWindow.evaluateEvery} decisions`,
        detector: new DriftDetector(reference.reference, { ...base, nullCache, window: { kind: "time", seconds: timeWindow.seconds }, evaluateEvery: timeWindow.evaluateEvery }),
        last: null,
        featureEvaluations: 0,
        conditionsMet: 0,
      },
    ];
  }

  private onSkip(reason: string): void {
    this.counts.decisions++;
    this.counts.skipped++;
    this.metrics?.events.inc({ model: this.model, type: "decision" });
    this.metrics?.skipped.inc({ model: this.model, reason });
  }

  private onPrediction(id: string, time: number, features: FeatureVector, score: number): void {
    this.counts.decisions++;
    this.metrics?.events.inc({ model: this.model, type: "decision" });
    this.counts.monitored++;
    this.countTimes[this.countNext] = time;
    this.countNext = (this.countNext + 1) % this.countTimes.length;
    this.countFilled = Math.min(this.countFilled + 1, this.countTimes.length);
    const driftEvent = { time, features, score };
    for (const w of this.windows) {
      const evaluation = w.detector.push(driftEvent);
      if (evaluation !== undefined) this.onEvaluation(w, evaluation);
    }
    this.tracker.recordPrediction(id, score, time);
  }

  private onLabel(id: string, positive: boolean, knownAt: number): void {
    this.counts.labels++;
    this.metrics?.events.inc({ model: this.model, type: "label" });
    this.tracker.recordLabel(id, positive ? 1 : 0, knownAt);
  }

  private onEvaluation(w: WindowState, evaluation: DriftEvaluation): void {
    w.last = evaluation;
    w.featureEvaluations += evaluation.results.length;
    for (const r of evaluation.results) if (r.conditionMet) w.conditionsMet++;
    const m = this.metrics;
    const model = this.model;
    if (m !== null) {
      m.evaluations.inc({ model, window: w.name });
      m.windowSize.set({ model, window: w.name }, evaluation.windowSize);
      for (const r of evaluation.results) {
        const labels = { model, feature: r.feature, window: w.name };
        if (r.isScore) m.scorePsi.set({ model, window: w.name }, r.psi);
        m.featurePsi.set(labels, r.psi);
        if (r.ks !== null) m.featureKs.set(labels, r.ks);
        m.featurePValue.set(labels, r.adjustedPValue);
        m.featureAlerting.set(labels, r.alerting ? 1 : 0);
      }
    }
    for (const t of evaluation.transitions) this.onTransition(w.name, t);
    const alerting = this.alertingFeatures();
    this.tracker.noteAlerting(evaluation.time, alerting);
    if (alerting.length > 0 && this.episode === null) this.startEpisode(w, evaluation, alerting);
    else if (alerting.length === 0 && this.episode !== null) this.endEpisode(evaluation.time);
  }

  private onTransition(window: WindowName, t: AlertTransition): void {
    const record: AlertRecord = {
      window,
      feature: t.feature,
      type: t.type,
      time: new Date(t.time).toISOString(),
      eventCount: t.eventCount,
      decisionsSeen: this.counts.monitored,
      psi: round(t.psi),
      pValue: t.pValue,
    };
    this.recent.push(record);
    if (this.recent.length > MAX_RECENT_ALERTS) this.recent.shift();
    if (t.type === "start") this.metrics?.alerts.inc({ model: this.model, feature: t.feature, window });
    const fields = { model: this.model, reference: this.reference.id, ...record };
    if (t.type === "start") this.logger.warn(fields, "drift alert: feature drifted");
    else this.logger.info(fields, "drift alert: feature back within bounds");
    this.sendAlert({
      kind: t.type === "start" ? "feature_alert_started" : "feature_alert_stopped",
      window,
      feature: t.feature,
      psi: record.psi,
      pValue: t.pValue,
      time: record.time,
    });
  }

  private startEpisode(w: WindowState, evaluation: DriftEvaluation, alerting: string[]): void {
    this.episode = { startedAt: evaluation.time, retrainRequested: false };
    this.episodes++;
    this.logger.warn({ model: this.model, reference: this.reference.id, features: alerting, window: w.name }, "drift episode started: requesting a retrain");
    this.sendAlert({ kind: "episode_started", window: w.name, feature: null, psi: null, pValue: null, time: new Date(evaluation.time).toISOString() });
    const retrain = this.options.retrain;
    if (!retrain) return;
    const end = evaluation.time;
    const start = w.name === "time" ? end - this.options.timeWindow.seconds * 1000 : this.countWindowStart(end);
    const findings: DriftFinding[] = evaluation.results.map((r) => ({
      feature: r.feature,
      statistic: "psi",
      value: r.psi,
      threshold: this.options.detector?.psiThreshold ?? DEFAULT_PSI_BANDS.moderate,
      pValue: Math.min(1, Math.max(0, r.adjustedPValue)),
      breached: r.alerting,
    }));
    const request = makeEvent(
      "ml.retrain-request",
      {
        model: this.model,
        reason: "drift",
        requestedBy: "drift-monitor",
        driftSummary: { reference: this.reference.id, windowStart: new Date(start).toISOString(), windowEnd: new Date(end).toISOString(), findings },
      },
      { producer: "drift-monitor", eventTime: new Date(this.now()) },
    );
    retrain.publish(request);
    this.episode.retrainRequested = true;
    this.metrics?.retrainRequests.inc({ model: this.model });
  }

  private endEpisode(time: number): void {
    const startedAt = this.episode?.startedAt ?? time;
    this.episode = null;
    this.logger.info({ model: this.model, reference: this.reference.id, startedAt: new Date(startedAt).toISOString() }, "drift episode ended");
    if (Number.isFinite(time)) {
      this.sendAlert({ kind: "episode_ended", window: null, feature: null, psi: null, pValue: null, time: new Date(time).toISOString() });
    }
  }

  private countWindowStart(fallback: number): number {
    if (this.countFilled === 0) return fallback;
    const oldest = this.countFilled < this.countTimes.length ? 0 : this.countNext;
    return Math.min(this.countTimes[oldest] as number, fallback);
  }

  private sendAlert(alert: Omit<DriftAlert, "model" | "reference" | "alertingFeatures">): void {
    this.options.alerts?.send({ ...alert, model: this.model, reference: this.reference.id, alertingFeatures: this.alertingFeatures() });
  }
}

function featureReport(r: FeatureDriftResult): FeatureReport {
  return {
    feature: r.feature,
    kind: r.kind,
    isScore: r.isScore,
    statistic: "psi",
    psi: round(r.psi),
    band: r.band,
    pValue: r.pValue,
    adjustedPValue: r.adjustedPValue,
    ks: r.ks === null ? null : round(r.ks),
    ksPValue: r.ksPValue,
    chiSquarePValue: r.chiSquare?.pValue ?? null,
    jsDivergence: round(r.jsDivergence),
    missingRate: round(r.missingRate),
    windowSize: r.windowSize,
    trend: round(r.trend),
    conditionMet: r.conditionMet,
    alerting: r.alerting,
  };
}
