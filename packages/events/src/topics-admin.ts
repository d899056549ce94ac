import { ALL_TOPICS } from "@mlsd/contracts";
import type { Admin, Kafka } from "kafkajs";

export interface EnsureTopicsOptions {
  topics?: readonly string[];
  /** Partitions bound a consumer group's parallelism; six gives room to scale out on one broker. */
  partitions?: number;
  /** Default -1: the broker's `default.replication.factor` (1 on a single node, 3 on the cluster topology). */
  replicationFactor?: number;
  /** How long to wait for every new partition to have a leader (default 30 s). */
  timeoutMs?: number;
}

async function leadersElected(admin: Admin, topics: string[]): Promise<boolean> {
  try {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    return (
      metadata.length === topics.length &&
      metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
    );
  } catch {
    // Right after creation the broker may still answer UNKNOWN_TOPIC_OR_PARTITION.
    return false;
  }
}

/**
 * Creates the topics that do not exist yet and waits until each of their partitions has a leader;
 * returns the ones it created.
 */
export async function ensureTopics(kafka: Kafka, options: EnsureTopicsOptions = {}): Promise<string[]> {
  const wanted = options.topics ?? ALL_TOPICS;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 6,
          replicationFactor: options.replicationFactor ?? -1,
        })),
      });
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      while (!(await leadersElected(admin, missing))) {
        if (Date.now() > deadline) throw new Error(`topics without a leader after creation: ${missing.join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}
