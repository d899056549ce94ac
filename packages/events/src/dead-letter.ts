import { parseEvent } from "@mlsd/contracts";
import type { AnyEvent, DeadLetterRecord, ParseEventResult } from "@mlsd/contracts";

/** One valid event as the consumer hands it to the sink, with where it was read from. */
export interface ConsumedEvent {
  event: AnyEvent;
  topic: string;
  partition: number;
  offset: string;
  /** Kafka's record timestamp (ms since the epoch, as kafkajs gives it). */
  timestamp: string;
}

/** The fields of a kafkajs message this package reads. */
export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function describeValue(value: Buffer | null): Pick<DeadLetterRecord, "originalValue" | "originalEncoding"> {
  if (value === null) return { originalValue: null, originalEncoding: "utf8" };
  try {
    return { originalValue: utf8.decode(value), originalEncoding: "utf8" };
  } catch {
    return { originalValue: value.toString("base64"), originalEncoding: "base64" };
  }
}

/**
 * Splits fetched messages into valid events and dead-letter records. Never throws: a message that is
 * not a valid event becomes a record naming the reason, the issues and its source position.
 */
export function decodeMessages(
  source: { topic: string; partition: number },
  messages: readonly RawMessage[],
  consumerGroup: string,
  now: Date = new Date(),
): { events: ConsumedEvent[]; deadLetters: DeadLetterRecord[] } {
  const events: ConsumedEvent[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  for (const message of messages) {
    const parsed: ParseEventResult =
      message.value === null
        ? { ok: false, error: { reason: "invalid_json", message: "message has no value", issues: [] } }
        : parseEvent(message.value);
    if (parsed.ok) {
      events.push({
        event: parsed.event,
        topic: source.topic,
        partition: source.partition,
        offset: message.offset,
        timestamp: message.timestamp,
      });
      continue;
    }
    deadLetters.push({
      reason: parsed.error.reason,
      message: parsed.error.message,
      issues: parsed.error.issues,
      source: {
        topic: source.topic,
        partition: source.partition,
        offset: message.offset,
        key: message.key === null ? null : message.key.toString("utf8"),
        timestamp: message.timestamp,
      },
      consumerGroup,
      ...describeValue(message.value),
      failedAt: now.toISOString(),
    });
  }
  return { events, deadLetters };
}
