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
  TRANSACTION_COLUMNS,
  TransactionTableBuilder,
  emptyTransactionTable,
  sliceTransactionTable,
  transactionAt,
} from "./table";
export type { Transaction, TransactionTable } from "./table";
export {
  FRAUD_SCENARIO,
  SECONDS_PER_DAY,
  iterateTransactions,
  simulateTransactions,
  streamTransactionDays,
} from "./simulate";
export type { SimulateOptions } from "./simulate";
export {
  TRANSACTION_CSV_COLUMNS,
  formatUtcDateTime,
  transactionCsvBytes,
  transactionCsvLines,
  writeTransactionsCsv,
} from "./csv";
export type { CsvSink, TransactionCsvColumn } from "./csv";
export { TransactionSummaryBuilder, summarizeTransactions } from "./summary";
export type { TransactionSummary } from "./summary";
export { DEFAULT_SPLIT, dayStartMs, labelsKnownAt, rowsInDays, timeSplit, trueLabels } from "./split";
export type { SplitSpec, TimeSplit } from "./split";
