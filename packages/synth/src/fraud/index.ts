export {
  AREA_SIDE,
  FRAUD_WORLD_PRESETS,
  FraudWorldOptionsError,
  HANDBOOK_SCENARIOS,
  HANDBOOK_WORLD,
  createFraudWorld,
  originEpochSecondsOf,
  resolveFraudWorldOptions,
  scenariosOnDay,
  terminalsWithinRadius,
} from "./world";
export type {
  CustomerProfiles,
  FraudScenarioOptions,
  FraudWorld,
  FraudWorldInput,
  FraudWorldOptions,
  FraudWorldPreset,
  FraudRegime,
  LabelDelayOptions,
  TerminalProfiles,
} from "./world";
export {
  FRAUD_SCENARIO,
  SECONDS_PER_DAY,
  iterateTransactions,
  simulateTransactions,
  streamTransactionDays,
} from "./simulate";
export type { SimulateOptions } from "./simulate";
export { TransactionSummaryBuilder, summarizeTransactions } from "./summary";
export type { TransactionSummary } from "./summary";
