import path from "node:path";

/** Everything the demo starts, with the same start command as `npm start` in each service. */
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

export interface DemoSettings {
  root: string;
  redisUrl: string;
  kafkaBrokers: string;
  registryDir: string;
  dataDir: string;
  portBase?: number;
  tokens: DemoTokens;
}

export const DEFAULT_PORTS = {
  recommender: 8080,
  fraud: 8081,
  retrieval: 8082,
  ranker: 8083,
  "event-logger": 8085,
  "drift-monitor": 8086,
  "feature-streamer": 8087,
  "retrain-controller": 8088,
} as const;

/** The services in start order: dependencies first, so shutdown can go in reverse. */
export function servicePlan(s: DemoSettings): ServiceSpec[] {
  const port = (name: keyof typeof DEFAULT_PORTS) => (s.portBase ? s.portBase + Object.keys(DEFAULT_PORTS).indexOf(name) : DEFAULT_PORTS[name]);
  const common = { REDIS_URL: s.redisUrl, KAFKA_BROKERS: s.kafkaBrokers, MODEL_REGISTRY_DIR: s.registryDir, LOG_LEVEL: "warn", ADMIN_TOKEN: s.tokens.admin };
  const journal = (name: string) => path.join(s.dataDir, "journal", name);
  const url = (name: keyof typeof DEFAULT_PORTS) => `http://127.0.0.1:${port(name)}`;
  return [
    { name: "event-logger", dir: "services/event-logger", port: port("event-logger"), env: { ...common, OFFLINE_STORE_DIR: path.join(s.dataDir, "offline-store") }, explore: ["GET /v1/stats"] },
    { name: "drift-monitor", dir: "services/drift-monitor", port: port("drift-monitor"), env: { ...common, EVENT_JOURNAL_DIR: journal("drift-monitor"), COUNT_WINDOW_SIZE: "1000", COUNT_EVALUATE_EVERY: "250" }, explore: ["GET /v1/drift"] },
    { name: "feature-streamer", dir: "services/feature-streamer", port: port("feature-streamer"), env: { ...common }, explore: ["GET /v1/stats"] },
    { name: "fraud", dir: "services/fraud", port: port("fraud"), env: { ...common, EVENT_JOURNAL_DIR: journal("fraud"), LABEL_WRITER_TOKEN: s.tokens.labels }, explore: ["POST /v1/transactions/score", "POST /v1/labels", "GET /v1/model"] },
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
        RELOAD_URLS: `fraud=${url("fraud")},recs=${url("ranker")}`,
      },
      explore: ["GET /v1/history", "POST /v1/retrain"],
    },
    {
      name: "recommender",
      dir: "services/recommender",
      port: port("recommender"),
      env: { ...common, EVENT_JOURNAL_DIR: journal("recommender"), RETRIEVAL_URL: url("retrieval"), RANKER_URL: url("ranker"), CLICK_WRITER_TOKEN: s.tokens.clicks },
      explore: ["POST /v1/recommendations", "POST /v1/events/click"],
    },
  ].map((spec) => ({ ...spec, env: { ...spec.env, PORT: String(spec.port) } }));
}
