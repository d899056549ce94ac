export { ArmAccumulators, PerUnitRatio, type ArmView, type EvalView } from "./arm";
export { transactionCost, type TransactionCosts } from "@mlsd/decisions";
export { ExpiringMap } from "./expiring";
export { FraudOnlineEval, type FraudOnlineEvalOptions } from "./fraud";
export { RecsOnlineEval, type RecsOnlineEvalOptions } from "./recs";
