import { compatibilityPartitioner, Producer, stringSerializer } from "@platformatic/kafka";
import type { CompressionAlgorithmValue, MessageToProduce } from "@platformatic/kafka";
import type { OutgoingRecord } from "./record";
import { ReplacingRecordSender } from "./replacing-sender";

export interface PlatformaticRecordSenderOptions {
  brokers: readonly string[];
  clientId?: string;
  compression?: CompressionAlgorithmValue;
  /**
   * Retries inside one send (connection, metadata, produce), at least 2: the client turns fewer
   * into unlimited retries for an idempotent producer, which would hold a batch through a whole
   * outage. Kept short for the same reason as KafkaRecordSender's: the journal takes over after them.
   */
  retries?: number;
  /** First retry delay; it doubles per attempt up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Broker-side wait for the in-sync replicas' acknowledgement, per produce request. */
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Client-side wait for any response. */
  requestTimeoutMs?: number;
  allowAutoTopicCreation?: boolean;
}

/** String keys; values are the records' bytes as they are (no serialiser, no copy). */
type RecordProducer = Producer<string, Buffer, Buffer, Buffer>;

/**
 * `@platformatic/kafka` idempotent producer with the same guarantees as KafkaRecordSender: acks from
 * all in-sync replicas, one request in flight per broker connection (the client forces it for
 * idempotence), keys partitioned by the Java client's murmur2 (kafkajs' DefaultPartitioner), so a
 * key keeps its partition whichever sender wrote it; replaced after a failed send.
 */
export class PlatformaticRecordSender extends ReplacingRecordSender<RecordProducer> {
  private readonly options: Required<Omit<PlatformaticRecordSenderOptions, "compression">> & { compression: CompressionAlgorithmValue };

  constructor(options: PlatformaticRecordSenderOptions) {
    super();
    if (options.brokers.length === 0) throw new Error("PlatformaticRecordSender: at least one broker is required");
    const retries = options.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 2) {
      throw new Error(`PlatformaticRecordSender: retries must be an integer >= 2 (got ${retries})`);
    }
    this.options = {
      brokers: options.brokers,
      clientId: options.clientId ?? "mlsd-events",
      compression: options.compression ?? "none",
      retries,
      retryDelayMs: options.retryDelayMs ?? 100,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 1_000,
      ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 35_000,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    };
  }

  /** The client connects lazily, on its first request: creating it does no I/O. */
  protected async open(): Promise<RecordProducer> {
    const { retryDelayMs, maxRetryDelayMs } = this.options;
    return new Producer<string, Buffer, Buffer, Buffer>({
      clientId: this.options.clientId,
      bootstrapBrokers: [...this.options.brokers],
      serializers: { key: stringSerializer },
      idempotent: true,
      acks: -1,
      compression: this.options.compression,
      partitioner: compatibilityPartitioner,
      retries: this.options.retries,
      retryDelay: (_client, _operation, attempt) => Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attempt - 1)),
      timeout: this.options.ackTimeoutMs,
      connectTimeout: this.options.connectTimeoutMs,
      requestTimeout: this.options.requestTimeoutMs,
      autocreateTopics: this.options.allowAutoTopicCreation,
    });
  }

  protected async sendWith(producer: RecordProducer, records: readonly OutgoingRecord[]): Promise<void> {
    // The client reads topic, key and value of each message and builds its own; records go in as they are.
    await producer.send({ messages: records as OutgoingRecord[] as MessageToProduce<string, Buffer, Buffer, Buffer>[] });
  }

  protected close(producer: RecordProducer): Promise<void> {
    return producer.close();
  }
}
