import { BaseConfigSchema, kafkaConfig, redisConfig } from "@mlsd/service-kit";
import { z } from "zod";

export const FeatureStreamerConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8087),
  ...redisConfig,
  ...kafkaConfig,
  /** Key namespace of the recommendation features (the recommender and ranker read it). */
  RECS_PREFIX: z.string().default("rx:"),
  /** Key namespace of the fraud features (the fraud service reads it). */
  FRAUD_PREFIX: z.string().default("fx:"),
  /** One group for all replicas: each event is applied once (and applying is idempotent anyway). */
  CONSUMER_GROUP: z.string().min(1).default("feature-streamer"),
  /** Event-time milliseconds per real millisecond of the run (keys expire in real time). */
  CLOCK_SPEED: z.coerce.number().positive().default(1),
});
export type FeatureStreamerConfig = z.infer<typeof FeatureStreamerConfigSchema>;
