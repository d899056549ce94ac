import { BaseConfigSchema, eventJournalConfig, modelRegistryConfig, optionalKafkaConfig } from "@mlsd/service-kit";
import { z } from "zod";

export const RetrievalConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** Up to 1,000 history ids and 1,000 exclusions: about 40 KB. */
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(128 * 1024),
  ...modelRegistryConfig,
  /** Where shadow challengers' predictions are logged (opened on the first one); unset: they are not logged. */
  ...optionalKafkaConfig,
  ...eventJournalConfig("retrieval"),
  /**
   * `hnsw` or `ivf` searches the index the model carries, which must be of that kind (the trainer's
   * `--index` chose it); `exact` scans every item embedding instead: the reference, and the
   * fallback when the index is refused.
   */
  SEARCH: z.enum(["hnsw", "ivf", "exact"]).default("hnsw"),
  /** HNSW candidate list size; default: what the index was built with (the trainer's recall table says what it buys). */
  SEARCH_EF: z.coerce.number().int().positive().optional(),
  /** IVF lists scanned per query; default: the index's own nprobe (the trainer's recall table says what it buys). */
  SEARCH_NPROBE: z.coerce.number().int().positive().optional(),
});
export type RetrievalConfig = z.infer<typeof RetrievalConfigSchema>;

/** The settings with the check across them, as the service loads them (the object above keeps its shape for the deployment checks). */
export const CheckedRetrievalConfig = RetrievalConfigSchema.superRefine((config, ctx) => {
  // A knob for the other index would be silently ignored.
  if (config.SEARCH_EF !== undefined && config.SEARCH !== "hnsw") ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["SEARCH_EF"], message: `is HNSW's knob, but SEARCH is ${config.SEARCH}` });
  if (config.SEARCH_NPROBE !== undefined && config.SEARCH !== "ivf") ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["SEARCH_NPROBE"], message: `is IVF's knob, but SEARCH is ${config.SEARCH}` });
});
