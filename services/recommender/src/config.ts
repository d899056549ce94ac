import { BaseConfigSchema } from "@mlsd/service-kit";
import { z } from "zod";

const csv = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

export const RecommenderConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /** Key namespace of the recommendation features (what the trainer materialised into). */
  REDIS_PREFIX: z.string().default("rx:"),
  /** Key namespace of the users' clicked-item lists. */
  HISTORY_PREFIX: z.string().default("rh:"),
  KAFKA_BROKERS: csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1, "at least one broker")),
  /** Where events wait on disk while Kafka is unreachable. */
  EVENT_JOURNAL_DIR: z.string().min(1).default(".data/journal/recommender"),
  RETRIEVAL_URL: z.string().url().default("http://127.0.0.1:8082"),
  RANKER_URL: z.string().url().default("http://127.0.0.1:8083"),
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  POPULARITY_ALIAS: z.string().min(1).default("current"),
  /** The whole request; each stage gets the smaller of its own cap and what is left of this. */
  REQUEST_BUDGET_MS: z.coerce.number().positive().default(100),
  REDIS_DEADLINE_MS: z.coerce.number().positive().default(20),
  RETRIEVAL_DEADLINE_MS: z.coerce.number().positive().default(50),
  RANKER_DEADLINE_MS: z.coerce.number().positive().default(50),
  CANDIDATES: z.coerce.number().int().min(1).max(1000).default(200),
  HISTORY_LENGTH: z.coerce.number().int().min(0).max(200).default(20),
  SEEN_LIMIT: z.coerce.number().int().min(0).max(1000).default(500),
  MAX_PER_CATEGORY: z.coerce.number().int().min(1).default(3),
  COLD_START_CATEGORY_WEIGHT: z.coerce.number().min(0).max(1).default(0.7),
  BREAKER_FAILURES: z.coerce.number().int().positive().default(5),
  BREAKER_COOLDOWN_MS: z.coerce.number().int().positive().default(2_000),
});
export type RecommenderConfig = z.infer<typeof RecommenderConfigSchema>;
