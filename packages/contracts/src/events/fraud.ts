import { z } from "zod";
import { IsoTimeSchema } from "../envelope";
import { ArmSchema, EntityIdSchema, FeatureVectorSchema } from "./common";

/** The raw transaction, with the fields of the Fraud Detection Handbook's simulated data set. */
export const TransactionPayloadSchema = z.object({
  transactionId: EntityIdSchema,
  customerId: EntityIdSchema,
  terminalId: EntityIdSchema,
  amount: z.number().finite().nonnegative(),
  time: IsoTimeSchema,
});
export type TransactionPayload = z.infer<typeof TransactionPayloadSchema>;

export const FraudDecisionSchema = z.enum(["approve", "review", "decline"]);
export type FraudDecision = z.infer<typeof FraudDecisionSchema>;

export const FraudDecisionPayloadSchema = z.object({
  transactionId: EntityIdSchema,
  customerId: EntityIdSchema,
  terminalId: EntityIdSchema,
  /** The exact feature vector the model scored: training-serving skew is measured against it. */
  features: FeatureVectorSchema,
  score: z.number().min(0).max(1),
  threshold: z.number().min(0).max(1),
  decision: FraudDecisionSchema,
  /** What made the decision: a hard rule, the model, or a fallback when the model was unavailable. */
  decidedBy: z.enum(["rules", "model", "fallback"]),
  modelVersion: z.string().min(1),
  reasonCodes: z.array(z.string().min(1)),
  /** v2: which arm answered (v1 events were all the model in service). */
  arm: ArmSchema.default("current"),
  /** v2: the service's time to answer, ms (rollout guardrails compare arms on it); null in v1 events. */
  latencyMs: z.number().nonnegative().nullable().default(null),
});
export type FraudDecisionPayload = z.infer<typeof FraudDecisionPayloadSchema>;

export const FraudLabelSchema = z.enum(["fraud_confirmed", "chargeback", "legitimate"]);
export type FraudLabel = z.infer<typeof FraudLabelSchema>;

/**
 * A label arrives days after the transaction; `knownAt` is when it became known, so point-in-time
 * training and delayed-label monitoring never use a label before it existed.
 */
export const LabelPayloadSchema = z
  .object({
    transactionId: EntityIdSchema,
    customerId: EntityIdSchema,
    terminalId: EntityIdSchema,
    label: FraudLabelSchema,
    transactionTime: IsoTimeSchema,
    knownAt: IsoTimeSchema,
  })
  .refine((p) => Date.parse(p.knownAt) >= Date.parse(p.transactionTime), {
    message: "must not be before transactionTime",
    path: ["knownAt"],
  });
export type LabelPayload = z.infer<typeof LabelPayloadSchema>;
