import { histogramDelta, histogramOf, histogramQuantile, sumBy, sumOf, type Family, type HistogramData, type LabelMatch } from "@mlsd/prom-text";
import type { KnownService } from "./config";
import type { PipelineSpec, StageSpec } from "./pipelines";
import type { ServiceScrape, Snapshot } from "./scraper";

/** Latency of a stage or a route: since the process started, and over the console's window. */
export interface LatencyView {
  /** Observations since the service started (the histogram's _count). */
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  window: { count: number; perSecond: number | null; p50Ms: number | null; p99Ms: number | null } | null;
}

export interface StageView extends LatencyView {
  id: string;
  label: string;
  service: KnownService;
  budgetP99Ms: number | null;
  /** The p99 shown (the window's when it saw traffic, else since start) is over its budget. */
  overBudget: boolean | null;
  inner: StageView[];
}

export interface PipelineView {
  design: "recs" | "fraud";
  title: string;
  service: KnownService;
  up: boolean;
  route: string;
  budget: PipelineSpec["budget"];
  rateTarget: number | null;
  endToEnd: LatencyView & { errors: number; errorRate: number | null; overBudget: boolean | null };
  stages: StageView[];
  /** Answers by outcome: decisions (fraud) or fallbacks by kind (recs); `degraded`: answered without a dependency. */
  outcomes: Record<string, number>;
  fallbackRate: number | null;
  degradedRate: number | null;
}

const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1e6) / 1e3);

function latency(latest: ServiceScrape | undefined, start: ServiceScrape | undefined, name: string, match: LabelMatch, seconds: number | null): LatencyView {
  const now: HistogramData = latest?.up ? histogramOf(latest.families, name, match) : { bounds: [], counts: [], count: 0, sum: 0 };
  const view: LatencyView = { count: now.count, p50Ms: ms(histogramQuantile(0.5, now)), p99Ms: ms(histogramQuantile(0.99, now)), window: null };
  if (start?.up && latest?.up && seconds !== null && seconds > 0) {
    const delta = histogramDelta(now, histogramOf(start.families, name, match));
    view.window = { count: delta.count, perSecond: Math.round((delta.count / seconds) * 100) / 100, p50Ms: ms(histogramQuantile(0.5, delta)), p99Ms: ms(histogramQuantile(0.99, delta)) };
  }
  return view;
}

/** The p99 a budget is judged against: the window's when it saw traffic, else the one since start. */
export function shownP99(view: LatencyView): number | null {
  return view.window && view.window.count > 0 ? view.window.p99Ms : view.p99Ms;
}

function over(view: LatencyView, budget: number | null): boolean | null {
  const p99 = shownP99(view);
  return budget === null || p99 === null ? null : p99 > budget;
}

function stageView(spec: StageSpec, latest: Snapshot, start: Snapshot | null, seconds: number | null): StageView {
  const metric = `${spec.service.replace(/-/g, "_")}_stage_duration_seconds`;
  const l = latest.services.get(spec.service);
  const s = start?.services.get(spec.service);
  // Several stage labels in one box: sum their histograms (same buckets in every service).
  const views = spec.stages.map((stage) => ({ stage, now: l?.up ? histogramOf(l.families, metric, { stage }) : null }));
  const merged = mergeHistograms(views.map((v) => v.now));
  const mergedStart = s?.up ? mergeHistograms(spec.stages.map((stage) => histogramOf(s.families, metric, { stage }))) : null;
  const view: LatencyView = { count: merged.count, p50Ms: ms(histogramQuantile(0.5, merged)), p99Ms: ms(histogramQuantile(0.99, merged)), window: null };
  if (mergedStart && l?.up && seconds !== null && seconds > 0) {
    const delta = histogramDelta(merged, mergedStart);
    view.window = { count: delta.count, perSecond: Math.round((delta.count / seconds) * 100) / 100, p50Ms: ms(histogramQuantile(0.5, delta)), p99Ms: ms(histogramQuantile(0.99, delta)) };
  }
  return { id: spec.id, label: spec.label, service: spec.service, budgetP99Ms: spec.budgetP99Ms, ...view, overBudget: over(view, spec.budgetP99Ms), inner: (spec.inner ?? []).map((i) => stageView(i, latest, start, seconds)) };
}

function mergeHistograms(list: readonly (HistogramData | null)[]): HistogramData {
  const present = list.filter((h): h is HistogramData => h !== null && h.bounds.length > 0);
  if (present.length === 0) return { bounds: [], counts: [], count: 0, sum: 0 };
  const bounds = present[0]?.bounds ?? [];
  return {
    bounds,
    counts: bounds.map((_, i) => present.reduce((t, h) => t + (h.counts[i] ?? 0), 0)),
    count: present.reduce((t, h) => t + h.count, 0),
    sum: present.reduce((t, h) => t + h.sum, 0),
  };
}

/** Answers that were not 2xx or 4xx: the service failed them (5xx, 503 shedding included). */
function serverErrors(families: Map<string, Family>, prefix: string, route: string): number {
  const byStatus = sumBy(families, `${prefix}_http_request_duration_seconds_count`, "status", { route });
  return Object.entries(byStatus).reduce((t, [status, n]) => t + (status.startsWith("5") ? n : 0), 0);
}

/** The pipeline of one design as the latest scrape and the window's start see it. */
export function pipelineView(spec: PipelineSpec, latest: Snapshot, start: Snapshot | null): PipelineView {
  const seconds = start ? (latest.at - start.at) / 1000 : null;
  const scrape = latest.services.get(spec.service);
  const prefix = spec.service.replace(/-/g, "_");
  const families = scrape?.families ?? new Map<string, Family>();
  const route = latency(scrape, start?.services.get(spec.service), `${prefix}_http_request_duration_seconds`, { route: spec.route }, seconds);
  const errors = serverErrors(families, prefix, spec.route);
  let outcomes: Record<string, number>;
  let fallbacks: number;
  let degraded: number;
  if (spec.design === "fraud") {
    outcomes = sumBy(families, "fraud_decisions_total", "decision");
    fallbacks = sumOf(families, "fraud_decisions_total", { decided_by: "fallback" });
    degraded = sumOf(families, "fraud_degraded_total");
    outcomes.degraded = degraded;
  } else {
    outcomes = sumBy(families, "recommender_fallbacks_total", "kind");
    // As the budgets count them: a cold-start list is the designed answer for a new user, not a fallback.
    fallbacks = sumOf(families, "recommender_fallbacks_total") - (outcomes["cold-start"] ?? 0);
    const ranker = latest.services.get("ranker");
    degraded = ranker?.up ? sumOf(ranker.families, "ranker_degraded_total") : 0;
    outcomes["ranker degraded"] = degraded;
  }
  const answered = route.count;
  return {
    design: spec.design,
    title: spec.title,
    service: spec.service,
    up: scrape?.up ?? false,
    route: spec.route,
    budget: spec.budget,
    rateTarget: spec.rateTarget,
    endToEnd: { ...route, errors, errorRate: answered > 0 ? errors / answered : null, overBudget: over(route, spec.budget.p99) },
    stages: spec.stages.map((s) => stageView(s, latest, start, seconds)),
    outcomes,
    fallbackRate: answered > 0 ? fallbacks / answered : null,
    degradedRate: answered > 0 ? degraded / answered : null,
  };
}

export interface ModelView {
  service: KnownService;
  model: string;
  version: string;
  /** From `/v1/model/arms`: the challenger beside the model in service, if any. */
  challenger: { version: string; mode: string; share: number } | null;
  /** Answers by arm (`<service>_model_arm_answers_total`). */
  answersByArm: Record<string, number>;
}

/** Model versions in service (`<service>_model_info`) and their arms. */
export function modelViews(latest: Snapshot): ModelView[] {
  const out: ModelView[] = [];
  for (const scrape of latest.services.values()) {
    if (!scrape.up) continue;
    const prefix = scrape.name.replace(/-/g, "_");
    const info = scrape.families.get(`${prefix}_model_info`);
    const arms = scrape.json["/v1/model/arms"] as { challenger?: { version: string; mode: string; share: number } | null } | undefined;
    for (const sample of info?.samples ?? []) {
      if (sample.value !== 1) continue;
      const model = sample.labels.model ?? "";
      out.push({
        service: scrape.name,
        model,
        version: sample.labels.version ?? "",
        challenger: arms?.challenger ?? null,
        answersByArm: sumBy(scrape.families, `${prefix}_model_arm_answers_total`, "arm", { model }),
      });
    }
  }
  return out;
}

export interface DriftFeatureView {
  feature: string;
  psi: number;
  band: string | null;
  pValue: number | null;
  alerting: boolean;
}

export interface DriftView {
  model: string;
  decisions: number;
  episode: { active: boolean; features: string[]; episodes: number } | null;
  window: string | null;
  features: DriftFeatureView[];
}

interface DriftReportLike {
  model: string;
  events: { decisions: number };
  episode: { active: boolean; features: string[]; episodes: number };
  windows: { window: string; spec: string; features: { feature: string; psi: number; band: string | null; adjustedPValue: number | null; alerting: boolean }[] }[];
}

/** Drift per feature from the drift monitor's report: the count window's last evaluation. */
export function driftView(latest: Snapshot): DriftView | null {
  const report = latest.services.get("drift-monitor")?.json["/v1/drift"] as DriftReportLike | undefined;
  if (!report || typeof report !== "object" || !Array.isArray(report.windows)) return null;
  const window = report.windows.find((w) => w.window === "count") ?? report.windows[0];
  return {
    model: report.model,
    decisions: report.events?.decisions ?? 0,
    episode: report.episode ? { active: report.episode.active, features: report.episode.features, episodes: report.episode.episodes } : null,
    window: window?.spec ?? null,
    features: (window?.features ?? []).map((f) => ({ feature: f.feature, psi: f.psi, band: f.band, pValue: f.adjustedPValue, alerting: f.alerting })),
  };
}
