import { ALL_TOPICS, DEAD_LETTER_TOPIC } from "@mlsd/contracts";
import { BaseConfigSchema, csvSetting, kafkaConfig, ensureTopicsConfig } from "@mlsd/service-kit";
import { z } from "zod";

/**
 * Every event topic; the dead-letter topic holds records that are not events, so it is not logged
 * here. The simulated world's ground truth (`world.*`, WORLD_TOPICS) is logged too, in its own
 * topic folders, so online evaluation can join it to what was served; training and features must
 * never read it.
 */
export const DEFAULT_LOGGED_TOPICS = ALL_TOPICS.filter((t) => t !== DEAD_LETTER_TOPIC);

export const EventLoggerConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8085),
  ...kafkaConfig,
  KAFKA_CLIENT_ID: z.string().min(1).default("event-logger"),
  CONSUMER_GROUP: z.string().min(1).default("event-logger"),
  /** Comma-separated topics; all event topics by default. */
  TOPICS: csvSetting
    .transform((topics) => (topics.length > 0 ? topics : [...DEFAULT_LOGGED_TOPICS]))
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a Kafka topic name"))
        // Its records are not events: each would be dead-lettered again, forever.
        .refine((topics) => !topics.includes(DEAD_LETTER_TOPIC), { message: `must not include the dead-letter topic ${DEAD_LETTER_TOPIC}` }),
    ),
  OFFLINE_STORE_DIR: z.string().min(1).default(".data/offline-store"),
  /** Partition-hours whose id sets stay in memory (dedup stays exact beyond it, at the cost of a re-scan). */
  STORE_CACHED_PARTITIONS: z.coerce.number().int().positive().default(48),
  STORE_MAX_PART_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  ...ensureTopicsConfig,
  LAG_INTERVAL_MS: z.coerce.number().int().positive().default(5_000),
});
export type EventLoggerConfig = z.infer<typeof EventLoggerConfigSchema>;

/** What the replay command needs from the environment (the rest comes from its flags). */
export const ReplayConfigSchema = EventLoggerConfigSchema.pick({
  KAFKA_BROKERS: true,
  KAFKA_CLIENT_ID: true,
  OFFLINE_STORE_DIR: true,
  STORE_CACHED_PARTITIONS: true,
  STORE_MAX_PART_BYTES: true,
  LOG_LEVEL: true,
});
export type ReplayConfig = z.infer<typeof ReplayConfigSchema>;
