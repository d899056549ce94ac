import { TOPICS, type AnyEvent, type FeatureVector, type TopicName } from "@mlsd/contracts";
import { FRAUD_MODEL_NAME } from "@mlsd/model-formats/fraud";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";

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

/**
 * Recommendations: each item a model answer served is a prediction, with the ranker's row for it
 * and its score; answers a fallback gave carry no model score and are skipped. A click on the item
 * in that answer is its positive label; items without one count as negatives after the horizon.
 */
export const recsStream: MonitoredStream = {
  name: "recs",
  defaultModel: RANKER_MODEL_NAME,
  topics: [TOPICS.recsServed, TOPICS.recsClicks],
  observe(event) {
    if (event.type === "recs.served") {
      const p = event.payload;
      if (p.fallback !== null) return [{ kind: "skip", reason: p.fallback }];
      const time = Date.parse(event.eventTime);
      return p.items.filter((i) => Object.keys(i.features).length > 0).map((i) => ({ kind: "prediction" as const, id: `${p.requestId}:${i.itemId}`, time, features: i.features, score: i.score }));
    }
    if (event.type === "recs.click") {
      const p = event.payload;
      return [{ kind: "label", id: `${p.requestId}:${p.itemId}`, positive: true, knownAt: Date.parse(event.eventTime) }];
    }
    return [];
  },
};

export const MONITORED_STREAMS = { fraud: fraudStream, recs: recsStream } as const;
export type MonitoredStreamName = keyof typeof MONITORED_STREAMS;
