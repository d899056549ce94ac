import { BaseConfigSchema, clockConfig, csvSetting, eventJournalConfig, kafkaConfig } from "@mlsd/service-kit";
import { z } from "zod";

export const RetrainControllerConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8088),
  ...kafkaConfig,
  ...eventJournalConfig("retrain-controller"),
  ...clockConfig,
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  /** The event logger's offline store: what training from the log reads. */
  OFFLINE_STORE_DIR: z.string().min(1).default(".data/offline-store"),
  /** One group for all replicas: a request is acted on once. */
  CONSUMER_GROUP: z.string().min(1).default("retrain-controller"),
  /** The designs this controller retrains (fraud, recs). */
  DESIGNS: csvSetting.pipe(z.array(z.enum(["fraud", "recs"])).min(1, "at least one design")).default("fraud,recs"),
  /** Retrain each design every this many clock hours (0: only on a trigger). */
  SCHEDULE_EVERY_HOURS: z.coerce.number().min(0).default(0),
  /** After a retrain, further requests for the same model within this many clock hours are one episode (debounced). */
  DEBOUNCE_HOURS: z.coerce.number().min(0).default(24),
  /**
   * What happens to a candidate: `if-better` promotes it to current when it beats the model in
   * service on the same rows (and tells the services to reload); `rollout` hands it to the rollout
   * controller (shadow, canary, then current); `never` only registers it.
   */
  PROMOTION: z.enum(["if-better", "rollout", "never"]).default("if-better"),
  /** Services to reload after a promotion, by design: `fraud=http://...,recs=http://...` (admin token from ADMIN_TOKEN). */
  RELOAD_URLS: csvSetting.default(""),
  /** Training windows, in clock days. */
  TRAIN_DAYS: z.coerce.number().positive().default(14),
  GAP_DAYS: z.coerce.number().min(0).default(1),
  EVAL_DAYS: z.coerce.number().positive().default(3),
  LABEL_HORIZON_DAYS: z.coerce.number().min(0).default(7),
  /** A training run that takes longer than this (real ms) is stopped and counted as failed. */
  TRAINING_TIMEOUT_MS: z.coerce.number().int().positive().default(30 * 60_000),
});
export type RetrainControllerConfig = z.infer<typeof RetrainControllerConfigSchema>;
