import { z } from "zod";
import { IsoTimeSchema } from "../envelope";

export const DriftStatisticSchema = z.enum(["psi", "ks", "js", "chi2"]);

export const DriftFindingSchema = z.object({
  feature: z.string().min(1),
  statistic: DriftStatisticSchema,
  value: z.number().finite(),
  threshold: z.number().finite(),
  /** Present for tests of significance (KS, chi-squared); PSI has none. */
  pValue: z.number().min(0).max(1).nullable(),
  breached: z.boolean(),
});
export type DriftFinding = z.infer<typeof DriftFindingSchema>;

export const DriftSummarySchema = z.object({
  /** The reference the live window was compared with, e.g. the training data's histogram id. */
  reference: z.string().min(1),
  windowStart: IsoTimeSchema,
  windowEnd: IsoTimeSchema,
  findings: z.array(DriftFindingSchema),
});
export type DriftSummary = z.infer<typeof DriftSummarySchema>;

export const RetrainReasonSchema = z.enum(["drift", "performance", "schedule", "manual"]);

export const RetrainRequestPayloadSchema = z
  .object({
    model: z.string().min(1),
    reason: RetrainReasonSchema,
    requestedBy: z.string().min(1),
    driftSummary: DriftSummarySchema.nullable(),
  })
  .refine((p) => p.reason !== "drift" || p.driftSummary !== null, {
    message: "is required when reason is drift",
    path: ["driftSummary"],
  });
export type RetrainRequestPayload = z.infer<typeof RetrainRequestPayloadSchema>;

/**
 * What the retrain controller did with a retrain request or a scheduled run: the candidate it
 * trained, how it compared with the model in service on the same rows, and the decision.
 */
export const RetrainDecisionSchema = z.enum(["promoted", "held", "handed-to-rollout", "debounced", "failed"]);
export type RetrainDecision = z.infer<typeof RetrainDecisionSchema>;

export const RetrainDecisionPayloadSchema = z.object({
  model: z.string().min(1),
  trigger: RetrainReasonSchema,
  decision: RetrainDecisionSchema,
  /** The candidate's registry version; null when nothing was trained (debounced, failed). */
  candidateVersion: z.string().min(1).nullable(),
  /** The version in service when the decision was taken. */
  baselineVersion: z.string().min(1).nullable(),
  /** The primary metric of each on the same evaluation rows (e.g. cost, NDCG@10), when trained. */
  candidateMetric: z.number().finite().nullable(),
  baselineMetric: z.number().finite().nullable(),
  metric: z.string().min(1).nullable(),
  reason: z.string(),
  durationMs: z.number().nonnegative(),
});
export type RetrainDecisionPayload = z.infer<typeof RetrainDecisionPayloadSchema>;
