export { AnomalyInputError, averagePathLength, IsolationForest } from "./isolation-forest";
export type { IsolationForestOptions, Matrix } from "./isolation-forest";
