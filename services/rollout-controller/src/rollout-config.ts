import { csvSetting } from "@mlsd/service-kit";
import { z } from "zod";

export const STAGE_NAMES = ["shadow", "canary", "ab"] as const;

/** The rollout settings, spread into the service's config schema. Times are clock time (scaled in simulations). */
export const rolloutConfig = {
  /**
   * The stages a candidate goes through, by model: `fraud-gbdt=shadow+canary,ranker-gbdt=shadow+canary+ab`.
   * Default shadow+canary; retrieval canary only (its shadow candidates cannot be judged: their relevance is unknown).
   */
  ROLLOUT_STAGES: csvSetting.superRefine((entries, ctx) => {
    try {
      parseStages(entries);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  }),
  CANARY_SHARE: z.coerce.number().gt(0).max(1).default(0.1),
  AB_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
  /** False-positive bound of the sequential test over all looks. */
  ROLLOUT_ALPHA: z.coerce.number().gt(0).lt(1).default(0.05),
  /** Units (users, cards; labelled transactions or judged answers in shadow) each arm needs before a candidate may advance. */
  ROLLOUT_MIN_SAMPLES: z.coerce.number().int().positive().default(500),
  /** A stage ends without a decision once the smaller arm has this many units... */
  ROLLOUT_MAX_SAMPLES: z.coerce.number().int().positive().default(20_000),
  /** ...or after this many clock hours. */
  ROLLOUT_MAX_STAGE_HOURS: z.coerce.number().positive().default(72),
  /** An exhausted budget: roll back (the candidate did not prove itself) or hold for an operator. */
  ROLLOUT_ON_BUDGET: z.enum(["rollback", "hold"]).default("rollback"),
  /** Guardrail: the challenger's p99 may be at most this ratio of current's, plus the slack (ms). */
  GUARDRAIL_LATENCY_RATIO: z.coerce.number().positive().default(1.5),
  GUARDRAIL_LATENCY_SLACK_MS: z.coerce.number().min(0).default(5),
  GUARDRAIL_LATENCY_MIN_COUNT: z.coerce.number().int().positive().default(1_000),
  /** Guardrail: the error (fallback, degraded) rate may rise by at most this much, absolute and relative. */
  GUARDRAIL_ERROR_ABSOLUTE: z.coerce.number().min(0).default(0.01),
  GUARDRAIL_ERROR_RELATIVE: z.coerce.number().min(0).default(0.5),
  /** Guardrail: roll back once the primary metric is surely worse by more than this relative amount (0.05: 5 %). */
  GUARDRAIL_PRIMARY_DROP: z.coerce.number().gt(0).default(0.05),
  /** Seconds between looks at the running rollouts (real time). */
  ROLLOUT_TICK_SECONDS: z.coerce.number().positive().default(5),
  /** What recommendation NDCG is judged against: the simulated world's truth (world.recs-outcome) or clicks. */
  RECS_TRUTH: z.enum(["world", "clicks"]).default("clicks"),
  CLICK_ATTRIBUTION_MINUTES: z.coerce.number().positive().default(30),
  LABEL_HORIZON_DAYS: z.coerce.number().positive().default(30),
  /** The fraud cost model (the trainer's): a declined good customer, a review. */
  DECLINE_FRICTION: z.coerce.number().min(0).default(10),
  REVIEW_COST: z.coerce.number().min(0).default(2),
};

/** `model=stage+stage` entries; every stage must be known and appear once, in the order given. */
export function parseStages(entries: readonly string[]): Map<string, (typeof STAGE_NAMES)[number][]> {
  const out = new Map<string, (typeof STAGE_NAMES)[number][]>();
  for (const entry of entries) {
    const [model, list] = entry.split("=");
    const stages = (list ?? "").split("+").map((x) => x.trim());
    if (!model || stages.some((x) => !(STAGE_NAMES as readonly string[]).includes(x)) || new Set(stages).size !== stages.length) {
      throw new RangeError(`ROLLOUT_STAGES: "${entry}" is not model=stage+stage (stages: ${STAGE_NAMES.join(", ")}, each once)`);
    }
    out.set(model.trim(), stages as (typeof STAGE_NAMES)[number][]);
  }
  return out;
}
