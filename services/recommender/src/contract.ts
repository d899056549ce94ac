import { RecommendationsRequestSchema as SharedRecommendationsRequestSchema, RecommendationsResponseSchema as SharedRecommendationsResponseSchema, RecsContextSchema } from "@mlsd/contracts";
import { z } from "zod";

/**
 * `POST /v1/recommendations` as this service takes it: the shared contract, plus `context.category`,
 * a content signal for users the models do not know yet (the page's category, a sign-up choice).
 */
export const RecommendationsRequestSchema = SharedRecommendationsRequestSchema.extend({
  context: RecsContextSchema.extend({
    category: z.number({ invalid_type_error: "must be an integer" }).int().min(0).max(65_535).optional(),
  })
    .strict()
    .optional(),
});
export type RecommendationsRequest = z.infer<typeof RecommendationsRequestSchema>;
export type RecommendationsRequestInput = z.input<typeof RecommendationsRequestSchema>;

/** The shared response plus the reason a fallback answered and each item's category. */
export const RecommendationsResponseSchema = SharedRecommendationsResponseSchema.extend({
  fallback: z.enum(["popularity", "popularity-category", "retrieval-order", "cold-start"]).nullable(),
  fallbackReason: z.string().nullable(),
  items: z.array(z.object({ itemId: z.string(), position: z.number().int().nonnegative(), score: z.number(), category: z.number().int().nullable() })),
});
export type RecommendationsResponse = z.infer<typeof RecommendationsResponseSchema>;
