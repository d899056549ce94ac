import { TOPICS, type AnyEvent, type FeatureVector, type TopicName } from "@mlsd/contracts";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";

/** What the monitor takes from one event: a scored prediction to watch, a label that arrived, or a skip with its reason. */
export type Observation =
  | { kind: "prediction"; id: string; time: number; features: FeatureVector; score: number }
  | { kind: "label"; id: string; positive: boolean; knownAt: number }
  | { kind: "skip"; reason: string };

/**
 * How one design's events become observations. The monitor itself knows no event type: a stream
 * names the topics to consume, the model it watches by default, and maps each event.
 */
export interface MonitoredStream {
  readonly name: string;
  readonly defaultModel: string;
  readonly topics: readonly TopicName[];
  observe(event: AnyEvent): Observation[];
}

/**
 * Fraud: each decision is a prediction with the exact features the model scored; rule and fallback
 * decisions carry no model score (the service reports 1), so they are skipped, not watched.
 * Labels arrive later and are joined by transaction id.
 */
export const fraudStream: MonitoredStream = {
  name: "fraud",
  defaultModel: FRAUD_MODEL_NAME,
  topics: [TOPICS.fraudDecisions, TOPICS.fraudLabels],
  observe(event) {
    if (event.type === "fraud.decision") {
      const p = event.payload;
      if (p.decidedBy !== "model") return [{ kind: "skip", reason: p.decidedBy }];
      return [{ kind: "prediction", id: p.transactionId, time: Date.parse(event.eventTime), features: p.features, score: p.score }];
    }
    if (event.type === "fraud.label") {
      const p = event.payload;
      return [{ kind: "label", id: p.transactionId, positive: p.label !== "legitimate", knownAt: Date.parse(p.knownAt) }];
    }
    return [];
  },
};

export const MONITORED_STREAMS = { fraud: fraudStream } as const;
export type MonitoredStreamName = keyof typeof MONITORED_STREAMS;
