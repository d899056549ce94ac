import { BaseConfigSchema, breakerConfig, clockConfig, csvSetting, eventJournalConfig, kafkaConfig, modelRegistryConfig, redisConfig, tokenSetting } from "@mlsd/service-kit";
import { z } from "zod";

export const FraudConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  ...redisConfig,
  ...kafkaConfig,
  ...eventJournalConfig("fraud"),
  ...modelRegistryConfig,
  ...clockConfig,
  /** Bearer token of the systems that send labels (chargebacks, analysts). Unset: POST /v1/labels answers 403. */
  LABEL_WRITER_TOKEN: tokenSetting,
  /** Redis gets this long per request before the answer is computed without its features. */
  FEATURE_DEADLINE_MS: z.coerce.number().positive().default(3),
  /**
   * The feature-store breaker opens when half of the last 100 calls failed (errors or missed
   * deadlines), once 20 have been made, for 250 ms. A few late answers under a burst do not
   * degrade a healthy system: the breaker is for an outage, the deadline for a slow call.
   */
  ...breakerConfig("FEATURE_BREAKER_", { failureRate: 0.5, minimumCalls: 20, windowSize: 100, cooldownMs: 250 }),
  /** How long a label may wait for the feature store to confirm the transaction it names. */
  LABEL_CHECK_DEADLINE_MS: z.coerce.number().positive().default(200),
  /** Hard rule: amounts above this are declined before any model runs. */
  RULE_MAX_AMOUNT: z.coerce.number().positive().default(10_000),
  /** Hard rule: terminals that are declined outright (comma-separated ids). */
  BLOCKED_TERMINALS: csvSetting,
  REASON_CODES: z.coerce.number().int().min(0).max(19).default(3),
});
export type FraudConfig = z.infer<typeof FraudConfigSchema>;
