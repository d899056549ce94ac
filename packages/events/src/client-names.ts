// The client names alone, without the clients: config code imports this (`@mlsd/events/client-names`)
// without loading either Kafka library.

/** The Kafka clients a RecordSender can run on; both pass the same contract and outage tests. */
export const EVENTS_CLIENTS = ["kafkajs", "platformatic"] as const;
export type EventsClient = (typeof EVENTS_CLIENTS)[number];

/**
 * The client producers use unless configured otherwise: `@platformatic/kafka`, which acknowledged
 * more events per second for less CPU than kafkajs in the producer bench (README).
 */
export const DEFAULT_EVENTS_CLIENT: EventsClient = "platformatic";

export function isEventsClient(value: string): value is EventsClient {
  return (EVENTS_CLIENTS as readonly string[]).includes(value);
}
