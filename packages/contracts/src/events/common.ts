import { z } from "zod";

export const EntityIdSchema = z.string().min(1).max(256);

/**
 * Feature values exactly as the model saw them; `null` marks a missing value (JSON has no NaN), which
 * is what tree models branch on, so it must survive the trip to the offline store.
 */
export const FeatureVectorSchema = z.record(z.string().min(1), z.number().finite().nullable());
export type FeatureVector = z.infer<typeof FeatureVectorSchema>;

/**
 * What an online feature state had applied when it was read: per source stream (a short id such as
 * `i3`, the impressions topic's partition 3), the highest log offset applied to that entity. An
 * offline replay of exactly the logged events at or below these offsets rebuilds the same state.
 */
export const AppliedOffsetsSchema = z.record(z.string().min(1), z.number().int().nonnegative());
export type AppliedOffsets = z.infer<typeof AppliedOffsetsSchema>;

/**
 * Which of a service's models answered: the one in service (`current`) or the challenger a rollout
 * is trying (canary or A/B). A shadow challenger never answers, so it never appears here.
 */
export const ArmSchema = z.enum(["current", "challenger"]);
export type Arm = z.infer<typeof ArmSchema>;

/** Which model version produced each stage's output, e.g. `{ retrieval: "two-tower@3", ranker: "gbdt@7" }`. */
export const ModelVersionsSchema = z
  .record(z.string().min(1), z.string().min(1))
  .refine((versions) => Object.keys(versions).length > 0, { message: "must name at least one model" });
export type ModelVersions = z.infer<typeof ModelVersionsSchema>;
