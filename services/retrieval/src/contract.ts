import { CandidatesRequestSchema as SharedCandidatesRequestSchema, CandidatesResponseSchema as SharedCandidatesResponseSchema, RecsContextSchema } from "@mlsd/contracts";
import { z } from "zod";

const ItemId = SharedCandidatesRequestSchema.shape.userId;

/** Device names in the order of their numeric code (the synthetic world's device ids). */
export const RECS_DEVICE_NAMES_FOR_RETRIEVAL: readonly string[] = RecsContextSchema.shape.device.unwrap().options;

/**
 * `POST /v1/candidates` as this service takes it: the shared contract plus what the caller may
 * know better than the model's snapshot. `history` is the user's latest item ids (most recent
 * first; the recommender reads it from Redis, fresher than the training data), `features` the
 * user tower's inputs by name (GET /v1/model lists them; unknown names are reported back in
 * `ignoredFeatures`, not refused, so one caller can serve models with different inputs).
 */
export const CandidatesRequestSchema = SharedCandidatesRequestSchema.extend({
  history: z.array(ItemId).max(200, "at most 200 items").optional(),
  features: z.record(z.number({ invalid_type_error: "must be a number" }).finite()).optional(),
});
export type CandidatesRequest = z.infer<typeof CandidatesRequestSchema>;
export type CandidatesRequestInput = z.input<typeof CandidatesRequestSchema>;

/** The shared answer plus each candidate's category (from the catalogue the model was trained with) and how the user was encoded. */
export const CandidatesResponseSchema = SharedCandidatesResponseSchema.extend({
  candidates: z.array(z.object({ itemId: z.string(), score: z.number(), category: z.number().int().nullable() })),
  userKnown: z.boolean(),
  historyUsed: z.number().int().nonnegative(),
  ignoredFeatures: z.array(z.string()),
});
export type CandidatesResponse = z.infer<typeof CandidatesResponseSchema>;
