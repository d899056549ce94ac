import { BaseConfigSchema, modelRegistryConfig } from "@mlsd/service-kit";
import { z } from "zod";

export const RetrievalConfigSchema = BaseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** Up to 1,000 history ids and 1,000 exclusions: about 40 KB. */
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(128 * 1024),
  ...modelRegistryConfig,
  /** `exact` scans every item embedding instead of the HNSW graph: the reference, and the fallback when the index is refused. */
  SEARCH: z.enum(["hnsw", "exact"]).default("hnsw"),
  /** HNSW candidate list size; default: what the index was built with (the trainer's recall table says what it buys). */
  SEARCH_EF: z.coerce.number().int().positive().optional(),
});
export type RetrievalConfig = z.infer<typeof RetrievalConfigSchema>;
