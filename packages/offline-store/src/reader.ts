import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { validateEvent } from "@mlsd/contracts";
import type { AnyEvent, EventEnvelope, EventType } from "@mlsd/contracts";
import { invalidInput } from "./errors";
import { checkTopic, dateOfDir, HOUR_MS, hourOfDir, partFileName, partIndexOf, partitionStartMs, toEpochMs } from "./layout";
import type { PartitionKey } from "./layout";
import type { LogPosition } from "./writer";

export type TimeInput = number | string | Date;

export interface TimeRange {
  /** Inclusive lower bound on the event time; unbounded when absent. */
  from?: TimeInput;
  /** Exclusive upper bound on the event time; unbounded when absent. */
  to?: TimeInput;
}

export interface ReadOptions extends TimeRange {
  /**
   * "event-time" (default) sorts each hour by event time (stable), so the whole iteration is in
   * event-time order; "arrival" keeps the order the events were written in.
   */
  order?: "event-time" | "arrival";
  /** Re-check every line against its schema (the consumer already did before writing). Default false. */
  validate?: boolean;
}

/** A stored event and where it sat in the log it was consumed from. */
export interface StoredRecord<E = AnyEvent> {
  event: E;
  position: LogPosition | null;
}

export interface PartitionInfo extends PartitionKey {
  startMs: number;
  dir: string;
  files: string[];
}

export interface ReaderStats {
  linesRead: number;
  /** A torn last line (a write in progress or a crash) or a line that fails to parse or validate. */
  linesSkipped: number;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function bounds(range: TimeRange): { from: number; to: number } {
  const from = range.from === undefined ? -Infinity : toEpochMs(range.from, "from");
  const to = range.to === undefined ? Infinity : toEpochMs(range.to, "to");
  if (!(from <= to)) throw invalidInput("to", `must not be before from (${String(range.from)} > ${String(range.to)})`);
  return { from, to };
}

/**
 * Reads the offline store the event logger writes: lists partitions and iterates a topic's events
 * in a time range. Safe to use while the writer appends: a line still being written is skipped.
 */
export class OfflineStoreReader {
  private readonly counts: ReaderStats = { linesRead: 0, linesSkipped: 0 };

  constructor(readonly root: string) {
    if (typeof root !== "string" || root.length === 0) throw invalidInput("root", "must be a non-empty path");
  }

  stats(): ReaderStats {
    return { ...this.counts };
  }

  async topics(): Promise<string[]> {
    const names = await listDir(this.root);
    const topics: string[] = [];
    for (const name of names.sort()) {
      if (name.startsWith(".")) continue;
      if ((await listDir(join(this.root, name))).some((d) => dateOfDir(d) !== null)) topics.push(name);
    }
    return topics;
  }

  /** The partition-hours of `topic` that overlap the range, oldest first. */
  async partitions(topic: string, range: TimeRange = {}): Promise<PartitionInfo[]> {
    checkTopic(topic);
    const { from, to } = bounds(range);
    const topicDir = join(this.root, topic);
    const result: PartitionInfo[] = [];
    for (const dateName of (await listDir(topicDir)).sort()) {
      const date = dateOfDir(dateName);
      if (date === null) continue;
      const dayStart = Date.parse(`${date}T00:00:00.000Z`);
      if (dayStart >= to || dayStart + 24 * HOUR_MS <= from) continue;
      for (const hourName of (await listDir(join(topicDir, dateName))).sort()) {
        const hour = hourOfDir(hourName);
        if (hour === null) continue;
        const startMs = partitionStartMs({ date, hour });
        if (startMs >= to || startMs + HOUR_MS <= from) continue;
        const dir = join(topicDir, dateName, hourName);
        const files = (await listDir(dir))
          .map((name) => partIndexOf(name))
          .filter((index): index is number => index !== null)
          .sort((a, b) => a - b)
          .map((index) => join(dir, partFileName(index)));
        result.push({ topic, date, hour, startMs, dir, files });
      }
    }
    return result;
  }

  /** Every stored event of `topic` with from <= eventTime < to. */
  async *events(topic: string, options: ReadOptions = {}): AsyncGenerator<AnyEvent> {
    for await (const { event } of this.records(topic, options)) yield event;
  }

  /** `events()` with each event's position in the log it was consumed from (null when it was stored without one). */
  async *records(topic: string, options: ReadOptions = {}): AsyncGenerator<StoredRecord> {
    const { from, to } = bounds(options);
    for (const partition of await this.partitions(topic, options)) {
      const records: { record: StoredRecord; time: number }[] = [];
      for (const file of partition.files) {
        for (const record of await this.readFile(file, options.validate ?? false)) {
          const time = Date.parse(record.event.eventTime);
          if (time >= from && time < to) records.push({ record, time });
        }
      }
      if ((options.order ?? "event-time") === "event-time") records.sort((a, b) => a.time - b.time);
      for (const { record } of records) yield record;
    }
  }

  /** `events()` collected into an array. */
  async readAll(topic: string, options: ReadOptions = {}): Promise<AnyEvent[]> {
    const out: AnyEvent[] = [];
    for await (const event of this.events(topic, options)) out.push(event);
    return out;
  }

  /** `events()` of one event type (other types sharing the topic are skipped). */
  async *eventsOfType<T extends EventType>(topic: string, type: T, options: ReadOptions = {}): AsyncGenerator<EventEnvelope<T>> {
    for await (const event of this.events(topic, options)) if (event.type === type) yield event as EventEnvelope<T>;
  }

  /** `records()` of one event type. */
  async *recordsOfType<T extends EventType>(topic: string, type: T, options: ReadOptions = {}): AsyncGenerator<StoredRecord<EventEnvelope<T>>> {
    for await (const record of this.records(topic, options)) if (record.event.type === type) yield record as StoredRecord<EventEnvelope<T>>;
  }

  private async readFile(path: string, validate: boolean): Promise<StoredRecord[]> {
    let content: string;
    try {
      content = await readFile(path, "utf8");
    } catch (error) {
      // Compaction or a retention job may remove a file between listing and reading.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const out: StoredRecord[] = [];
    const complete = content.lastIndexOf("\n") + 1;
    if (complete < content.length) this.counts.linesSkipped++;
    let start = 0;
    while (start < complete) {
      const newline = content.indexOf("\n", start);
      const line = content.slice(start, newline);
      start = newline + 1;
      if (line.length === 0) continue;
      let value: unknown;
      let position: LogPosition | null = null;
      try {
        value = JSON.parse(line);
      } catch {
        this.counts.linesSkipped++;
        continue;
      }
      if (value !== null && typeof value === "object" && "logPosition" in value) {
        const { logPosition, ...event } = value as { logPosition?: LogPosition };
        if (Number.isSafeInteger(logPosition?.partition) && Number.isSafeInteger(logPosition?.offset)) position = logPosition as LogPosition;
        value = event;
      }
      if (validate) {
        const checked = validateEvent(value);
        if (!checked.ok) {
          this.counts.linesSkipped++;
          continue;
        }
        value = checked.event;
      } else if (typeof (value as { eventTime?: unknown })?.eventTime !== "string") {
        this.counts.linesSkipped++;
        continue;
      }
      this.counts.linesRead++;
      out.push({ event: value as AnyEvent, position });
    }
    return out;
  }
}
