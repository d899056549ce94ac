/** One message on its way to Kafka: the value is the event envelope serialised as JSON. */
export interface OutgoingRecord {
  topic: string;
  key: string;
  value: string;
}

/** A record with its UTF-8 size, computed once when it enters the producer. */
export interface SizedRecord extends OutgoingRecord {
  bytes: number;
}
