export { GbdtRankerModel, loadRankerModel, RankerModelError, type RankerModel } from "./model";
export { rankCandidates, type DegradedReason, type RankingDeps } from "./ranking";
