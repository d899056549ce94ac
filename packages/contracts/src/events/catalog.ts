import type { z } from "zod";
import { TOPICS } from "../topics";
import type { TopicName } from "../topics";
import { FraudDecisionPayloadSchema, LabelPayloadSchema, TransactionPayloadSchema } from "./fraud";
import { ModelAliasMovedPayloadSchema, RetrainDecisionPayloadSchema, RetrainRequestPayloadSchema, RolloutDecisionPayloadSchema, ShadowPredictionPayloadSchema } from "./ml";
import { ClickPayloadSchema, ImpressionPayloadSchema, ServedPayloadSchema } from "./recs";
import { WorldFraudOutcomePayloadSchema, WorldRecsOutcomePayloadSchema } from "./world";

interface CatalogEntry<S extends z.ZodTypeAny> {
  /** The current version; older versions on the same topic still parse (changes are additive). */
  schemaVersion: number;
  payload: S;
  topic: TopicName;
  /** The payload field that is the partition key: the entity whose events must stay in order. */
  keyField: keyof z.infer<S> & string;
}

function entry<S extends z.ZodTypeAny>(e: CatalogEntry<S>): CatalogEntry<S> {
  return e;
}

/**
 * The one table of event types: schema, topic and partition key. Fraud events are keyed by customer
 * so that a customer's transactions, decisions and labels land on the same partition number of
 * co-partitioned topics (per-customer windows and the decision-label join stay local to a consumer);
 * terminal aggregates re-key by `terminalId` downstream. Recommendation events are keyed by user.
 * The world's outcomes are keyed like the system events they join to.
 */
export const EVENT_CATALOG = {
  "recs.impression": entry({
    schemaVersion: 1,
    payload: ImpressionPayloadSchema,
    topic: TOPICS.recsImpressions,
    keyField: "userId",
  }),
  "recs.click": entry({ schemaVersion: 1, payload: ClickPayloadSchema, topic: TOPICS.recsClicks, keyField: "userId" }),
  "recs.served": entry({ schemaVersion: 3, payload: ServedPayloadSchema, topic: TOPICS.recsServed, keyField: "userId" }),
  "fraud.transaction": entry({
    schemaVersion: 1,
    payload: TransactionPayloadSchema,
    topic: TOPICS.fraudTransactions,
    keyField: "customerId",
  }),
  "fraud.decision": entry({
    schemaVersion: 2,
    payload: FraudDecisionPayloadSchema,
    topic: TOPICS.fraudDecisions,
    keyField: "customerId",
  }),
  "fraud.label": entry({ schemaVersion: 1, payload: LabelPayloadSchema, topic: TOPICS.fraudLabels, keyField: "customerId" }),
  "ml.retrain-request": entry({
    schemaVersion: 1,
    payload: RetrainRequestPayloadSchema,
    topic: TOPICS.mlRetrainRequests,
    keyField: "model",
  }),
  "ml.retrain-decision": entry({
    schemaVersion: 1,
    payload: RetrainDecisionPayloadSchema,
    topic: TOPICS.mlRetrainDecisions,
    keyField: "model",
  }),
  "ml.model-alias-moved": entry({
    schemaVersion: 1,
    payload: ModelAliasMovedPayloadSchema,
    topic: TOPICS.mlModelAliases,
    keyField: "model",
  }),
  "ml.shadow-prediction": entry({
    schemaVersion: 1,
    payload: ShadowPredictionPayloadSchema,
    topic: TOPICS.mlShadowPredictions,
    keyField: "entityId",
  }),
  "ml.rollout-decision": entry({
    schemaVersion: 1,
    payload: RolloutDecisionPayloadSchema,
    topic: TOPICS.mlRolloutDecisions,
    keyField: "model",
  }),
  "world.recs-outcome": entry({ schemaVersion: 1, payload: WorldRecsOutcomePayloadSchema, topic: TOPICS.worldRecsOutcomes, keyField: "userId" }),
  "world.fraud-outcome": entry({ schemaVersion: 1, payload: WorldFraudOutcomePayloadSchema, topic: TOPICS.worldFraudOutcomes, keyField: "customerId" }),
} as const;

export type EventType = keyof typeof EVENT_CATALOG;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_CATALOG)[T]["payload"]>;
/** What a producer may pass: fields added in later schema versions have defaults, which makeEvent fills in. */
export type EventPayloadInput<T extends EventType> = z.input<(typeof EVENT_CATALOG)[T]["payload"]>;

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOG, type);
}

export function topicFor(type: EventType): TopicName {
  return EVENT_CATALOG[type].topic;
}
