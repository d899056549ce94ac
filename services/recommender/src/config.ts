import { BaseConfigSchema, breakerConfig, clockConfig, eventJournalConfig, kafkaConfig, modelRegistryConfig, redisConfig, tokenSetting } from "@mlsd/service-kit";
import { z } from "zod";

export const RecommenderConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  ...redisConfig,
  /** Key namespace of the recommendation features (what the trainer materialised into). */
  REDIS_PREFIX: z.string().default("rx:"),
  /** Key namespace of the users' clicked-item lists. */
  HISTORY_PREFIX: z.string().default("rh:"),
  /** Key namespace of the answers served (what a click is checked against). */
  SERVED_PREFIX: z.string().default("rs:"),
  /** How long after an answer a click on it is accepted, in clock milliseconds. */
  CLICK_ATTRIBUTION_MS: z.coerce.number().int().positive().default(30 * 60_000),
  ...kafkaConfig,
  ...eventJournalConfig("recommender"),
  ...modelRegistryConfig,
  ...clockConfig,
  /** Bearer token of the systems that report clicks (the front end's back end). Unset: POST /v1/events/click answers 403. */
  CLICK_WRITER_TOKEN: tokenSetting,
  /**
   * `http`: retrieval and the ranker are services of their own, called at RETRIEVAL_URL and RANKER_URL.
   * `in-process`: their code runs here as libraries (@mlsd/retrieval, @mlsd/ranking) on the current
   * models of MODEL_REGISTRY_DIR, without the two HTTP hops; same answers, events and timings keys.
   */
  PIPELINE: z.enum(["http", "in-process"]).default("http"),
  RETRIEVAL_URL: z.string().url().default("http://127.0.0.1:8082"),
  RANKER_URL: z.string().url().default("http://127.0.0.1:8083"),
  /** The whole request; each stage gets the smaller of its own cap and what is left of this. */
  REQUEST_BUDGET_MS: z.coerce.number().positive().default(100),
  REDIS_DEADLINE_MS: z.coerce.number().positive().default(20),
  RETRIEVAL_DEADLINE_MS: z.coerce.number().positive().default(50),
  RANKER_DEADLINE_MS: z.coerce.number().positive().default(50),
  /** In-process only: the retrieval service's SEARCH_EF (HNSW candidate list; default the index's own). */
  SEARCH_EF: z.coerce.number().int().positive().optional(),
  /** In-process only: the ranker service's FEATURE_DEADLINE_MS and ITEM_BUCKETS (its Redis read of the candidates' features). */
  RANKER_FEATURE_DEADLINE_MS: z.coerce.number().positive().default(5),
  ITEM_BUCKETS: z.coerce.number().int().positive().default(32),
  CANDIDATES: z.coerce.number().int().min(1).max(1000).default(200),
  /** Share of model answers whose ranker feature rows go into recs.served (what training from the log reads). */
  SERVED_FEATURES_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  HISTORY_LENGTH: z.coerce.number().int().min(0).max(200).default(20),
  SEEN_LIMIT: z.coerce.number().int().min(0).max(1000).default(500),
  MAX_PER_CATEGORY: z.coerce.number().int().min(1).default(3),
  /** A per-user result cache: the last model answer replayed for this long (service-clock ms). 0: off. */
  RESULT_CACHE_TTL_MS: z.coerce.number().min(0).default(0),
  RESULT_CACHE_MAX_USERS: z.coerce.number().int().positive().default(100_000),
  COLD_START_CATEGORY_WEIGHT: z.coerce.number().min(0).max(1).default(0.7),
  /** Each dependency's breaker (Redis, retrieval, ranker): opens when half of its last 50 calls failed, once 10 have been made. */
  ...breakerConfig("BREAKER_", { failureRate: 0.5, minimumCalls: 10, windowSize: 50, cooldownMs: 1_000 }),
});
export type RecommenderConfig = z.infer<typeof RecommenderConfigSchema>;
