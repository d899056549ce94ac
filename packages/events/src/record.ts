/**
 * One message on its way to Kafka. The value is the event envelope serialised as JSON and encoded
 * as UTF-8 once, in publish(): the queue's byte bounds, the journal and the client all use these bytes.
 */
export interface OutgoingRecord {
  topic: string;
  key: string;
  value: Buffer;
}

/** A record with its size in bytes (the value's length), the unit of the queue's and batches' bounds. */
export interface SizedRecord extends OutgoingRecord {
  bytes: number;
}
