import path from "node:path";
import { DEFAULT_WORLD_METRICS_PORT } from "@mlsd/world";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { POPULARITY_MODEL_NAME } from "@mlsd/model-formats/popularity";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";

/** Everything the demo starts, with the same start command as `npm start` in each service. */
/** Where the demo's supervisor keeps the services' pids (the service-killed drill reads it). */
export function pidsFile(dataDir: string): string {
  return path.join(dataDir, "pids.json");
}

export interface ServiceSpec {
  name: string;
  dir: string;
  port: number;
  env: Record<string, string>;
  /** What a user opens first. */
  explore: string[];
}

/** Bearer tokens the demo generates at start: the admin API, and the label and click writers. */
export interface DemoTokens {
  admin: string;
  labels: string;
  clicks: string;
}

/** The simulated clock every process of the run shares (service-kit's CLOCK_* settings). */
export interface DemoClock {
  /** World time at the origin, ISO. */
  start: string;
  /** Real epoch ms of the origin. */
  originMs: number;
  /** World ms per real ms. */
  speed: number;
}

export interface DemoSettings {
  root: string;
  /** The single Redis (a URL); unused with `cluster`. */
  redisUrl: string;
  kafkaBrokers: string;
  registryDir: string;
  dataDir: string;
  portBase?: number;
  tokens: DemoTokens;
  clock?: DemoClock;
  /**
   * Drift-monitor windows: a week of the world's scored transactions, judged only once nearly
   * full (the world's traffic has hours and weekdays; a part-filled window alarms on them).
   */
  driftWindow?: { events: number; minEvents: number; seconds: number };
  /** The Kafka broker's pid file when the demo started it as a local process (the kafka-down drill freezes it). */
  kafkaPidFile?: string;
  /** The recommender's click attribution window, in world ms (it must cover real queueing times the clock speed multiplies). */
  clickAttributionMs?: number;
  /** The cluster topology (`--topology cluster`): set, the services use the Redis Cluster and run fraud and the recommender as replicas behind the load balancer. */
  cluster?: DemoCluster;
}

export interface DemoCluster {
  /** `host:port,...` of the Redis Cluster's nodes (REDIS_CLUSTER_NODES). */
  redisClusterNodes: string;
  /** What `services-up --topology cluster` wrote: every node's address and pid file (the console's cluster drills kill and restart them). */
  topologyFile?: string;
  /** Replicas of fraud and of the recommender. */
  replicas: number;
  /** HAProxy's statistics page (the replica-killed drill reads when it marks a replica down and up). */
  loadBalancerStatsUrl: string;
}

/** The services that run as replicas behind the load balancer in the cluster topology; the balancer takes their usual ports. */
export const REPLICATED = ["fraud", "recommender"] as const;
export type ReplicatedService = (typeof REPLICATED)[number];

export const DEFAULT_PORTS = {
  recommender: 8080,
  fraud: 8081,
  retrieval: 8082,
  ranker: 8083,
  "event-logger": 8085,
  "drift-monitor": 8086,
  "feature-streamer": 8087,
  "retrain-controller": 8088,
  "rollout-controller": 8089,
  console: 8090,
  "fault-proxy": 8091,
} as const;
/**
 * The world's /metrics (its counters and the recs skew check): its own port after the services'
 * (8092), or with --port-base after the Redis proxy's.
 */
export function worldMetricsPort(s: Pick<DemoSettings, "portBase">): number {
  return s.portBase ? s.portBase + Object.keys(DEFAULT_PORTS).length + 1 : DEFAULT_WORLD_METRICS_PORT;
}
/** Where the services reach Redis: the fault proxy in front of it (the redis-slow drill delays it). */
export const DEFAULT_REDIS_PROXY_PORT = 6380;

/** Ports of the replicas (the balancer has the services' own): fraud-1 at base + 1, ..., recommender-1 at base + 11, ... */
const REPLICA_PORT_BASE = 8100;

export function servicePort(s: Pick<DemoSettings, "portBase">, name: keyof typeof DEFAULT_PORTS): number {
  return s.portBase ? s.portBase + Object.keys(DEFAULT_PORTS).indexOf(name) : DEFAULT_PORTS[name];
}

/** The replicas of `name` as the supervisor names them (`fraud-1`, ...), with their own ports. */
export function replicas(s: { portBase?: number | undefined; cluster?: Pick<DemoCluster, "replicas"> | undefined }, name: ReplicatedService): { name: string; port: number }[] {
  const base = (s.portBase ? s.portBase + 20 : REPLICA_PORT_BASE) + 10 * REPLICATED.indexOf(name);
  return Array.from({ length: s.cluster?.replicas ?? 0 }, (_, i) => ({ name: `${name}-${i + 1}`, port: base + i + 1 }));
}

/** The services in start order: dependencies first, so shutdown can go in reverse. */
export function servicePlan(s: DemoSettings): ServiceSpec[] {
  const port = (name: keyof typeof DEFAULT_PORTS) => servicePort(s, name);
  const clock: Record<string, string> = s.clock ? { CLOCK_START: s.clock.start, CLOCK_ORIGIN_MS: String(s.clock.originMs), CLOCK_SPEED: String(s.clock.speed) } : {};
  const redisProxyPort = s.portBase ? s.portBase + Object.keys(DEFAULT_PORTS).length : DEFAULT_REDIS_PROXY_PORT;
  const upstream = s.cluster ? null : new URL(s.redisUrl);
  // On the cluster the services talk to every node (a cluster client follows MOVED redirects to the
  // nodes' own addresses, so a proxy in front of one address would be bypassed): no fault proxy.
  const redis: Record<string, string> = s.cluster ? { REDIS_CLUSTER_NODES: s.cluster.redisClusterNodes } : { REDIS_URL: `redis://127.0.0.1:${redisProxyPort}` };
  const common = { ...redis, KAFKA_BROKERS: s.kafkaBrokers, MODEL_REGISTRY_DIR: s.registryDir, LOG_LEVEL: "warn", ADMIN_TOKEN: s.tokens.admin, ...clock };
  const window: Record<string, string> = s.driftWindow
    ? { COUNT_WINDOW_SIZE: String(s.driftWindow.events), MIN_WINDOW_EVENTS: String(s.driftWindow.minEvents), TIME_WINDOW_SECONDS: String(s.driftWindow.seconds), COUNT_EVALUATE_EVERY: "500", TIME_EVALUATE_EVERY: "500" }
    : { COUNT_WINDOW_SIZE: "1000", COUNT_EVALUATE_EVERY: "250" };
  const journal = (name: string) => path.join(s.dataDir, "journal", name);
  const url = (name: keyof typeof DEFAULT_PORTS) => `http://127.0.0.1:${port(name)}`;
  // A reload must reach every replica (through the balancer it would reach one).
  const each = (name: keyof typeof DEFAULT_PORTS) => ((REPLICATED as readonly string[]).includes(name) && s.cluster ? replicas(s, name as ReplicatedService).map((r) => `http://127.0.0.1:${r.port}`) : [url(name)]);
  const reloads = (pairs: [string, keyof typeof DEFAULT_PORTS][]) => pairs.flatMap(([key, name]) => each(name).map((u) => `${key}=${u}`)).join(",");
  const plan: ServiceSpec[] = [
    {
      // First: every service below reaches Redis through it (the trainer and the drills' CLIENT PAUSE go to Redis itself).
      name: "fault-proxy",
      dir: "services/fault-proxy",
      port: port("fault-proxy"),
      env: { UPSTREAM: upstream ? `${upstream.hostname}:${upstream.port || "6379"}` : "", PROXY_PORT: String(redisProxyPort), ADMIN_TOKEN: s.tokens.admin, LOG_LEVEL: "warn" } as Record<string, string>,
      explore: ["GET /v1/fault", `Redis through it at redis://127.0.0.1:${redisProxyPort}`],
    },
    { name: "event-logger", dir: "services/event-logger", port: port("event-logger"), env: { ...common, OFFLINE_STORE_DIR: path.join(s.dataDir, "offline-store") }, explore: ["GET /v1/stats"] },
    { name: "drift-monitor", dir: "services/drift-monitor", port: port("drift-monitor"), env: { ...common, EVENT_JOURNAL_DIR: journal("drift-monitor"), ...window }, explore: ["GET /v1/drift"] },
    { name: "feature-streamer", dir: "services/feature-streamer", port: port("feature-streamer"), env: { ...common }, explore: ["GET /v1/stats"] },
    {
      name: "fraud",
      dir: "services/fraud",
      port: port("fraud"),
      // The demo shares two cores with Redis, Kafka and the other services: a 3 ms feature
      // deadline would answer most of the world's transactions degraded, out of the drift monitor's sight.
      env: { ...common, EVENT_JOURNAL_DIR: journal("fraud"), LABEL_WRITER_TOKEN: s.tokens.labels, ...(s.clock ? { FEATURE_DEADLINE_MS: "25" } : {}) },
      explore: ["POST /v1/transactions/score", "POST /v1/labels", "GET /v1/model"],
    },
    { name: "retrieval", dir: "services/retrieval", port: port("retrieval"), env: { ...common }, explore: ["POST /v1/candidates", "GET /v1/model"] },
    { name: "ranker", dir: "services/ranker", port: port("ranker"), env: { ...common }, explore: ["POST /v1/rank", "GET /v1/model"] },
    {
      name: "retrain-controller",
      dir: "services/retrain-controller",
      port: port("retrain-controller"),
      env: {
        ...common,
        EVENT_JOURNAL_DIR: journal("retrain-controller"),
        OFFLINE_STORE_DIR: path.join(s.dataDir, "offline-store"),
        RELOAD_URLS: reloads([["fraud", "fraud"], ["recs", "ranker"]]),
        // A candidate goes through the rollout controller: shadow, canary, then current.
        PROMOTION: "rollout",
        ROLLOUT_URL: url("rollout-controller"),
      },
      explore: ["GET /v1/history", "POST /v1/retrain"],
    },
    {
      name: "rollout-controller",
      dir: "services/rollout-controller",
      port: port("rollout-controller"),
      env: {
        ...common,
        EVENT_JOURNAL_DIR: journal("rollout-controller"),
        // By registry model: the services that serve it reload after one of its aliases moves.
        RELOAD_URLS: reloads([[FRAUD_MODEL_NAME, "fraud"], [RETRIEVAL_MODEL_NAME, "retrieval"], [RANKER_MODEL_NAME, "ranker"], [POPULARITY_MODEL_NAME, "recommender"]]),
      },
      explore: ["GET /v1/rollouts", "POST /v1/rollouts", "GET /v1/models", "POST /v1/models/:model/promote (npm run model)"],
    },
    {
      name: "recommender",
      dir: "services/recommender",
      port: port("recommender"),
      env: {
        ...common,
        EVENT_JOURNAL_DIR: journal("recommender"),
        RETRIEVAL_URL: url("retrieval"),
        RANKER_URL: url("ranker"),
        CLICK_WRITER_TOKEN: s.tokens.clicks,
        ...(s.clickAttributionMs ? { CLICK_ATTRIBUTION_MS: String(s.clickAttributionMs) } : {}),
      },
      explore: ["POST /v1/recommendations", "POST /v1/events/click"],
    },
    {
      // Last: it watches everything above, and its page is where the demo ends.
      name: "console",
      dir: "services/console",
      port: port("console"),
      env: {
        LOG_LEVEL: "warn",
        ADMIN_TOKEN: s.tokens.admin,
        ...clock,
        // The console scrapes one process per service: on the cluster, the first replica (through
        // the balancer its counters would jump between replicas); its drills probe the balancer.
        SERVICE_URLS: (["recommender", "fraud", "retrieval", "ranker", "event-logger", "drift-monitor", "feature-streamer", "retrain-controller", "rollout-controller", "fault-proxy"] as const)
          .filter((name) => !(s.cluster && name === "fault-proxy"))
          .map((name) => `${name}=${each(name)[0]}`)
          .join(","),
        MODEL_REGISTRY_DIR: s.registryDir,
        DRILL_REPORTS_DIR: path.join(s.root, "docs", "drills"),
        DRILL_PIDS_FILE: pidsFile(s.dataDir),
        ...(s.cluster
          ? {
              ...(s.cluster.topologyFile ? { DRILL_CLUSTER_TOPOLOGY_FILE: s.cluster.topologyFile } : {}),
              DRILL_FRONT_URLS: REPLICATED.map((name) => `${name}=${url(name)}`).join(","),
              DRILL_LOAD_BALANCER_STATS_URL: s.cluster.loadBalancerStatsUrl,
              DRILL_OFFLINE_STORE_DIR: path.join(s.dataDir, "offline-store"),
            }
          : { DRILL_REDIS_URL: s.redisUrl, DRILL_REDIS_PROXY_URL: url("fault-proxy") }),
        ...(s.kafkaPidFile ? { DRILL_KAFKA_PID_FILE: s.kafkaPidFile } : {}),
      },
      explore: ["GET / (the control room)", "GET /api/overview", "npm run drill -- --list"],
    },
  ];
  const expanded = plan
    .filter((spec) => !(s.cluster && spec.name === "fault-proxy"))
    .flatMap((spec) => {
      if (!s.cluster || !(REPLICATED as readonly string[]).includes(spec.name)) return [spec];
      // Each replica its own port and its own producer journal (two processes cannot share one).
      return replicas(s, spec.name as ReplicatedService).map((r) => ({ ...spec, name: r.name, port: r.port, env: { ...spec.env, ...("EVENT_JOURNAL_DIR" in spec.env ? { EVENT_JOURNAL_DIR: journal(r.name) } : {}) } }));
    });
  return expanded.map((spec) => ({ ...spec, env: { ...spec.env, PORT: String(spec.port) } }));
}
