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
