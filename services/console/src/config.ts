import { BaseConfigSchema, clockConfig, csvSetting, parseKeyedUrls } from "@mlsd/service-kit";
import { z } from "zod";

/** The processes the console knows how to read (their routes and metric names). */
export const KNOWN_SERVICES = ["recommender", "fraud", "retrieval", "ranker", "event-logger", "drift-monitor", "feature-streamer", "retrain-controller", "rollout-controller", "fault-proxy"] as const;
export type KnownService = (typeof KNOWN_SERVICES)[number];

export const ConsoleConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  ...clockConfig,
  /**
   * The services watched, as `name=url` pairs, e.g. `fraud=http://127.0.0.1:8081,recommender=http://127.0.0.1:8080`;
   * names from KNOWN_SERVICES, one URL each (the console reads one replica).
   */
  SERVICE_URLS: csvSetting.superRefine((entries, ctx) => {
    try {
      const urls = parseKeyedUrls(entries, { setting: "SERVICE_URLS", key: "service", keys: KNOWN_SERVICES });
      for (const [name, list] of urls) if (list.length > 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} is named ${list.length} times; the console reads one replica` });
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  }),
  /** Real milliseconds between two scrapes of every service. */
  SCRAPE_INTERVAL_MS: z.coerce.number().int().min(200).default(2_000),
  /** A service that does not answer a scrape within this many ms is shown as down. */
  SCRAPE_TIMEOUT_MS: z.coerce.number().int().positive().default(1_500),
  /** Rates and recent quantiles are computed over this many real seconds of scrapes. */
  WINDOW_SECONDS: z.coerce.number().positive().default(30),
  /** Requests the inspector sends wait this long for their answer. */
  INSPECT_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** The budgets drawn on the pipelines (the file the load generator gates on); default: packages/budgets/budgets.json. */
  BUDGETS_FILE: z.string().min(1).optional(),
  /** The lab's published claim results the walkthroughs cite (docs/claims/*.json); default: the repository's. */
  CLAIMS_DIR: z.string().min(1).optional(),
  /** Drills: the Redis the services use (redis-down pauses it). Unset: that drill answers 409. */
  DRILL_REDIS_URL: z.string().url().optional(),
  /** Drills: the registry the bad-model drill publishes its model into (the rollout controller's). Unset: that drill answers 409. */
  MODEL_REGISTRY_DIR: z.string().min(1).optional(),
  /** Drills: the pids file of the supervisor that runs the services and restarts them (service-killed kills one). Unset: that drill answers 409. */
  DRILL_PIDS_FILE: z.string().min(1).optional(),
  /** Drills: the admin URL of the fault proxy (services/fault-proxy) the services reach Redis through; redis-slow delays it. Unset: that drill answers 409. */
  DRILL_REDIS_PROXY_URL: z.string().url().optional(),
  /** Drills: the pid file of the Kafka broker the services use (scripts/services-up writes .data/pids/kafka.pid); kafka-down freezes it. Unset: that drill answers 409. */
  DRILL_KAFKA_PID_FILE: z.string().min(1).optional(),
  /**
   * Cluster drills: the file `services-up --topology cluster` writes (.data/cluster/topology.json):
   * every Redis node's and Kafka broker's address and pid file; redis-primary-killed and
   * kafka-broker-killed kill a node and start it again. Unset: those drills answer 409.
   */
  DRILL_CLUSTER_TOPOLOGY_FILE: z.string().min(1).optional(),
  /** Cluster drills: the load balancer's URLs of the replicated designs (`fraud=url,recommender=url`); their probes go through it. */
  DRILL_FRONT_URLS: csvSetting.superRefine((entries, ctx) => {
    try {
      const urls = parseKeyedUrls(entries, { setting: "DRILL_FRONT_URLS", key: "design", keys: ["fraud", "recommender"] });
      for (const [name, list] of urls) if (list.length > 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${name} is named ${list.length} times; one load balancer URL each` });
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  }),
  /** Cluster drills: HAProxy's statistics page (replica-killed reads when it marks the killed replica down and up). Unset: that drill answers 409. */
  DRILL_LOAD_BALANCER_STATS_URL: z.string().url().optional(),
  /** Cluster drills: the event logger's OFFLINE_STORE_DIR (kafka-broker-killed looks up its probe transactions' decisions there). Unset: that drill answers 409. */
  DRILL_OFFLINE_STORE_DIR: z.string().min(1).optional(),
  /** Drills: where `save: true` writes reports. */
  DRILL_REPORTS_DIR: z.string().min(1).default("docs/drills"),
});
export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;

/** SERVICE_URLS as a map from service name to its base URL (the schema has already checked it). */
export function serviceUrls(config: Pick<ConsoleConfig, "SERVICE_URLS">): Map<KnownService, string> {
  const out = new Map<KnownService, string>();
  for (const [name, [url]] of parseKeyedUrls(config.SERVICE_URLS, { setting: "SERVICE_URLS", key: "service", keys: KNOWN_SERVICES })) out.set(name as KnownService, url as string);
  return out;
}

/** DRILL_FRONT_URLS by design (the schema has already checked it). */
export function frontUrls(config: Pick<ConsoleConfig, "DRILL_FRONT_URLS">): Map<"fraud" | "recommender", string> {
  const out = new Map<"fraud" | "recommender", string>();
  for (const [name, [url]] of parseKeyedUrls(config.DRILL_FRONT_URLS, { setting: "DRILL_FRONT_URLS", key: "design", keys: ["fraud", "recommender"] })) out.set(name as "fraud" | "recommender", (url as string).replace(/\/$/, ""));
  return out;
}
