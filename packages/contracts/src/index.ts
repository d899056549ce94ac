export { TOPICS, DEAD_LETTER_TOPIC, ALL_TOPICS, WORLD_TOPICS } from "./topics";
export type { TopicName } from "./topics";
export { EnvelopeSchema, EventIdSchema, IsoTimeSchema } from "./envelope";
export type { RawEnvelope } from "./envelope";
export { AppliedOffsetsSchema, ArmSchema, EntityIdSchema, FeatureVectorSchema, ModelVersionsSchema } from "./events/common";
export type { AppliedOffsets, Arm, FeatureVector, ModelVersions } from "./events/common";
export {
  ImpressionPayloadSchema,
  ClickPayloadSchema,
  ServedItemSchema,
  ServedPayloadSchema,
} from "./events/recs";
export type { ImpressionPayload, ClickPayload, ServedItem, ServedPayload } from "./events/recs";
export {
  TransactionPayloadSchema,
  FraudDecisionSchema,
  FraudDecisionPayloadSchema,
  FraudLabelSchema,
  LabelPayloadSchema,
} from "./events/fraud";
export type {
  TransactionPayload,
  FraudDecision,
  FraudDecisionPayload,
  FraudLabel,
  LabelPayload,
} from "./events/fraud";
export {
  DriftStatisticSchema,
  DriftFindingSchema,
  DriftSummarySchema,
  RetrainReasonSchema,
  RetrainRequestPayloadSchema,
  RetrainDecisionSchema,
  RetrainDecisionPayloadSchema,
  ModelAliasActionSchema,
  ModelAliasMovedPayloadSchema,
  ShadowPredictionSchema,
  ShadowPredictionPayloadSchema,
  RolloutStageSchema,
  RolloutActionSchema,
  RolloutDecisionPayloadSchema,
} from "./events/ml";
export type {
  DriftFinding,
  DriftSummary,
  RetrainRequestPayload,
  RetrainDecision,
  RetrainDecisionPayload,
  ModelAliasAction,
  ModelAliasMovedPayload,
  ShadowPrediction,
  ShadowPredictionPayload,
  RolloutDecisionPayload,
} from "./events/ml";
export {
  WorldFraudOutcomePayloadSchema,
  WorldFraudScenarioSchema,
  WorldRecsOutcomeItemSchema,
  WorldRecsOutcomePayloadSchema,
} from "./events/world";
export type { WorldFraudOutcomePayload, WorldFraudScenario, WorldRecsOutcomeItem, WorldRecsOutcomePayload } from "./events/world";
export {
  DeadLetterReasonSchema,
  DeadLetterRecordSchema,
  ValidationIssueSchema,
} from "./events/dead-letter";
export type { DeadLetterReason, DeadLetterRecord, ValidationIssue } from "./events/dead-letter";
export { EVENT_CATALOG, EVENT_TYPES, isEventType, topicFor } from "./events/catalog";
export { EXAMPLE_PAYLOADS } from "./events/examples";
export type { EventType, EventPayload, EventPayloadInput } from "./events/catalog";
export { makeEvent, parseEvent, validateEvent, EventValidationError } from "./event";
export type {
  EventEnvelope,
  AnyEvent,
  ParseEventResult,
  MakeEventOptions,
  ImpressionEvent,
  ClickEvent,
  ServedEvent,
  TransactionEvent,
  FraudDecisionEvent,
  LabelEvent,
  RetrainRequestEvent,
  RetrainDecisionEvent,
  ModelAliasMovedEvent,
  ShadowPredictionEvent,
  RolloutDecisionEvent,
  WorldRecsOutcomeEvent,
  WorldFraudOutcomeEvent,
} from "./event";


// HTTP bodies of the services.
export * from "./http/fraud";
export * from "./http/recs";
