import { DEFAULT_EVENTS_CLIENT, EVENTS_CLIENTS } from "@mlsd/events/client-names";
import { z } from "zod";
import { zodIssues } from "./errors";

const csv = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

/** A secret: long enough not to be guessed, and never echoed back in a config error. */
/** A bearer token; unset or empty (compose's `${VAR:-}`) means the role's routes answer 403. */
export const tokenSetting = z.preprocess((v) => (v === "" ? undefined : v), z.string().min(16, "must be at least 16 characters").optional());

/** Settings every service shares; a service extends this schema with its own and the fragments below. */
export const BaseConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535),
  HOST: z.string().default("127.0.0.1"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(64 * 1024),
  /** Bearer token of the admin API (model switches, reloads, rollout, drills). Unset: admin routes answer 403. */
  ADMIN_TOKEN: tokenSetting,
  /** Admitted requests in flight at once; past it a request is refused with 503 at once (load shedding). */
  MAX_IN_FLIGHT: z.coerce.number().int().positive().default(256),
  /** Refuse new work with 503 while the event loop runs this many ms late (0: off): a CPU-bound overload. */
  MAX_EVENT_LOOP_LAG_MS: z.coerce.number().min(0).default(0),
  /** Refuse new work with 503 while the event loop is busy more than this share of the time (0: off), before requests queue. */
  MAX_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0),
  MAX_CONNECTIONS: z.coerce.number().int().positive().default(1024),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
});
export type BaseConfig = z.infer<typeof BaseConfigSchema>;

/**
 * Config fragments: each setting a dependency needs, written once. A service spreads the ones it
 * uses into `BaseConfigSchema.extend({ ...redisConfig, ...kafkaConfig, ... })`.
 */
export const redisConfig = {
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * A Redis Cluster's nodes (`host:port,...`, any of them is enough to find the rest). Set, the
   * service talks to the cluster and REDIS_URL is not used.
   */
  REDIS_CLUSTER_NODES: csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "host:port"))),
};

/** The client the event producer sends with; both pass the same contract tests (packages/events). */
const eventsClient = z.enum(EVENTS_CLIENTS).default(DEFAULT_EVENTS_CLIENT);

export const kafkaConfig = {
  KAFKA_BROKERS: csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1, "at least one broker")),
  EVENTS_CLIENT: eventsClient,
};

/** For a service that publishes only optionally (shadow predictions): unset, it never connects and logs no events. */
export const optionalKafkaConfig = {
  KAFKA_BROKERS: csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "host:port"))),
  EVENTS_CLIENT: eventsClient,
};

/** For a consuming service: create missing topics at start-up (development; production topics are provisioned). "false" is false. */
export const ensureTopicsConfig = {
  ENSURE_TOPICS: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
};

/** Where a producing service's events wait on disk while Kafka is unreachable. */
export const eventJournalConfig = (service: string) => ({
  EVENT_JOURNAL_DIR: z.string().min(1).default(`.data/journal/${service}`),
});

export const modelRegistryConfig = {
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  /** The registry alias this service serves (the rollout moves aliases; services follow). */
  MODEL_ALIAS: z.string().min(1).default("current"),
};

/** Comma-separated values, empty by default. */
export const csvSetting = csv;

/**
 * `key=url` entries (a csvSetting's values) grouped by key, e.g. RELOAD_URLS
 * `fraud-gbdt=http://a:8081,ranker-gbdt=http://b:8083`; a key may repeat. With `keys`, any other
 * key is refused. The error names the setting and the entry.
 */
export function parseKeyedUrls(entries: readonly string[], options: { setting: string; key: string; keys?: readonly string[] }): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const allowed = options.keys ? ` (${options.keys.join(" or ")})` : "";
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? "" : entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim().replace(/\/$/, "");
    if (eq < 0 || key === "" || (options.keys && !options.keys.includes(key)) || !/^https?:\/\/[^\s/]+/.test(url)) {
      throw new RangeError(`${options.setting}: "${entry}" is not ${options.key}=url${allowed}`);
    }
    out.set(key, [...(out.get(key) ?? []), url]);
  }
  return out;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once and freezes the result. Every problem is listed, not only the
 * first, so a misconfigured deployment is fixed in one round.
 */
export function loadConfig<S extends z.ZodTypeAny>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(zodIssues(result.error).map((i) => `${i.field}: ${i.message}`));
  }
  return Object.freeze(result.data);
}

/** For `main.ts`: print every configuration problem and exit non-zero. */
export function loadConfigOrExit<S extends z.ZodTypeAny>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
