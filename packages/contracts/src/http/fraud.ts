import { z } from "zod";
import { FraudDecisionSchema, FraudLabelSchema } from "../events/fraud";

const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, "only letters, digits and . _ : -");
const IsoTime = z
  .string()
  .datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2018-04-01T10:00:00Z" });

/** `POST /v1/transactions/score`. Unknown fields are refused: a typo must not pass silently. */
export const ScoreTransactionRequestSchema = z
  .object({
    transactionId: Id,
    customerId: Id,
    terminalId: Id,
    amount: z.number({ invalid_type_error: "must be a number" }).finite().nonnegative().max(1_000_000),
    /** The transaction's own time; features are computed as of it. Defaults to now. */
    time: IsoTime.optional(),
  })
  .strict();
export type ScoreTransactionRequest = z.infer<typeof ScoreTransactionRequestSchema>;

export const ReasonCodeSchema = z.object({
  feature: z.string(),
  value: z.number().nullable(),
  /** Contribution to the log-odds of fraud; positive pushes toward decline. */
  contribution: z.number(),
});
export type ReasonCode = z.infer<typeof ReasonCodeSchema>;

export const ScoreTransactionResponseSchema = z.object({
  transactionId: z.string(),
  score: z.number().min(0).max(1).nullable(),
  decision: FraudDecisionSchema,
  /** `fallback`: the feature store was unavailable and the degraded model scored request features only. */
  decidedBy: z.enum(["rules", "model", "fallback"]),
  rule: z.string().nullable(),
  thresholds: z.object({ review: z.number(), decline: z.number() }),
  reasons: z.array(ReasonCodeSchema),
  modelVersion: z.string(),
  degraded: z.boolean(),
  degradedReason: z.string().nullable(),
  /** True when this transaction id was scored before with the same fields: the stored answer, no state changed. */
  replayed: z.boolean(),
  timings: z.record(z.number()),
});
export type ScoreTransactionResponse = z.infer<typeof ScoreTransactionResponseSchema>;

/** `POST /v1/labels`: a chargeback or a confirmed fraud, possibly days after the transaction. */
export const SubmitLabelRequestSchema = z
  .object({
    transactionId: Id,
    customerId: Id,
    terminalId: Id,
    label: FraudLabelSchema,
    transactionTime: IsoTime,
    knownAt: IsoTime.optional(),
  })
  .strict()
  .refine((l) => l.knownAt === undefined || Date.parse(l.knownAt) >= Date.parse(l.transactionTime), {
    message: "must not be before transactionTime",
    path: ["knownAt"],
  });
export type SubmitLabelRequest = z.infer<typeof SubmitLabelRequestSchema>;
