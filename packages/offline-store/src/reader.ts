import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { validateEvent } from "@mlsd/contracts";
import type { AnyEvent, EventEnvelope, EventType } from "@mlsd/contracts";
import { invalidInput } from "./errors";
import { checkTopic, dateOfDir, HOUR_MS, hourOfDir, partFileName, partIndexOf, partitionStartMs, toEpochMs } from "./layout";
import type { PartitionKey } from "./layout";

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
    const { from, to } = bounds(options);
    for (const partition of await this.partitions(topic, options)) {
      const events: { event: AnyEvent; time: number }[] = [];
      for (const file of partition.files) {
        for (const event of await this.readFile(file, options.validate ?? false)) {
          const time = Date.parse(event.eventTime);
          if (time >= from && time < to) events.push({ event, time });
        }
      }
      if ((options.order ?? "event-time") === "event-time") events.sort((a, b) => a.time - b.time);
      for (const { event } of events) yield event;
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

  private async readFile(path: string, validate: boolean): Promise<AnyEvent[]> {
    let content: string;
    try {
      content = await readFile(path, "utf8");
    } catch (error) {
      // Compaction or a retention job may remove a file between listing and reading.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const out: AnyEvent[] = [];
    const complete = content.lastIndexOf("\n") + 1;
    if (complete < content.length) this.counts.linesSkipped++;
    let start = 0;
    while (start < complete) {
      const newline = content.indexOf("\n", start);
      const line = content.slice(start, newline);
      start = newline + 1;
      if (line.length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        this.counts.linesSkipped++;
        continue;
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
      out.push(value as AnyEvent);
    }
    return out;
  }
}
