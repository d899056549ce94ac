export { decide, GbdtFraudModel, loadGbdtFraudModel, type DecisionThresholds, type FraudModel, type ScoredTransaction } from "./model";
export { applyRules, type RuleHit, type RuleSet } from "./rules";
export { requestOnlyFeatures, toFeatureVector } from "./features";
export { fraudEvents, type DecisionRecord } from "./events";
