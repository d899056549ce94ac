import { z } from "zod";
import { IsoTimeSchema } from "../envelope";
import { EntityIdSchema } from "./common";
import { FraudDecisionSchema } from "./fraud";

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

/** What moved a registry alias: a publication, an operator's or a controller's decision. */
export const ModelAliasActionSchema = z.enum(["publish", "promote", "rollback", "pin", "unpin", "set"]);
export type ModelAliasAction = z.infer<typeof ModelAliasActionSchema>;

const AliasPinSchema = z.object({ by: z.string().min(1), reason: z.string().min(1), at: IsoTimeSchema });

/**
 * One registry alias moved (or was pinned, unpinned): the same record as the line the registry
 * appended to the model's alias history, so the log of moves and the history agree.
 */
export const ModelAliasMovedPayloadSchema = z.object({
  model: z.string().min(1),
  alias: z.string().min(1),
  /** The version it pointed at before; null when the alias is new. */
  from: z.string().min(1).nullable(),
  /** The version it points at now; null when the alias was removed (a promoted candidate). */
  to: z.string().min(1).nullable(),
  at: IsoTimeSchema,
  /** Who: the token role and actor (`admin:alice`), or the controller's name. */
  by: z.string().min(1),
  reason: z.string().min(1),
  action: ModelAliasActionSchema,
  /** A controller's move (pins refuse those) rather than an operator's. */
  automatic: z.boolean(),
  /** The pin an operator's explicit move went past. */
  overrodePin: AliasPinSchema.nullable(),
  /** Compatibility checks that failed and were overridden (a forced promotion, a rollback). */
  overrodeChecks: z.array(z.string()).nullable(),
});
export type ModelAliasMovedPayload = z.infer<typeof ModelAliasMovedPayloadSchema>;

/**
 * A shadow challenger's prediction beside the one that answered, produced after the answer was
 * sent (a shadow never adds to the answer's latency). The rollout controller compares the two on
 * the same requests once the truth arrives (labels, clicks, the world's relevance).
 */
export const ShadowPredictionSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("fraud"),
    serving: z.object({ probability: z.number().min(0).max(1), decision: FraudDecisionSchema }),
    shadow: z.object({ probability: z.number().min(0).max(1), decision: FraudDecisionSchema }),
  }),
  z.object({
    kind: z.literal("ranking"),
    /** The items the answer returned, in its order, with both models' scores (higher ranks first). */
    items: z.array(z.object({ itemId: EntityIdSchema, serving: z.number().finite(), shadow: z.number().finite() })),
  }),
  z.object({
    kind: z.literal("candidates"),
    /** Each model's candidate ids, best first. */
    serving: z.array(EntityIdSchema),
    shadow: z.array(EntityIdSchema),
  }),
]);
export type ShadowPrediction = z.infer<typeof ShadowPredictionSchema>;

export const ShadowPredictionPayloadSchema = z.object({
  model: z.string().min(1),
  /** Joins to the answer's events: the recommendation's requestId, the transaction id. */
  requestId: EntityIdSchema,
  /** The user or card the request was about (the partition key). */
  entityId: EntityIdSchema,
  servingVersion: z.string().min(1),
  shadowVersion: z.string().min(1),
  /** The challenger's own compute time, ms, and the serving model's for the same work. */
  shadowMs: z.number().nonnegative(),
  servingMs: z.number().nonnegative(),
  /** Null when the challenger failed (then `error` says why). */
  prediction: ShadowPredictionSchema.nullable(),
  error: z.string().nullable(),
});
export type ShadowPredictionPayload = z.infer<typeof ShadowPredictionPayloadSchema>;

export const RolloutStageSchema = z.enum(["shadow", "canary", "ab"]);
export const RolloutActionSchema = z.enum(["started", "advance", "promote", "hold", "rollback", "aborted", "failed"]);

/**
 * One step of a rollout: where the candidate was, what was decided and the numbers behind it (the
 * sequential test on the primary metric, each guardrail), and how many requests and users the
 * challenger had answered by then.
 */
export const RolloutDecisionPayloadSchema = z.object({
  rolloutId: z.string().min(1),
  model: z.string().min(1),
  candidateVersion: z.string().min(1),
  currentVersion: z.string().min(1),
  stage: RolloutStageSchema,
  action: RolloutActionSchema,
  nextStage: RolloutStageSchema.nullable(),
  primaryMetric: z.string(),
  reasons: z.array(z.string()),
  numbers: z.record(z.string(), z.number().finite().nullable()),
  guardrails: z.array(
    z.object({ name: z.string().min(1), status: z.enum(["holds", "breached", "insufficient-data"]), value: z.number().finite().nullable(), threshold: z.number().finite().nullable(), detail: z.string() }),
  ),
  /** What the challenger answered in this stage and in the whole rollout (requests, distinct users or cards). */
  exposure: z.object({ stageRequests: z.number().int().nonnegative(), stageUnits: z.number().int().nonnegative(), totalRequests: z.number().int().nonnegative(), totalUnits: z.number().int().nonnegative() }),
  /** Clock ms since the stage started (the service clock, scaled in simulations). */
  stageElapsedMs: z.number().nonnegative(),
  by: z.string().min(1),
});
export type RolloutDecisionPayload = z.infer<typeof RolloutDecisionPayloadSchema>;
