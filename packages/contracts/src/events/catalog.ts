import type { z } from "zod";
import { TOPICS } from "../topics";
import type { TopicName } from "../topics";
import { FraudDecisionPayloadSchema, LabelPayloadSchema, TransactionPayloadSchema } from "./fraud";
import { RetrainDecisionPayloadSchema, RetrainRequestPayloadSchema } from "./ml";
import { ClickPayloadSchema, ImpressionPayloadSchema, ServedPayloadSchema } from "./recs";

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
 */
export const EVENT_CATALOG = {
  "recs.impression": entry({
    schemaVersion: 1,
    payload: ImpressionPayloadSchema,
    topic: TOPICS.recsImpressions,
    keyField: "userId",
  }),
  "recs.click": entry({ schemaVersion: 1, payload: ClickPayloadSchema, topic: TOPICS.recsClicks, keyField: "userId" }),
  "recs.served": entry({ schemaVersion: 1, payload: ServedPayloadSchema, topic: TOPICS.recsServed, keyField: "userId" }),
  "fraud.transaction": entry({
    schemaVersion: 1,
    payload: TransactionPayloadSchema,
    topic: TOPICS.fraudTransactions,
    keyField: "customerId",
  }),
  "fraud.decision": entry({
    schemaVersion: 1,
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
} as const;

export type EventType = keyof typeof EVENT_CATALOG;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_CATALOG)[T]["payload"]>;

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOG, type);
}

export function topicFor(type: EventType): TopicName {
  return EVENT_CATALOG[type].topic;
}
