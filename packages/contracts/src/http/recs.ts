import { z } from "zod";
import { AppliedOffsetsSchema, ArmSchema } from "../events/common";

const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, "only letters, digits and . _ : -");
const IsoTime = z
  .string()
  .datetime({ offset: true, message: "must be an ISO 8601 date-time, e.g. 2024-01-01T10:00:00Z" });
const Score = z.number({ invalid_type_error: "must be a number" }).finite();
const Timings = z.record(z.number());

/** Most candidates one ranking call may carry; a request above it is refused, not truncated. */
export const MAX_RANK_CANDIDATES = 1000;
/** Most items one response may return. */
export const MAX_K = 100;

/** Device names; their index is the device's numeric code in the synthetic world and the models. */
export const RECS_DEVICES = ["mobile", "desktop", "tablet"] as const;

/**
 * What the request says about its circumstances. `time` is when the request happens (features
 * such as item age are computed as of it; defaults to now); `hour` overrides the hour read from
 * `time` (the caller's local hour); `category` is a content signal for users the models do not
 * know yet (the page's category, a sign-up choice).
 */
export const RecsContextSchema = z
  .object({
    device: z.enum(RECS_DEVICES).optional(),
    hour: z.number().int().min(0).max(23).optional(),
    time: IsoTime.optional(),
    category: z.number({ invalid_type_error: "must be an integer" }).int().min(0).max(65_535).optional(),
  })
  .strict();
export type RecsContext = z.infer<typeof RecsContextSchema>;

const K = (fallback: number, max = MAX_K) => z.number({ invalid_type_error: "must be an integer" }).int().min(1).max(max).default(fallback);

const distinctIds = <T>(items: T[], id: (item: T) => string, ctx: z.RefinementCtx, path: (i: number) => (string | number)[]) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = id(item);
    if (seen.has(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: path(i), message: `duplicate id ${key}` });
    seen.add(key);
  });
};

/** `POST /v1/rank`: order the candidates retrieval found for one user. */
export const RankCandidateSchema = z
  .object({
    itemId: Id,
    /** The retrieval model's score (e.g. the two-tower dot product); the ranker's first feature. */
    retrievalScore: Score,
  })
  .strict();
export type RankCandidate = z.infer<typeof RankCandidateSchema>;

export const RankRequestSchema = z
  .object({
    userId: Id,
    candidates: z
      .array(RankCandidateSchema)
      .min(1, "needs at least one candidate")
      .max(MAX_RANK_CANDIDATES, `at most ${MAX_RANK_CANDIDATES} candidates`)
      .superRefine((candidates, ctx) => distinctIds(candidates, (c) => c.itemId, ctx, (i) => [i, "itemId"])),
    context: RecsContextSchema.optional(),
    /** How many of the ranked candidates to return (default 10). */
    k: K(10),
    /** Return each returned item's feature row (for logging what was served; costs payload). */
    withFeatures: z.boolean().optional(),
    /** The caller's request id: a shadow challenger's prediction is logged under it. */
    requestId: Id.optional(),
  })
  .strict();
export type RankRequest = z.infer<typeof RankRequestSchema>;
/** What a client may send: `k` optional. */
export type RankRequestInput = z.input<typeof RankRequestSchema>;

export const RankedItemSchema = z.object({
  itemId: z.string(),
  /** The ranker's score (a margin; only the order means something), or the retrieval score when degraded. */
  score: z.number(),
  retrievalScore: z.number(),
  /** With `withFeatures`: the row the model scored, in `featureNames` order (null: missing). */
  features: z.array(z.number().nullable()).optional(),
  /** With `features`: what the item's state had applied of the event streams when it was read. */
  applied: AppliedOffsetsSchema.optional(),
});
export type RankedItem = z.infer<typeof RankedItemSchema>;

export const RankResponseSchema = z.object({
  userId: z.string(),
  items: z.array(RankedItemSchema),
  /** What decided the order: the model, or the retrieval scores the request carried. */
  rankedBy: z.enum(["model", "retrieval-score"]),
  modelVersion: z.string(),
  /** Which arm ranked: the model in service or a canary / A-B challenger (stable by user). */
  arm: ArmSchema,
  degraded: z.boolean(),
  degradedReason: z.string().nullable(),
  /** Candidates the feature store knew nothing about; they were ranked with default features. */
  unknownItems: z.number().int().nonnegative(),
  unknownUser: z.boolean(),
  /** With `withFeatures` and a model answer: the names of the feature rows' columns. */
  featureNames: z.array(z.string()).optional(),
  /** With `featureNames`: what the user's state had applied of the event streams when it was read. */
  userApplied: AppliedOffsetsSchema.optional(),
  timings: Timings,
});
export type RankResponse = z.infer<typeof RankResponseSchema>;

/**
 * `POST /v1/candidates`: the retrieval stage alone (user tower + ANN). Besides the user, the caller
 * may send what it knows better than the model's snapshot: `history`, the user's latest item ids
 * (most recent first; the recommender reads it from Redis, fresher than the training data), and
 * `features`, the user tower's inputs by name (GET /v1/model lists them; unknown names are reported
 * back in `ignoredFeatures`, not refused, so one caller can serve models with different inputs).
 */
export const CandidatesRequestSchema = z
  .object({
    userId: Id,
    /** Retrieval feeds the ranker, so it may return as many candidates as one ranking call takes. */
    k: K(200, MAX_RANK_CANDIDATES),
    context: RecsContextSchema.optional(),
    /** Items the caller does not want back (already seen, already in the cart). */
    excludeItemIds: z.array(Id).max(MAX_RANK_CANDIDATES).optional(),
    history: z.array(Id).max(200, "at most 200 items").optional(),
    features: z.record(z.number({ invalid_type_error: "must be a number" }).finite()).optional(),
    /** The caller's request id: a shadow challenger's candidates are logged under it. */
    requestId: Id.optional(),
  })
  .strict();
export type CandidatesRequest = z.infer<typeof CandidatesRequestSchema>;
export type CandidatesRequestInput = z.input<typeof CandidatesRequestSchema>;

/** A candidate with its retrieval score and its category (from the catalogue the model was trained with). */
export const CandidateSchema = z.object({ itemId: z.string(), score: z.number(), category: z.number().int().nullable() });
export type Candidate = z.infer<typeof CandidateSchema>;
export const CandidatesResponseSchema = z.object({
  userId: z.string(),
  candidates: z.array(CandidateSchema),
  modelVersion: z.string(),
  /** Which arm retrieved: the model in service or a canary / A-B challenger (stable by user). */
  arm: ArmSchema,
  /** e.g. "hnsw", "ivf" or "exact"; "popularity" when the fallback answered. */
  source: z.string(),
  degraded: z.boolean(),
  degradedReason: z.string().nullable(),
  /** Whether the user tower was trained on this user (otherwise its unknown-user row encoded them). */
  userKnown: z.boolean(),
  /** History items the user tower used (those it knew). */
  historyUsed: z.number().int().nonnegative(),
  ignoredFeatures: z.array(z.string()),
  timings: Timings,
});
export type CandidatesResponse = z.infer<typeof CandidatesResponseSchema>;

/** `POST /v1/recommendations`: the whole two-stage path for one user. */
export const RecommendationsRequestSchema = z
  .object({
    userId: Id,
    k: K(10),
    context: RecsContextSchema.optional(),
    excludeItemIds: z.array(Id).max(MAX_RANK_CANDIDATES).optional(),
  })
  .strict();
export type RecommendationsRequest = z.infer<typeof RecommendationsRequestSchema>;
export type RecommendationsRequestInput = z.input<typeof RecommendationsRequestSchema>;

export const RecommendedItemSchema = z.object({
  itemId: z.string(),
  /** 0-based slot: clicks report it back so position bias can be measured. */
  position: z.number().int().nonnegative(),
  score: z.number(),
  category: z.number().int().nullable(),
});
export type RecommendedItem = z.infer<typeof RecommendedItemSchema>;

/** Which fallback answered: popularity (overall or in a category), retrieval order (no ranker), or a cold-start list. */
export const RecsFallbackSchema = z.enum(["popularity", "popularity-category", "retrieval-order", "cold-start"]);
export type RecsFallback = z.infer<typeof RecsFallbackSchema>;

export const RecommendationsResponseSchema = z.object({
  /** Echo this in click events: it joins the click to the impression. */
  requestId: z.string(),
  userId: z.string(),
  items: z.array(RecommendedItemSchema),
  /** e.g. `{ retrieval: "retrieval@3", ranker: "ranker-gbdt@7" }`. */
  modelVersions: z.record(z.string()),
  /** Which arm of each stage answered, e.g. `{ retrieval: "current", ranker: "challenger" }`. */
  arms: z.record(ArmSchema),
  /** Which fallback answered, or null when the models did. */
  fallback: RecsFallbackSchema.nullable(),
  /** Why the fallback answered, in words. */
  fallbackReason: z.string().nullable(),
  timings: Timings,
});
export type RecommendationsResponse = z.infer<typeof RecommendationsResponseSchema>;

/** `POST /v1/events/click`: the user clicked an item of a recommendation response. */
export const ClickRequestSchema = z
  .object({
    requestId: Id,
    userId: Id,
    itemId: Id,
    position: z.number({ invalid_type_error: "must be an integer" }).int().min(0).max(MAX_K - 1),
    /** When the click happened; defaults to when it was received. */
    time: IsoTime.optional(),
  })
  .strict();
export type ClickRequest = z.infer<typeof ClickRequestSchema>;
