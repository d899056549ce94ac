import type { Kafka } from "kafkajs";
import { PlatformaticRecordSender } from "./platformatic-sender";
import { KafkaRecordSender } from "./sender";
import type { RecordSender } from "./sender";
import type { EventsClient } from "./client-names";

export interface KafkaConnection {
  /** The kafkajs client (used by the kafkajs sender, and by consumers and admin either way). */
  kafka: Kafka;
  brokers: readonly string[];
  clientId: string;
}

/** The RecordSender of `client`, with the same guarantees either way (idempotent, acks=all, keys ordered). */
export function createRecordSender(client: EventsClient, connection: KafkaConnection): RecordSender {
  switch (client) {
    case "kafkajs":
      return new KafkaRecordSender(connection.kafka);
    case "platformatic":
      return new PlatformaticRecordSender({ brokers: connection.brokers, clientId: connection.clientId });
  }
}
