import { Counter, Gauge } from "prom-client";
import type { Registry } from "prom-client";

export interface DriftMonitorMetrics {
  featurePsi: Gauge<"model" | "feature" | "window">;
  featureKs: Gauge<"model" | "feature" | "window">;
  featurePValue: Gauge<"model" | "feature" | "window">;
  featureAlerting: Gauge<"model" | "feature" | "window">;
  scorePsi: Gauge<"model" | "window">;
  windowSize: Gauge<"model" | "window">;
  evaluations: Counter<"model" | "window">;
  alerts: Counter<"model" | "feature" | "window">;
  events: Counter<"model" | "type">;
  skipped: Counter<"model" | "reason">;
  retrainRequests: Counter<"model">;
  webhook: Counter<"outcome">;
  labelledAuc: Gauge<"model">;
  labelledAveragePrecision: Gauge<"model">;
  labelledEce: Gauge<"model">;
  pendingPredictions: Gauge<"model">;
  /** Registers what refreshes the labelled-metrics gauges at scrape time (they cost a sort per bucket). */
  onScrape(refresh: () => void): void;
}

/** `drift_monitor_*`: gauges carry the latest evaluation of each window ("count" or "time"). */
export function createDriftMonitorMetrics(registry: Registry): DriftMonitorMetrics {
  const registers = [registry];
  let refresh: (() => void) | null = null;
  const byFeature = ["model", "feature", "window"] as const;
  return {
    featurePsi: new Gauge({ name: "drift_monitor_feature_psi", help: "PSI of the feature's window against the training reference", labelNames: byFeature, registers }),
    featureKs: new Gauge({ name: "drift_monitor_feature_ks", help: "KS statistic (numeric features) against the reference", labelNames: byFeature, registers }),
    featurePValue: new Gauge({
      name: "drift_monitor_feature_p_value",
      help: "PSI p-value under no drift for this window size, Holm-adjusted across features",
      labelNames: byFeature,
      registers,
    }),
    featureAlerting: new Gauge({ name: "drift_monitor_feature_alerting", help: "1 while the feature's drift alert is on", labelNames: byFeature, registers }),
    scorePsi: new Gauge({ name: "drift_monitor_score_psi", help: "PSI of the model score distribution", labelNames: ["model", "window"] as const, registers }),
    windowSize: new Gauge({ name: "drift_monitor_window_size", help: "Decisions in the window at the last evaluation", labelNames: ["model", "window"] as const, registers }),
    evaluations: new Counter({ name: "drift_monitor_evaluations_total", help: "Drift evaluations run", labelNames: ["model", "window"] as const, registers }),
    alerts: new Counter({ name: "drift_monitor_alerts_total", help: "Feature drift alerts started", labelNames: byFeature, registers }),
    events: new Counter({ name: "drift_monitor_events_total", help: "Events consumed, by type", labelNames: ["model", "type"] as const, registers }),
    skipped: new Counter({
      name: "drift_monitor_decisions_skipped_total",
      help: "Decisions not monitored (no model score: decided by a rule or a fallback)",
      labelNames: ["model", "reason"] as const,
      registers,
    }),
    retrainRequests: new Counter({ name: "drift_monitor_retrain_requests_total", help: "ml.retrain-request events published", labelNames: ["model"] as const, registers }),
    webhook: new Counter({ name: "drift_monitor_webhook_deliveries_total", help: "Alert webhook deliveries by outcome", labelNames: ["outcome"] as const, registers }),
    // Registered before the other labelled gauges: its collect() refreshes them all for this scrape.
    labelledAuc: new Gauge({
      name: "drift_monitor_labelled_auc",
      help: "ROC AUC of the latest bucket with both classes labelled",
      labelNames: ["model"] as const,
      registers,
      collect: () => refresh?.(),
    }),
    labelledAveragePrecision: new Gauge({
      name: "drift_monitor_labelled_average_precision",
      help: "Average precision of the latest bucket with both classes labelled",
      labelNames: ["model"] as const,
      registers,
    }),
    labelledEce: new Gauge({ name: "drift_monitor_labelled_ece", help: "Expected calibration error of the latest labelled bucket", labelNames: ["model"] as const, registers }),
    pendingPredictions: new Gauge({ name: "drift_monitor_pending_predictions", help: "Decisions waiting for a label", labelNames: ["model"] as const, registers }),
    onScrape: (fn) => {
      refresh = fn;
    },
  };
}
