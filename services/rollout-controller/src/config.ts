import { BaseConfigSchema, clockConfig, csvSetting, ensureTopicsConfig, eventJournalConfig, kafkaConfig, parseKeyedUrls } from "@mlsd/service-kit";
import { rolloutConfig } from "./rollout-config";
import { z } from "zod";

/** `RELOAD_URLS` entries are `<model>=<service url>`; a model served by several services repeats. */
export const RELOAD_URLS_FORMAT = { setting: "RELOAD_URLS", key: "model" } as const;

export const RolloutControllerConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8089),
  ...kafkaConfig,
  ...eventJournalConfig("rollout-controller"),
  ...clockConfig,
  ...rolloutConfig,
  /**
   * The controller runs as one instance (its rollouts live in memory) and needs the whole log: a
   * second instance in the same group would split the partitions between them, so give it its own.
   */
  CONSUMER_GROUP: z.string().min(1).default("rollout-controller"),
  ...ensureTopicsConfig,
  /** The registry this controller moves aliases in (read-write). */
  MODEL_REGISTRY_DIR: z.string().min(1).default("artifacts/registry"),
  /**
   * The services serving each model, with ADMIN_TOKEN: told to reload after an alias of their model
   * moves, and where a rollout sets the challenger's arm. A model served by several replicas repeats:
   * `fraud-gbdt=http://fraud:8081,ranker-gbdt=http://ranker:8083,retrieval=http://retrieval:8082`.
   */
  RELOAD_URLS: csvSetting.superRefine((entries, ctx) => {
    try {
      parseKeyedUrls(entries, RELOAD_URLS_FORMAT);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  }),
  /** How long one service may take to reload (a big retrieval index takes seconds). */
  RELOAD_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
});
export type RolloutControllerConfig = z.infer<typeof RolloutControllerConfigSchema>;
