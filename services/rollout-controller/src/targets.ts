import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { RETRIEVAL_MODEL_NAME } from "@mlsd/model-formats/retrieval";
import { FraudOnlineEval, RecsOnlineEval } from "@mlsd/online-eval";
import { tau2ForHorizon, type Stage } from "@mlsd/rollout-stats";
import type { RolloutControllerConfig } from "./config";
import { parseStages } from "./rollout-config";
import type { RolloutPolicy, RolloutTarget } from "./rollout";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The models this controller can roll out: those it knows how to judge (fraud: cost per labelled
 * transaction; ranker and retrieval: CTR per user, and NDCG in the ranker's shadow) and whose
 * services it can reach (RELOAD_URLS). The default variances only plan the first stage on a
 * system without history: per-unit variance of cost (amounts up to a few hundred, a few % fraud)
 * and of a user's CTR or an answer's NDCG.
 */
export function rolloutTargets(config: RolloutControllerConfig, served: ReadonlySet<string>): RolloutTarget[] {
  const stages = parseStages(config.ROLLOUT_STAGES);
  const recs = (stage: "ranker" | "retrieval", model: string) => (since: number) =>
    new RecsOnlineEval({ stage, model, attributionMs: config.CLICK_ATTRIBUTION_MINUTES * 60_000, truth: config.RECS_TRUTH, since });
  const all: RolloutTarget[] = [
    {
      model: FRAUD_MODEL_NAME,
      stages: stages.get(FRAUD_MODEL_NAME) ?? ["shadow", "canary"],
      evaluator: (since) =>
        new FraudOnlineEval({ model: FRAUD_MODEL_NAME, costs: { declineFriction: config.DECLINE_FRICTION, reviewCost: config.REVIEW_COST }, labelHorizonMs: config.LABEL_HORIZON_DAYS * DAY_MS, since }),
      defaultVariance: { split: 400, shadow: 400 },
    },
    { model: RANKER_MODEL_NAME, stages: stages.get(RANKER_MODEL_NAME) ?? ["shadow", "canary"], evaluator: recs("ranker", RANKER_MODEL_NAME), defaultVariance: { split: 0.01, shadow: 0.05 } },
    { model: RETRIEVAL_MODEL_NAME, stages: stages.get(RETRIEVAL_MODEL_NAME) ?? ["canary"], evaluator: recs("retrieval", RETRIEVAL_MODEL_NAME), defaultVariance: { split: 0.01, shadow: 0.05 } },
  ];
  return all.filter((t) => served.has(t.model));
}

export function rolloutPolicy(config: RolloutControllerConfig): RolloutPolicy {
  return {
    canaryShare: config.CANARY_SHARE,
    abShare: config.AB_SHARE,
    alpha: config.ROLLOUT_ALPHA,
    minSamples: config.ROLLOUT_MIN_SAMPLES,
    maxSamples: config.ROLLOUT_MAX_SAMPLES,
    maxStageMs: config.ROLLOUT_MAX_STAGE_HOURS * HOUR_MS,
    guardrails: {
      latency: { maxRatio: config.GUARDRAIL_LATENCY_RATIO, slackMs: config.GUARDRAIL_LATENCY_SLACK_MS, minCount: config.GUARDRAIL_LATENCY_MIN_COUNT },
      errorRate: {
        maxAbsoluteIncrease: config.GUARDRAIL_ERROR_ABSOLUTE,
        maxRelativeIncrease: config.GUARDRAIL_ERROR_RELATIVE,
        // Tuned to catch a blatant regression fast: an error rate near 1 %, judged by 2,000 requests an arm.
        tau2: tau2ForHorizon({ alpha: config.ROLLOUT_ALPHA, perUnitVariance: 0.01 * 0.99, controlCount: 2_000, treatmentCount: 2_000 }),
        alpha: config.ROLLOUT_ALPHA,
      },
      primaryDrop: { maxRelativeDrop: config.GUARDRAIL_PRIMARY_DROP },
    },
    onBudgetExhausted: config.ROLLOUT_ON_BUDGET,
  };
}

export type { Stage };
