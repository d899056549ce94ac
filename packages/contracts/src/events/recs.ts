import { z } from "zod";
import { AppliedOffsetsSchema, ArmSchema, EntityIdSchema, FeatureVectorSchema, ModelVersionsSchema } from "./common";

/** One item shown to one user in one response; `position` is 0-based (position-bias studies need it). */
export const ImpressionPayloadSchema = z.object({
  requestId: EntityIdSchema,
  userId: EntityIdSchema,
  itemId: EntityIdSchema,
  position: z.number().int().nonnegative(),
  modelVersions: ModelVersionsSchema,
});
export type ImpressionPayload = z.infer<typeof ImpressionPayloadSchema>;

export const ClickPayloadSchema = z.object({
  requestId: EntityIdSchema,
  userId: EntityIdSchema,
  itemId: EntityIdSchema,
  position: z.number().int().nonnegative(),
});
export type ClickPayload = z.infer<typeof ClickPayloadSchema>;

export const ServedItemSchema = z.object({
  itemId: EntityIdSchema,
  position: z.number().int().nonnegative(),
  score: z.number().finite(),
  /** The ranker's input row for this item, as served: the offline store trains on exactly this. */
  features: FeatureVectorSchema,
  /** v3: what the item's features had applied of the event streams when the ranker read them (absent: not known). */
  applied: AppliedOffsetsSchema.optional(),
});
export type ServedItem = z.infer<typeof ServedItemSchema>;

/** A whole response: what was ranked, with which features and models, and whether a fallback answered. */
export const ServedPayloadSchema = z.object({
  requestId: EntityIdSchema,
  userId: EntityIdSchema,
  modelVersions: ModelVersionsSchema,
  /** The reason a fallback answered (e.g. "retrieval_timeout"), or null when the models did. */
  fallback: z.string().min(1).nullable(),
  userFeatures: FeatureVectorSchema,
  items: z.array(ServedItemSchema),
  /** v2: which arm of each stage answered, e.g. `{ retrieval: "current", ranker: "challenger" }` (v1: none recorded). */
  arms: z.record(z.string().min(1), ArmSchema).default({}),
  /** v2: the recommender's time to answer, ms; null in v1 events. */
  latencyMs: z.number().nonnegative().nullable().default(null),
  /** v3: what the user's state had applied when the recommender read `userFeatures` (absent: not known). */
  userApplied: AppliedOffsetsSchema.optional(),
  /** v3: what the user's state had applied when the ranker read it for the items' rows (absent: not known). */
  rowsUserApplied: AppliedOffsetsSchema.optional(),
});
export type ServedPayload = z.infer<typeof ServedPayloadSchema>;
