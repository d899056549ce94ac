import path from "node:path";
import { WORLD_TOPICS } from "@mlsd/contracts";
import { ensureTopics, EventProducer, KafkaRecordSender, type EventPublisher } from "@mlsd/events";
import { createKafka } from "@mlsd/service-kit/kafka";
import { Registry } from "prom-client";

export interface OutcomeSink {
  publisher: EventPublisher;
  /** Flushes what is queued (at most `timeoutMs`); the rest stays in the journal. */
  close(timeoutMs?: number): Promise<string>;
}

/**
 * Ground truth to Kafka through the same producer the services use: publish() never blocks the
 * world, and while Kafka is away events wait in the journal.
 */
export async function kafkaOutcomes(brokers: readonly string[], journalDir: string, log: (line: string) => void): Promise<OutcomeSink> {
  const kafka = createKafka("world", brokers);
  const producer = new EventProducer({ sender: new KafkaRecordSender(kafka), journalDir: path.resolve(journalDir), registry: new Registry(), metricsPrefix: "world" });
  await producer.start();
  void ensureTopics(kafka, { topics: WORLD_TOPICS, timeoutMs: 30_000 }).catch((error: Error) => log(`world: could not create the ground-truth topics yet (${error.message}); events wait in the journal`));
  return {
    publisher: producer,
    async close(timeoutMs = 10_000) {
      const r = await producer.close(timeoutMs);
      return r.delivered ? "ground truth delivered to Kafka" : `ground truth: ${r.inJournal} events left in the journal ${journalDir}, ${r.inMemory} only in memory`;
    },
  };
}

/** No Kafka given: ground truth is counted, not kept. */
export const discardOutcomes: OutcomeSink = {
  publisher: { publish: () => undefined },
  close: async () => "ground truth not published (no --kafka)",
};
