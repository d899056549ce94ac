import { BaseConfigSchema } from "@mlsd/service-kit";
import { z } from "zod";

const csv = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

export const FraudConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  KAFKA_BROKERS: csv.pipe(z.array(z.string().regex(/^[^:]+:\d+$/, "host:port")).min(1, "at least one broker")),
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  MODEL_ALIAS: z.string().min(1).default("current"),
  /** Where events wait on disk while Kafka is unreachable. */
  EVENT_JOURNAL_DIR: z.string().min(1).default(".data/journal/fraud"),
  /** Redis gets this long per request before the answer is computed without its features. */
  FEATURE_DEADLINE_MS: z.coerce.number().positive().default(3),
  /**
   * Consecutive feature-store failures (errors or missed deadlines) that open the breaker, and how
   * long it stays open. A few late answers under a burst should not degrade a whole second of
   * traffic: the breaker is for an outage, the deadline for a slow call.
   */
  FEATURE_BREAKER_FAILURES: z.coerce.number().int().positive().default(20),
  FEATURE_BREAKER_COOLDOWN_MS: z.coerce.number().int().positive().default(250),
  /** Hard rule: amounts above this are declined before any model runs. */
  RULE_MAX_AMOUNT: z.coerce.number().positive().default(10_000),
  /** Hard rule: terminals that are declined outright (comma-separated ids). */
  BLOCKED_TERMINALS: csv,
  REASON_CODES: z.coerce.number().int().min(0).max(19).default(3),
});
export type FraudConfig = z.infer<typeof FraudConfigSchema>;
