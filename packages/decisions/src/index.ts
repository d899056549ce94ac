export { chooseThresholds, DEFAULT_DECISION_COSTS, expectedValueMargins, policyCost } from "./costs";
export type { CostedRows, DecisionCosts, PolicyCost, Thresholds } from "./costs";
export { CalibrationInputError, fitIsotonic, fitPlatt } from "./calibration";
export type { Calibrator } from "./calibration";
