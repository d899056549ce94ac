import { TOPICS } from "@mlsd/contracts";
import { RedisFraudFeatureStore, RedisRecsFeatureStore } from "@mlsd/feature-store";
import { httpDeps, type HttpDeps, type ServiceContext } from "@mlsd/service-kit";
import { createKafka, startBackgroundConsumer } from "@mlsd/service-kit/kafka";
import { connectRedis } from "@mlsd/service-kit/redis";
import { Counter } from "prom-client";
import type { FeatureStreamerConfig } from "./config";
import { applyBatch, type StreamingCounts } from "./streaming";

export const STREAMED_TOPICS = [TOPICS.recsImpressions, TOPICS.recsClicks, TOPICS.fraudLabels, TOPICS.fraudDecisions];

export interface FeatureStreamerDeps extends HttpDeps {
  totals: StreamingCounts;
  lag(): Promise<{ topic: string; partition: number; lag: number }[]>;
  stopConsuming(): Promise<void>;
}

/**
 * Redis (both designs' features) and one consumer group over the four topics that change them.
 * Consuming is this service's whole job: it is unready until the group is joined.
 */
export function createDeps(ctx: ServiceContext<FeatureStreamerConfig>): FeatureStreamerDeps {
  const { config, metrics } = ctx;
  const redis = connectRedis(ctx, { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES });
  const stores = {
    recs: new RedisRecsFeatureStore(redis.client, { prefix: config.RECS_PREFIX }),
    fraud: new RedisFraudFeatureStore(redis.client, undefined, config.FRAUD_PREFIX, config.CLOCK_SPEED),
  };
  const applied = new Counter({
    name: "feature_streamer_applied_total",
    help: "Events applied to the online features, by kind (impressions, clicks, labels, backfilled transactions, already recorded)",
    labelNames: ["kind"] as const,
    registers: [metrics.registry],
  });
  const totals: StreamingCounts = { impressions: 0, clicks: 0, labels: 0, backfilled: 0, alreadyRecorded: 0 };
  const consumer = startBackgroundConsumer(ctx, {
    kafka: createKafka("feature-streamer", config.KAFKA_BROKERS),
    groupId: config.CONSUMER_GROUP,
    topics: STREAMED_TOPICS,
    handleBatch: async (events) => {
      const counts = await applyBatch(stores, events);
      for (const [kind, n] of Object.entries(counts) as [keyof StreamingCounts, number][]) {
        if (n > 0) applied.inc({ kind }, n);
        totals[kind] += n;
      }
    },
    metricsPrefix: "feature_streamer",
    lagIntervalMs: 2_000,
    ensureTopics: true,
    requiredForReadiness: true,
    check: "consumer",
  });
  return { ...httpDeps(ctx), totals, lag: () => consumer.lag(), stopConsuming: () => consumer.stop() };
}
