import { BaseConfigSchema, breakerConfig, modelRegistryConfig, redisConfig } from "@mlsd/service-kit";
import { z } from "zod";

export const RankerConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  /** A rank request with 1,000 candidates is about 50 KB. */
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  ...redisConfig,
  /** Key namespace of the recommendation features (what the trainer materialised into). */
  REDIS_PREFIX: z.string().default("rx:"),
  /** Item buckets of the Redis layout; must match what was materialised (checked at connect). */
  ITEM_BUCKETS: z.coerce.number().int().positive().default(32),
  ...modelRegistryConfig,
  /** Redis gets this long per request before the candidates are ranked by their retrieval scores. */
  FEATURE_DEADLINE_MS: z.coerce.number().positive().default(5),
  /** Local item-feature cache: entries kept, and how stale their counters may get (0 turns it off). */
  ITEM_CACHE_SIZE: z.coerce.number().int().positive().default(50_000),
  ITEM_CACHE_TTL_MS: z.coerce.number().int().min(0).default(0),
  /** The feature-store breaker: opens when half of the last 50 reads failed, once 10 have been made, for 1 s. */
  ...breakerConfig("BREAKER_", { failureRate: 0.5, minimumCalls: 10, windowSize: 50, cooldownMs: 1_000 }),
});
export type RankerConfig = z.infer<typeof RankerConfigSchema>;
