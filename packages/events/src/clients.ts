import type { Kafka } from "kafkajs";
import { PlatformaticRecordSender } from "./platformatic-sender";
import { KafkaRecordSender } from "./sender";
import type { RecordSender } from "./sender";

/** The Kafka clients a RecordSender can run on; both pass the same contract and outage tests. */
export const EVENTS_CLIENTS = ["kafkajs", "platformatic"] as const;
export type EventsClient = (typeof EVENTS_CLIENTS)[number];

/**
 * The client producers use unless configured otherwise: `@platformatic/kafka`, which acknowledged
 * more events per second for less CPU than kafkajs in the producer bench (README).
 */
export const DEFAULT_EVENTS_CLIENT: EventsClient = "platformatic";

export interface KafkaConnection {
  /** The kafkajs client (used by the kafkajs sender, and by consumers and admin either way). */
  kafka: Kafka;
  brokers: readonly string[];
  clientId: string;
}

export function isEventsClient(value: string): value is EventsClient {
  return (EVENTS_CLIENTS as readonly string[]).includes(value);
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
