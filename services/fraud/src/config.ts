import { BaseConfigSchema, csvSetting, eventJournalConfig, kafkaConfig, modelRegistryConfig, redisConfig, tokenSetting } from "@mlsd/service-kit";
import { z } from "zod";

export const FraudConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  ...redisConfig,
  ...kafkaConfig,
  ...eventJournalConfig("fraud"),
  ...modelRegistryConfig,
  /** Bearer token of the systems that send labels (chargebacks, analysts). Unset: POST /v1/labels answers 403. */
  LABEL_WRITER_TOKEN: tokenSetting,
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
  BLOCKED_TERMINALS: csvSetting,
  REASON_CODES: z.coerce.number().int().min(0).max(19).default(3),
});
export type FraudConfig = z.infer<typeof FraudConfigSchema>;
