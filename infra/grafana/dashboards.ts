import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { dashboardJson, percentiles, quantile, type DashboardSpec, type Query } from "./panels";

/** What the dashboards draw their budget lines from: packages/budgets/budgets.json (milliseconds). */
export interface EndpointBudget {
  latency: { p50: number; p95: number; p99: number };
  stages: Record<string, { p50: number; p95: number; p99: number }>;
  maxErrorRate: number;
  maxFallbackRate: number;
}

export interface DashboardInputs {
  budgets: { fraud: EndpointBudget; recommendations: EndpointBudget };
  /** The drift monitor's alerting PSI (its PSI_THRESHOLD default). */
  psiThreshold: number;
}

export const FRAUD_MODEL = FRAUD_MODEL_NAME;
const SCORE_ROUTE = `route="/v1/transactions/score"`;
const RECS_ROUTE = `route="/v1/recommendations"`;

const seconds = (ms: number): number => ms / 1000;

function stageBudget(budget: EndpointBudget, stage: string): number {
  const found = budget.stages[stage];
  if (!found) throw new Error(`budgets.json has no p99 for stage "${stage}"`);
  return seconds(found.p99);
}

/** Requests per second of one service, without Prometheus's own scrapes of /metrics. */
function requestRate(service: string): Query {
  return { expr: `sum(rate(${service}_http_request_duration_seconds_count{route!="/metrics"}[1m]))`, legend: service };
}

const SERVICES = ["recommender", "retrieval", "ranker", "fraud", "event_logger", "drift_monitor", "feature_streamer"] as const;
const CONSUMERS = [
  { prefix: "feature_streamer", legend: "feature streamer" },
  { prefix: "event_logger", legend: "event-logger" },
  { prefix: "drift_monitor", legend: "drift-monitor" },
] as const;
const PRODUCERS = ["fraud", "recommender", "drift_monitor"] as const;

function fraud(inputs: DashboardInputs): DashboardSpec {
  const budget = inputs.budgets.fraud;
  return {
    uid: "mlsd-fraud",
    title: "Fraud scoring",
    description: "POST /v1/transactions/score: latency against the budget, outcomes, degraded answers, drift of what the model sees.",
    rows: [
      {
        title: "Latency against the budget",
        panels: [
          {
            title: `Scoring latency (budget p99 ${budget.latency.p99} ms)`,
            description: "Server-side duration of POST /v1/transactions/score. The dashed line is the p99 budget of packages/budgets/budgets.json.",
            unit: "s",
            queries: percentiles("fraud_http_request_duration_seconds", `{${SCORE_ROUTE}}`),
            line: seconds(budget.latency.p99),
          },
          {
            title: `Feature fetch (budget p99 ${budget.stages.features?.p99} ms)`,
            description: "The `features` stage: Redis features and real-time counters under the feature deadline.",
            unit: "s",
            queries: percentiles("fraud_stage_duration_seconds", `{stage="features"}`),
            line: stageBudget(budget, "features"),
          },
          {
            title: "p99 by stage",
            description: "Where the tail goes: validate, rules, features, model, publish.",
            unit: "s",
            queries: [{ expr: quantile(0.99, "fraud_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
          {
            title: "p95 by stage",
            description: "Stage durations, 95th percentile.",
            unit: "s",
            queries: [{ expr: quantile(0.95, "fraud_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
          {
            title: "p50 by stage",
            description: "Stage durations, median.",
            unit: "s",
            queries: [{ expr: quantile(0.5, "fraud_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
        ],
      },
      {
        title: "Traffic, errors and degraded answers",
        panels: [
          {
            title: "Throughput by route and status",
            description: "Requests per second answered, by route template and HTTP status.",
            unit: "reqps",
            queries: [{ expr: `sum by (route, status) (rate(fraud_http_request_duration_seconds_count{route!="/metrics"}[1m]))`, legend: "{{route}} {{status}}" }],
          },
          {
            title: `Error rate (budget ${budget.maxErrorRate * 100} %)`,
            description: "Share of scoring requests answered 5xx.",
            unit: "percentunit",
            queries: [
              {
                expr: `sum(rate(fraud_http_request_duration_seconds_count{${SCORE_ROUTE},status=~"5.."}[1m])) / sum(rate(fraud_http_request_duration_seconds_count{${SCORE_ROUTE}}[1m]))`,
                legend: "5xx share",
              },
            ],
            line: budget.maxErrorRate,
          },
          {
            title: `Degraded answers (budget ${budget.maxFallbackRate * 100} %)`,
            description: "Share of decisions computed without the feature store (deadline passed, Redis down, breaker open).",
            unit: "percentunit",
            queries: [{ expr: `sum(rate(fraud_degraded_total[1m])) / sum(rate(fraud_decisions_total[1m]))`, legend: "degraded share" }],
            line: budget.maxFallbackRate,
          },
          {
            title: "Degraded answers by reason",
            description: "Why the feature store was skipped.",
            unit: "ops",
            queries: [{ expr: `sum by (reason) (rate(fraud_degraded_total[1m]))`, legend: "{{reason}}" }],
          },
        ],
      },
      {
        title: "Decisions",
        panels: [
          {
            title: "Decision mix",
            description: "Decisions per second by outcome (approve, review, decline), stacked.",
            unit: "ops",
            queries: [{ expr: `sum by (decision) (rate(fraud_decisions_total[1m]))`, legend: "{{decision}}" }],
            stacked: true,
          },
          {
            title: "Decided by",
            description: "Whether a hard rule, the model or a fallback made the decision.",
            unit: "ops",
            queries: [{ expr: `sum by (decided_by) (rate(fraud_decisions_total[1m]))`, legend: "{{decided_by}}" }],
            stacked: true,
          },
          {
            title: "Review and decline shares",
            description: "Shares of all decisions: a jump with no change in traffic points at drift or a new model.",
            unit: "percentunit",
            queries: [
              { expr: `sum(rate(fraud_decisions_total{decision="review"}[1m])) / sum(rate(fraud_decisions_total[1m]))`, legend: "review" },
              { expr: `sum(rate(fraud_decisions_total{decision="decline"}[1m])) / sum(rate(fraud_decisions_total[1m]))`, legend: "decline" },
            ],
          },
          {
            title: "Score distribution (served)",
            description: "Share of model scores per bucket over the last 5 minutes; a shift here shows before labels do.",
            unit: "ops",
            queries: [{ expr: `sum by (le) (rate(fraud_score_bucket[5m]))`, legend: "<= {{le}}" }],
          },
          {
            title: "Model version in service",
            description: "One series per version: a change marks a deploy or a rollback.",
            unit: "none",
            queries: [{ expr: `max by (model, version) (fraud_model_info)`, legend: "{{model}} {{version}}" }],
          },
        ],
      },
      {
        title: "Score and feature drift (drift monitor)",
        panels: [
          {
            title: `Score distribution drift, PSI (alert at ${inputs.psiThreshold})`,
            description: "PSI of the model score distribution in the drift monitor's windows against the validation scores of the model in service.",
            unit: "none",
            queries: [{ expr: `max by (window) (drift_monitor_score_psi{model="${FRAUD_MODEL}"})`, legend: "{{window}} window" }],
            line: inputs.psiThreshold,
          },
          {
            title: `Feature PSI, count window (alert at ${inputs.psiThreshold})`,
            description: "PSI of each served feature over the last N decisions against the training reference.",
            unit: "none",
            queries: [{ expr: `max by (feature) (drift_monitor_feature_psi{model="${FRAUD_MODEL}",window="count"})`, legend: "{{feature}}" }],
            line: inputs.psiThreshold,
          },
          {
            title: "Features in a drift alert",
            description: "Features whose drift alert is on (significant and above the PSI threshold for several evaluations).",
            unit: "short",
            queries: [{ expr: `sum by (window) (drift_monitor_feature_alerting{model="${FRAUD_MODEL}"})`, legend: "{{window}} window" }],
          },
          {
            title: "Performance on delayed labels",
            description: "ROC AUC, average precision and calibration error of the latest bucket of decisions whose labels arrived.",
            unit: "none",
            queries: [
              { expr: `max(drift_monitor_labelled_auc{model="${FRAUD_MODEL}"})`, legend: "ROC AUC" },
              { expr: `max(drift_monitor_labelled_average_precision{model="${FRAUD_MODEL}"})`, legend: "average precision" },
              { expr: `max(drift_monitor_labelled_ece{model="${FRAUD_MODEL}"})`, legend: "ECE" },
            ],
          },
        ],
      },
      {
        title: "Events and labels",
        panels: [
          {
            title: "Decision events",
            description: "Events handed to the producer, acknowledged by Kafka, and spilled to the disk journal.",
            unit: "ops",
            queries: [
              { expr: `sum(rate(fraud_events_published_total[1m]))`, legend: "published" },
              { expr: `sum(rate(fraud_events_sent_total[1m]))`, legend: "sent" },
              { expr: `sum(rate(fraud_events_spilled_total[1m]))`, legend: "spilled to journal" },
            ],
          },
          {
            title: "Events waiting and dropped",
            description: "In-memory queue, journal backlog (Kafka unreachable), and drops by reason (each also logged).",
            unit: "short",
            queries: [
              { expr: `sum(fraud_events_queue_depth)`, legend: "queue" },
              { expr: `sum(fraud_events_journal_pending)`, legend: "journal" },
              { expr: `sum by (reason) (increase(fraud_events_dropped_total[5m]))`, legend: "dropped: {{reason}}" },
            ],
          },
          {
            title: "Label consumer lag",
            description: "Chargeback labels not yet applied to the terminal-risk features.",
            unit: "short",
            queries: [{ expr: `sum by (topic) (feature_streamer_consumer_lag{topic=~"fraud.*"})`, legend: "{{topic}}" }],
          },
        ],
      },
    ],
  };
}

function recommender(inputs: DashboardInputs): DashboardSpec {
  const budget = inputs.budgets.recommendations;
  return {
    uid: "mlsd-recommender",
    title: "Recommendations",
    description: "POST /v1/recommendations end to end across recommender, retrieval and ranker: latency against the budget, fallbacks, dependencies.",
    rows: [
      {
        title: "Latency against the budget",
        panels: [
          {
            title: `Recommendations latency (budget p99 ${budget.latency.p99} ms)`,
            description: "Server-side duration of POST /v1/recommendations, which includes the calls to retrieval and the ranker.",
            unit: "s",
            queries: percentiles("recommender_http_request_duration_seconds", `{${RECS_ROUTE}}`),
            line: seconds(budget.latency.p99),
          },
          {
            title: `Feature fetch, user + candidates (budget p99 ${budget.stages["ranker.features"]?.p99} ms)`,
            description: "The ranker's `features` stage: one user and the candidate items from Redis.",
            unit: "s",
            queries: percentiles("ranker_stage_duration_seconds", `{stage="features"}`),
            line: stageBudget(budget, "ranker.features"),
          },
          {
            title: "Recommender p99 by stage",
            description: "user, retrieval, rank, items, filter, diversify, publish, popularity (on fallbacks).",
            unit: "s",
            queries: [{ expr: quantile(0.99, "recommender_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
          {
            title: "Retrieval p99 by stage",
            description: "encode (user tower) and ann (HNSW) or exact search.",
            unit: "s",
            queries: [{ expr: quantile(0.99, "retrieval_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
          {
            title: "Ranker p99 by stage",
            description: "features, assemble, model (GBDT), sort.",
            unit: "s",
            queries: [{ expr: quantile(0.99, "ranker_stage_duration_seconds", { by: "stage" }), legend: "{{stage}}" }],
            width: 8,
          },
        ],
      },
      {
        title: "Traffic, errors and fallbacks",
        panels: [
          {
            title: "Throughput",
            description: "Requests per second at each hop of the two-stage path.",
            unit: "reqps",
            queries: [
              { expr: `sum(rate(recommender_http_request_duration_seconds_count{${RECS_ROUTE}}[1m]))`, legend: "recommendations" },
              { expr: `sum(rate(retrieval_http_request_duration_seconds_count{route="/v1/candidates"}[1m]))`, legend: "retrieval candidates" },
              { expr: `sum(rate(ranker_http_request_duration_seconds_count{route="/v1/rank"}[1m]))`, legend: "ranker rank" },
            ],
          },
          {
            title: `Error rate (budget ${budget.maxErrorRate * 100} %)`,
            description: "Share of recommendation requests answered 5xx.",
            unit: "percentunit",
            queries: [
              {
                expr: `sum(rate(recommender_http_request_duration_seconds_count{${RECS_ROUTE},status=~"5.."}[1m])) / sum(rate(recommender_http_request_duration_seconds_count{${RECS_ROUTE}}[1m]))`,
                legend: "5xx share",
              },
            ],
            line: budget.maxErrorRate,
          },
          {
            title: `Fallback rate (budget ${budget.maxFallbackRate * 100} %)`,
            description: "Share of recommendation answers served by a fallback (popularity, retrieval order, cold start).",
            unit: "percentunit",
            queries: [
              {
                expr: `sum(rate(recommender_fallbacks_total[1m])) / sum(rate(recommender_http_request_duration_seconds_count{${RECS_ROUTE},status="200"}[1m]))`,
                legend: "fallback share",
              },
            ],
            line: budget.maxFallbackRate,
          },
          {
            title: "Fallbacks by kind",
            description: "Which fallback answered.",
            unit: "ops",
            queries: [{ expr: `sum by (kind) (rate(recommender_fallbacks_total[1m]))`, legend: "{{kind}}" }],
          },
          {
            title: "Dependency failures",
            description: "Calls to Redis, retrieval and the ranker that timed out, failed or were skipped by an open breaker.",
            unit: "ops",
            queries: [{ expr: `sum by (dependency, reason) (rate(recommender_dependency_failures_total[1m]))`, legend: "{{dependency}} {{reason}}" }],
          },
          {
            title: "Degraded stages downstream",
            description: "Ranker answers ordered by retrieval score (feature store failed), candidates unknown to the feature store, degraded retrieval answers.",
            unit: "ops",
            queries: [
              { expr: `sum by (reason) (rate(ranker_degraded_total[1m]))`, legend: "ranker degraded: {{reason}}" },
              { expr: `sum(rate(ranker_unknown_items_total[1m]))`, legend: "ranker unknown items" },
              { expr: `sum by (source) (rate(retrieval_answers_total{degraded="true"}[1m]))`, legend: "retrieval degraded: {{source}}" },
            ],
          },
        ],
      },
      {
        title: "Events",
        panels: [
          {
            title: "Impression and click events",
            description: "Events handed to the producer, acknowledged by Kafka, and spilled to the disk journal.",
            unit: "ops",
            queries: [
              { expr: `sum(rate(recommender_events_published_total[1m]))`, legend: "published" },
              { expr: `sum by (topic) (rate(recommender_events_sent_total[1m]))`, legend: "sent: {{topic}}" },
              { expr: `sum(rate(recommender_events_spilled_total[1m]))`, legend: "spilled to journal" },
            ],
          },
          {
            title: "Click history updates that failed",
            description: "Clicks published to Kafka whose Redis history append failed (the next answer may repeat the item).",
            unit: "ops",
            queries: [{ expr: `sum(rate(recommender_click_history_failures_total[1m]))`, legend: "failed" }],
          },
        ],
      },
    ],
  };
}

function platform(inputs: DashboardInputs): DashboardSpec {
  return {
    uid: "mlsd-platform",
    title: "Platform",
    description: "Every process at a glance: targets up, traffic, CPU and memory, Kafka consumers and producers, the offline store and drift.",
    rows: [
      {
        title: "Processes",
        panels: [
          {
            title: "Targets up",
            description: "1 while Prometheus's last scrape of the job succeeded.",
            unit: "short",
            queries: [{ expr: `up`, legend: "{{job}}" }],
          },
          {
            title: "Requests per second",
            description: "All routes but /metrics, per service.",
            unit: "reqps",
            queries: SERVICES.map(requestRate),
          },
          {
            title: "CPU",
            description: "CPU seconds per second (1 = one core busy).",
            unit: "short",
            queries: [{ expr: `sum by (service) (rate(process_cpu_seconds_total[1m]))`, legend: "{{service}}" }],
            width: 8,
          },
          {
            title: "Resident memory",
            description: "Process resident set size.",
            unit: "bytes",
            queries: [{ expr: `sum by (service) (process_resident_memory_bytes)`, legend: "{{service}}" }],
            width: 8,
          },
          {
            title: "Event loop lag p99",
            description: "A busy event loop delays every request on the process, whatever its stage timings say.",
            unit: "s",
            queries: [{ expr: `max by (service) (nodejs_eventloop_lag_p99_seconds)`, legend: "{{service}}" }],
            width: 8,
          },
        ],
      },
      {
        title: "Kafka",
        panels: [
          {
            title: "Consumer lag",
            description: "High watermark minus committed offset, summed over partitions, per consumer group and topic.",
            unit: "short",
            queries: CONSUMERS.map(({ prefix, legend }) => ({ expr: `sum by (group, topic) (${prefix}_consumer_lag)`, legend: `${legend}: {{topic}}` })),
          },
          {
            title: "Events consumed",
            description: "Valid events handed to each consumer's sink and committed.",
            unit: "ops",
            queries: CONSUMERS.map(({ prefix, legend }) => ({ expr: `sum by (group) (rate(${prefix}_consumer_events_total[1m]))`, legend })),
          },
          {
            title: "Dead letters",
            description: "Undecodable messages sent to the dead-letter topic in the last 5 minutes.",
            unit: "short",
            queries: CONSUMERS.map(({ prefix, legend }) => ({ expr: `sum by (reason) (increase(${prefix}_consumer_dead_letters_total[5m]))`, legend: `${legend}: {{reason}}` })),
          },
          {
            title: "Producers: journal backlog",
            description: "Events on disk waiting for Kafka; they grow while the broker is unreachable and drain after.",
            unit: "short",
            queries: PRODUCERS.map((prefix) => ({ expr: `sum(${prefix}_events_journal_pending)`, legend: prefix })),
          },
          {
            title: "Producers: Kafka reachable",
            description: "1 while the producer's last send to Kafka succeeded.",
            unit: "short",
            queries: PRODUCERS.map((prefix) => ({ expr: `min(${prefix}_events_kafka_up)`, legend: prefix })),
          },
          {
            title: "Producers: events dropped",
            description: "Events given up on in the last 5 minutes, by reason (each drop is also logged).",
            unit: "short",
            queries: PRODUCERS.map((prefix) => ({ expr: `sum by (reason) (increase(${prefix}_events_dropped_total[5m]))`, legend: `${prefix}: {{reason}}` })),
          },
        ],
      },
      {
        title: "Offline store (event logger)",
        panels: [
          {
            title: "Events written and duplicates skipped",
            description: "Events appended and fsynced to the partitioned offline store, and redeliveries it recognised by id.",
            unit: "ops",
            queries: [
              { expr: `sum by (topic) (rate(event_logger_store_events_written_total[1m]))`, legend: "written: {{topic}}" },
              { expr: `sum(rate(event_logger_store_duplicates_skipped_total[1m]))`, legend: "duplicates skipped" },
            ],
          },
          {
            title: "Batch append + fsync",
            description: "Time to append and fsync one consumed batch.",
            unit: "s",
            queries: percentiles("event_logger_store_write_duration_seconds"),
          },
        ],
      },
      {
        title: "Drift",
        panels: [
          {
            title: `Feature PSI, time window (alert at ${inputs.psiThreshold})`,
            description: "PSI of each served feature over the last T seconds of decisions against the training reference.",
            unit: "none",
            queries: [{ expr: `max by (model, feature) (drift_monitor_feature_psi{window="time"})`, legend: "{{model}} {{feature}}" }],
            line: inputs.psiThreshold,
          },
          {
            title: "Drift alerts and retrain requests",
            description: "Feature alerts started and ml.retrain-request events published in the last hour.",
            unit: "short",
            queries: [
              { expr: `sum by (model) (increase(drift_monitor_alerts_total[1h]))`, legend: "alerts: {{model}}" },
              { expr: `sum by (model) (increase(drift_monitor_retrain_requests_total[1h]))`, legend: "retrain requests: {{model}}" },
            ],
          },
          {
            title: "Monitored decisions",
            description: "Events the drift monitor consumed, by type, and decisions it skipped (no model score).",
            unit: "ops",
            queries: [
              { expr: `sum by (type) (rate(drift_monitor_events_total[1m]))`, legend: "{{type}}" },
              { expr: `sum by (reason) (rate(drift_monitor_decisions_skipped_total[1m]))`, legend: "skipped: {{reason}}" },
            ],
          },
          {
            title: "Decisions waiting for a label",
            description: "Decisions held for the delayed-label join.",
            unit: "short",
            queries: [{ expr: `sum by (model) (drift_monitor_pending_predictions)`, legend: "{{model}}" }],
          },
        ],
      },
    ],
  };
}

/** File name (in infra/grafana/dashboards) -> dashboard JSON. */
export function buildDashboards(inputs: DashboardInputs): Record<string, Record<string, unknown>> {
  return {
    "fraud.json": dashboardJson(fraud(inputs)),
    "recommender.json": dashboardJson(recommender(inputs)),
    "platform.json": dashboardJson(platform(inputs)),
  };
}
