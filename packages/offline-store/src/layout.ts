import { join } from "node:path";
import { invalidInput } from "./errors";

/**
 * On-disk layout: `<root>/<topic>/date=YYYY-MM-DD/hour=HH/part-<n>.ndjson`, one event envelope per
 * line, partitioned by the event's own time (UTC), not by when it was consumed, so a late or
 * replayed event lands next to its contemporaries and a time-range read touches few folders.
 */
export const HOUR_MS = 3_600_000;

const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PART = /^part-(\d+)\.ndjson$/;
const DATE_DIR = /^date=(\d{4}-\d{2}-\d{2})$/;
const HOUR_DIR = /^hour=(\d{2})$/;

export interface PartitionKey {
  topic: string;
  /** YYYY-MM-DD, UTC. */
  date: string;
  /** 00-23, UTC. */
  hour: string;
}

export function checkTopic(topic: string, field = "topic"): string {
  if (typeof topic !== "string" || !TOPIC.test(topic) || topic.includes("..")) {
    throw invalidInput(field, `must be a Kafka topic name made of [A-Za-z0-9._-] (a folder name), got ${JSON.stringify(topic)}`);
  }
  return topic;
}

export function partitionOf(topic: string, eventTimeMs: number): PartitionKey {
  const iso = new Date(eventTimeMs).toISOString();
  return { topic, date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Epoch ms of the hour a partition covers. */
export function partitionStartMs(key: Pick<PartitionKey, "date" | "hour">): number {
  return Date.parse(`${key.date}T${key.hour}:00:00.000Z`);
}

export function partitionId(key: PartitionKey): string {
  return `${key.topic}/date=${key.date}/hour=${key.hour}`;
}

export function partitionDir(root: string, key: PartitionKey): string {
  return join(root, key.topic, `date=${key.date}`, `hour=${key.hour}`);
}

export function partFileName(index: number): string {
  return `part-${index}.ndjson`;
}

/** The part index of a file name, or null for anything else in the folder. */
export function partIndexOf(name: string): number | null {
  const match = PART.exec(name);
  return match ? Number(match[1]) : null;
}

export function dateOfDir(name: string): string | null {
  return DATE_DIR.exec(name)?.[1] ?? null;
}

export function hourOfDir(name: string): string | null {
  return HOUR_DIR.exec(name)?.[1] ?? null;
}

/** Accepts epoch ms, a Date or an ISO string; names the field when it is none of those. */
export function toEpochMs(value: number | string | Date, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) throw invalidInput(field, `must be a date (epoch ms, Date or ISO string), got ${String(value)}`);
  return ms;
}
