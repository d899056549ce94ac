import { CompressionTypes, Partitioners } from "kafkajs";
import type { Kafka, Message, Producer, RetryOptions, TopicMessages } from "kafkajs";
import type { OutgoingRecord } from "./record";
import { ReplacingRecordSender } from "./replacing-sender";

/**
 * Where the producer's batches go. `send` resolves once every record is acknowledged and rejects
 * when they may not have been; records sharing a topic and key must be stored in array order.
 */
export interface RecordSender {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaRecordSenderOptions {
  compression?: CompressionTypes;
  /**
   * kafkajs' own retries inside one send. Kept short: after them the EventProducer spills to its
   * journal and retries from there, so a long outage never holds a batch in memory.
   */
  retry?: RetryOptions;
  /** Broker-side wait for the in-sync replicas' acknowledgement, per produce request. */
  ackTimeoutMs?: number;
  allowAutoTopicCreation?: boolean;
}

/**
 * kafkajs idempotent producer: acks from all in-sync replicas, one request in flight per broker
 * (which kafkajs requires for idempotence and which keeps a partition's batches in order across
 * retries), replaced after a failed send.
 */
export class KafkaRecordSender extends ReplacingRecordSender<Producer> {
  private readonly compression: CompressionTypes;
  private readonly retry: RetryOptions;
  private readonly ackTimeoutMs: number;
  private readonly allowAutoTopicCreation: boolean;

  constructor(
    private readonly kafka: Kafka,
    options: KafkaRecordSenderOptions = {},
  ) {
    super();
    this.compression = options.compression ?? CompressionTypes.None;
    this.retry = options.retry ?? { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 };
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true;
  }

  protected async open(): Promise<Producer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: this.retry,
      allowAutoTopicCreation: this.allowAutoTopicCreation,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await producer.connect();
    } catch (error) {
      void producer.disconnect().catch(() => undefined);
      throw error;
    }
    return producer;
  }

  protected async sendWith(producer: Producer, records: readonly OutgoingRecord[]): Promise<void> {
    await producer.sendBatch({
      topicMessages: groupByTopic(records),
      acks: -1,
      timeout: this.ackTimeoutMs,
      compression: this.compression,
    });
  }

  protected close(producer: Producer): Promise<void> {
    return producer.disconnect();
  }
}

function groupByTopic(records: readonly OutgoingRecord[]): TopicMessages[] {
  // kafkajs reads key and value (and an absent partition, headers, timestamp): the records go in as they are.
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    messages.push(record);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

type Pending = { records: readonly OutgoingRecord[]; resolve: () => void; reject: (error: Error) => void };

/** Kafka's default `message.max.bytes`: the broker refuses a record batch larger than this. */
const BROKER_MAX_BATCH_BYTES = 1024 * 1024;

/**
 * The in-memory twin of a Kafka sender, for unit tests and the embedded mode: it stores what it is
 * sent, and can be switched down (sends fail) or made to hold sends until released (a slow broker).
 * Like a broker with default settings, it refuses (stores none of) a send with a record over 1 MiB.
 */
export class InMemoryRecordSender implements RecordSender {
  readonly delivered: OutgoingRecord[] = [];
  sendCalls = 0;
  private state: "up" | "down" | "hold" = "up";
  private held: Pending[] = [];

  /** Up: sends succeed at once. Down: sends fail at once. Hold: sends wait for `release`. */
  setState(state: "up" | "down" | "hold"): void {
    this.state = state;
  }

  get heldSends(): number {
    return this.held.length;
  }

  /** Settles every held send: delivered (acknowledged) or failed. */
  release(outcome: "deliver" | "fail"): void {
    const held = this.held;
    this.held = [];
    for (const pending of held) {
      if (outcome === "deliver") {
        this.delivered.push(...pending.records);
        pending.resolve();
      } else {
        pending.reject(new Error("broker unavailable"));
      }
    }
  }

  send(records: readonly OutgoingRecord[]): Promise<void> {
    this.sendCalls++;
    if (records.some((r) => r.value.length > BROKER_MAX_BATCH_BYTES)) return Promise.reject(new Error("record too large"));
    const copy = records.map(({ topic, key, value }) => ({ topic, key, value }));
    if (this.state === "down") return Promise.reject(new Error("broker unavailable"));
    if (this.state === "hold") {
      return new Promise((resolve, reject) => this.held.push({ records: copy, resolve, reject }));
    }
    this.delivered.push(...copy);
    return Promise.resolve();
  }

  async disconnect(): Promise<void> {
    this.release("fail");
  }
}
