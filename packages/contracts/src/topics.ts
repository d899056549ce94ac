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
  mlModelAliases: "ml.model-aliases.v1",
  mlShadowPredictions: "ml.shadow-predictions.v1",
  mlRolloutDecisions: "ml.rollout-decisions.v1",
  /** Ground truth of a simulated world (jobs/world): what only a simulation knows, for evaluation, never for features. */
  worldRecsOutcomes: "world.recs-outcomes.v1",
  worldFraudOutcomes: "world.fraud-outcomes.v1",
  /** One dead-letter topic for every domain: a record names the topic it came from. */
  deadLetter: "dlq.events.v1",
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

export const DEAD_LETTER_TOPIC = TOPICS.deadLetter;

/** The simulated world's ground-truth topics: logged for evaluation, never read by training or features. */
export const WORLD_TOPICS: readonly TopicName[] = [TOPICS.worldRecsOutcomes, TOPICS.worldFraudOutcomes];

/** Every topic the system produces to, the dead-letter topic included. */
export const ALL_TOPICS: readonly TopicName[] = Object.values(TOPICS);
