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
  CARD_TESTING_DEFAULTS,
  DRIFT_TRANSACTION_ID_BASE,
  FRAUD_SCENARIO,
  SECONDS_PER_DAY,
  iterateTransactions,
  simulateTransactions,
  streamTransactionDays,
} from "./simulate";
export type { FraudDrift, SimulateOptions, StreamOptions } from "./simulate";
export { TransactionSummaryBuilder, summarizeTransactions } from "./summary";
export type { TransactionSummary } from "./summary";
