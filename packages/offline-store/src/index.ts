export { OfflineStoreError, type OfflineStoreErrorCode } from "./errors";
export {
  HOUR_MS,
  partitionOf,
  partitionDir,
  partitionId,
  partitionStartMs,
  partFileName,
  type PartitionKey,
} from "./layout";
export {
  OfflineStoreWriter,
  serializeEvent,
  type LogPosition,
  type OfflineStoreWriterOptions,
  type StoreRecord,
  type TopicWriteCounts,
  type WriteResult,
  type WriterStats,
} from "./writer";
export {
  OfflineStoreReader,
  type PartitionInfo,
  type ReadOptions,
  type ReaderStats,
  type StoredRecord,
  type TimeInput,
  type TimeRange,
} from "./reader";
export {
  joinDecisionsWithLabels,
  joinImpressionsWithClicks,
  readLabelledDecisions,
  readLabelledImpressions,
  type DecisionJoinOptions,
  type ImpressionJoinOptions,
  type LabelledDecision,
  type LabelledImpression,
  type StoreDecisionJoinOptions,
  type StoreImpressionJoinOptions,
} from "./joins";
