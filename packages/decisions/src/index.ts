export { chooseThresholds, DEFAULT_DECISION_COSTS, expectedValueMargins, policyCost, transactionCost } from "./costs";
export type { CostedRows, DecisionCosts, PolicyCost, Thresholds, TransactionCosts } from "./costs";
export { CalibrationInputError, fitIsotonic, fitPlatt } from "./calibration";
export type { Calibrator } from "./calibration";
