/**
 * Kafka topic names, `<domain>.<event>.v1`. The suffix is the wire-format generation: additive
 * changes bump the envelope's `schemaVersion` on the same topic, breaking changes get a `.v2` topic.
 */
export const TOPICS = {
  recsImpressions: "recs.impressions.v1",
  recsClicks: "recs.clicks.v1",
  recsServed: "recs.served.v1",
  fraudTransactions: "fraud.transactions.v1",
  fraudDecisions: "fraud.decisions.v1",
  fraudLabels: "fraud.labels.v1",
  mlRetrainRequests: "ml.retrain-requests.v1",
  mlRetrainDecisions: "ml.retrain-decisions.v1",
  /** One dead-letter topic for every domain: a record names the topic it came from. */
  deadLetter: "dlq.events.v1",
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export const DEAD_LETTER_TOPIC = TOPICS.deadLetter;

/** Every topic the system produces to, the dead-letter topic included. */
export const ALL_TOPICS: readonly TopicName[] = Object.values(TOPICS);
