import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { EnvelopeSchema, IsoTimeSchema } from "./envelope";
import { EVENT_CATALOG, isEventType } from "./events/catalog";
import type { EventPayload, EventType } from "./events/catalog";
import type { DeadLetterReason, ValidationIssue } from "./events/dead-letter";

export interface EventEnvelope<T extends EventType = EventType> {
  eventId: string;
  type: T;
  schemaVersion: number;
  eventTime: string;
  producer: string;
  key: string;
  payload: EventPayload<T>;
}

export type ImpressionEvent = EventEnvelope<"recs.impression">;
export type ClickEvent = EventEnvelope<"recs.click">;
export type ServedEvent = EventEnvelope<"recs.served">;
export type TransactionEvent = EventEnvelope<"fraud.transaction">;
export type FraudDecisionEvent = EventEnvelope<"fraud.decision">;
export type LabelEvent = EventEnvelope<"fraud.label">;
export type RetrainRequestEvent = EventEnvelope<"ml.retrain-request">;
export type RetrainDecisionEvent = EventEnvelope<"ml.retrain-decision">;

/** Any valid event, discriminated by `type`. */
export type AnyEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

export type ParseEventResult =
  | { ok: true; event: AnyEvent }
  | { ok: false; error: { reason: DeadLetterReason; message: string; issues: ValidationIssue[] } };

/** Thrown by makeEvent: the caller built a payload that breaks its own contract. */
export class EventValidationError extends Error {
  override readonly name = "EventValidationError";
  constructor(
    readonly eventType: string,
    readonly issues: ValidationIssue[],
  ) {
    super(`invalid ${eventType} event: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}

export interface MakeEventOptions {
  /** The producing service, e.g. "fraud". */
  producer: string;
  /** Overrides the partition key taken from the payload (see EVENT_CATALOG). */
  key?: string;
  /** When the fact happened; now by default. */
  eventTime?: Date | string;
}

function toIssues(error: z.ZodError, prefix: string): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path].filter((p) => p !== "").join("."),
    message: issue.message,
  }));
}

/** Validates the payload and wraps it in a new envelope with a fresh UUID v4. Throws EventValidationError. */
export function makeEvent<T extends EventType>(
  type: T,
  payload: EventPayload<T>,
  options: MakeEventOptions,
): EventEnvelope<T> {
  if (!isEventType(type)) {
    throw new EventValidationError(String(type), [{ path: "type", message: `unknown event type "${String(type)}"` }]);
  }
  const spec = EVENT_CATALOG[type];
  const parsed = spec.payload.safeParse(payload);
  const issues: ValidationIssue[] = parsed.success ? [] : toIssues(parsed.error, "payload");
  if (typeof options.producer !== "string" || options.producer.length === 0) {
    issues.push({ path: "producer", message: "must be a non-empty string" });
  }
  let eventTime: string;
  if (options.eventTime === undefined) {
    eventTime = new Date().toISOString();
  } else if (options.eventTime instanceof Date) {
    eventTime = Number.isNaN(options.eventTime.getTime()) ? "" : options.eventTime.toISOString();
  } else {
    eventTime = options.eventTime;
  }
  if (!IsoTimeSchema.safeParse(eventTime).success) {
    issues.push({ path: "eventTime", message: "must be an ISO 8601 date-time with offset" });
  }
  const keyValue = options.key ?? (parsed.success ? (parsed.data as Record<string, unknown>)[spec.keyField] : "");
  const key = typeof keyValue === "string" ? keyValue : String(keyValue ?? "");
  if (key.length === 0 && parsed.success) issues.push({ path: "key", message: "must be a non-empty string" });
  if (issues.length > 0 || !parsed.success) throw new EventValidationError(type, issues);
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: spec.schemaVersion,
    eventTime,
    producer: options.producer,
    key,
    payload: parsed.data as EventPayload<T>,
  };
}

/** Checks an already-decoded value. Never throws. */
export function validateEvent(value: unknown): ParseEventResult {
  const envelope = EnvelopeSchema.safeParse(value);
  if (!envelope.success) {
    return {
      ok: false,
      error: { reason: "invalid_envelope", message: "not an event envelope", issues: toIssues(envelope.error, "") },
    };
  }
  const { type, schemaVersion } = envelope.data;
  if (!isEventType(type)) {
    return {
      ok: false,
      error: {
        reason: "unknown_type",
        message: `unknown event type "${type}"`,
        issues: [{ path: "type", message: `unknown event type "${type}"` }],
      },
    };
  }
  const spec = EVENT_CATALOG[type];
  if (schemaVersion > spec.schemaVersion) {
    const message = `${type} schemaVersion ${schemaVersion} is newer than this reader's ${spec.schemaVersion}`;
    return { ok: false, error: { reason: "unsupported_version", message, issues: [{ path: "schemaVersion", message }] } };
  }
  const payload = spec.payload.safeParse(envelope.data.payload);
  if (!payload.success) {
    return {
      ok: false,
      error: { reason: "invalid_payload", message: `invalid ${type} payload`, issues: toIssues(payload.error, "payload") },
    };
  }
  return { ok: true, event: { ...envelope.data, type, payload: payload.data } as AnyEvent };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes and checks one message value (JSON text or its UTF-8 bytes). Never throws. */
export function parseEvent(json: string | Uint8Array): ParseEventResult {
  let text: string;
  try {
    text = typeof json === "string" ? json : utf8.decode(json);
  } catch {
    return { ok: false, error: { reason: "invalid_json", message: "value is not valid UTF-8", issues: [] } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: { reason: "invalid_json", message: `value is not JSON: ${message}`, issues: [] } };
  }
  return validateEvent(value);
}
