import { mkdir, open, readdir, readFile, stat, truncate } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AnyEvent } from "@mlsd/contracts";
import { invalidInput, OfflineStoreError } from "./errors";
import { checkTopic, partFileName, partIndexOf, partitionDir, partitionId, partitionOf } from "./layout";
import type { PartitionKey } from "./layout";
import { acquireLock } from "./lock";

/** What the writer stores: a valid event and the topic it was read from (a consumer's ConsumedEvent fits). */
export interface StoreRecord {
  topic: string;
  event: AnyEvent;
  /** Where the event sat in its topic (Kafka partition and offset), stored beside it when given. */
  partition?: number;
  offset?: string;
}

/**
 * An event's place in the log it was consumed from: what the online stores' applied offsets refer
 * to, so an offline replay can apply exactly the events an online state held.
 */
export interface LogPosition {
  partition: number;
  offset: number;
}

export interface TopicWriteCounts {
  written: number;
  duplicates: number;
}

export interface WriteResult {
  written: number;
  duplicates: number;
  byTopic: Record<string, TopicWriteCounts>;
}

export interface OfflineStoreWriterOptions {
  root: string;
  /**
   * Partition-hours whose id sets and open files stay in memory (least recently used beyond this
   * are closed; touching one again re-reads its ids from disk, so dedup stays exact). Default 48.
   */
  maxCachedPartitions?: number;
  /** A part file rolls over to the next one past this size. Default 64 MiB. */
  maxPartBytes?: number;
  /** fsync data files (and new folders) before write() resolves. Default true; false only for benchmarks. */
  fsync?: boolean;
}

export interface WriterStats {
  written: number;
  duplicates: number;
  byTopic: Record<string, TopicWriteCounts>;
  /** Partition-hours read from disk to rebuild their id set (first touch, or after eviction). */
  partitionsScanned: number;
  /** Bytes of torn last lines (a crash mid-append) cut off when a partition was opened. */
  tornBytesRepaired: number;
  /** Lines in existing files that were not valid JSON with an eventId (left in place, skipped). */
  unreadableLines: number;
  cachedPartitions: number;
}

interface PartitionState {
  key: PartitionKey;
  dir: string;
  ids: Set<string>;
  handle: FileHandle | null;
  partIndex: number;
  partBytes: number;
}

const MiB = 1024 * 1024;

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeFully(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}

const ID_PREFIX = '{"eventId":"';

/** The stored form: the envelope with its fields in a fixed order, eventId first (the scan reads it without parsing). */
export function serializeEvent(event: AnyEvent, position?: LogPosition): string {
  const { eventId, type, schemaVersion, eventTime, producer, key, payload } = event;
  return JSON.stringify(position ? { eventId, type, schemaVersion, eventTime, producer, key, payload, logPosition: position } : { eventId, type, schemaVersion, eventTime, producer, key, payload });
}

function positionOf(record: StoreRecord): LogPosition | undefined {
  if (record.partition === undefined || record.offset === undefined) return undefined;
  return { partition: record.partition, offset: Number(record.offset) };
}

function eventIdOfLine(line: string): string | undefined {
  if (line.startsWith(ID_PREFIX)) {
    const end = line.indexOf('"', ID_PREFIX.length);
    if (end > ID_PREFIX.length) return line.slice(ID_PREFIX.length, end);
  }
  try {
    const id = (JSON.parse(line) as { eventId?: unknown }).eventId;
    return typeof id === "string" && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Appends events to the offline store, exactly once per event id.
 *
 * Dedup: an event's partition is a function of its own time, so every copy of an event id lands
 * in the same partition-hour; the writer keeps that hour's id set (read from its files the first
 * time it is touched) and skips ids already there. Durability: write() returns only after the
 * appended lines are fsynced, so a consumer that commits Kafka offsets after it turns Kafka's
 * at-least-once delivery into exactly-once in the store. A crash mid-append leaves at most a torn
 * last line, which is cut off when the partition is next opened (its batch was never committed,
 * so Kafka delivers it again).
 */
export class OfflineStoreWriter {
  private readonly partitions = new Map<string, PartitionState>();
  private readonly maxCached: number;
  private readonly maxPartBytes: number;
  private readonly fsync: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly counts = { written: 0, duplicates: 0, partitionsScanned: 0, tornBytesRepaired: 0, unreadableLines: 0 };
  private readonly byTopic = new Map<string, TopicWriteCounts>();

  private constructor(
    readonly root: string,
    options: OfflineStoreWriterOptions,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.maxCached = options.maxCachedPartitions ?? 48;
    this.maxPartBytes = options.maxPartBytes ?? 64 * MiB;
    this.fsync = options.fsync ?? true;
  }

  /** Creates the root if needed and takes its writer lock (OfflineStoreError LOCKED if a live writer holds it). */
  static async open(options: OfflineStoreWriterOptions): Promise<OfflineStoreWriter> {
    if (typeof options.root !== "string" || options.root.length === 0) throw invalidInput("root", "must be a non-empty path");
    const maxCached = options.maxCachedPartitions ?? 48;
    if (!Number.isInteger(maxCached) || maxCached < 1) throw invalidInput("maxCachedPartitions", `must be a positive integer, got ${maxCached}`);
    const maxPart = options.maxPartBytes ?? 64 * MiB;
    if (!Number.isInteger(maxPart) || maxPart < 1) throw invalidInput("maxPartBytes", `must be a positive integer, got ${maxPart}`);
    await mkdir(options.root, { recursive: true });
    const release = await acquireLock(join(options.root, ".writer.lock"));
    return new OfflineStoreWriter(options.root, options, release);
  }

  /**
   * Appends the records not stored yet (by event id) and fsyncs them. Calls are serialised. On an
   * error nothing is acknowledged: the touched partitions are dropped from memory, so a retry
   * re-reads what did reach the disk and skips it.
   */
  write(records: readonly StoreRecord[]): Promise<WriteResult> {
    const run = this.queue.then(() => this.writeNow(records));
    this.queue = run.catch(() => undefined);
    return run;
  }

  stats(): WriterStats {
    return {
      ...this.counts,
      byTopic: Object.fromEntries([...this.byTopic].map(([topic, c]) => [topic, { ...c }])),
      cachedPartitions: this.partitions.size,
    };
  }

  /** Waits for pending writes, closes every file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    for (const state of this.partitions.values()) await state.handle?.close().catch(() => undefined);
    this.partitions.clear();
    await this.releaseLock();
  }

  private async writeNow(records: readonly StoreRecord[]): Promise<WriteResult> {
    if (this.closed) throw new OfflineStoreError("CLOSED", "writer", "the writer is closed");
    const groups = new Map<string, { key: PartitionKey; records: StoreRecord[] }>();
    records.forEach((record, i) => {
      const topic = checkTopic(record?.topic, `records[${i}].topic`);
      const event = record.event;
      const time = Date.parse(event?.eventTime);
      if (typeof event?.eventId !== "string" || event.eventId.length === 0) throw invalidInput(`records[${i}].event.eventId`, "must be a non-empty string");
      if (!Number.isFinite(time)) throw invalidInput(`records[${i}].event.eventTime`, `must be an ISO time, got ${String(event.eventTime)}`);
      const key = partitionOf(topic, time);
      const id = partitionId(key);
      let group = groups.get(id);
      if (group === undefined) {
        group = { key, records: [] };
        groups.set(id, group);
      }
      group.records.push(record);
    });

    const result: WriteResult = { written: 0, duplicates: 0, byTopic: {} };
    const touched: { state: PartitionState; ids: string[] }[] = [];
    const dirty = new Set<PartitionState>();
    try {
      for (const [id, group] of groups) {
        const state = await this.partition(id, group.key);
        const fresh: string[] = [];
        const seen = new Set<string>();
        let text = "";
        const counts = (result.byTopic[group.key.topic] ??= { written: 0, duplicates: 0 });
        for (const record of group.records) {
          const event = record.event;
          if (state.ids.has(event.eventId) || seen.has(event.eventId)) {
            counts.duplicates++;
            continue;
          }
          seen.add(event.eventId);
          fresh.push(event.eventId);
          text += serializeEvent(event, positionOf(record)) + "\n";
        }
        touched.push({ state, ids: fresh });
        if (fresh.length === 0) continue;
        const buffer = Buffer.from(text, "utf8");
        await this.append(state, buffer, dirty);
        counts.written += fresh.length;
      }
      if (this.fsync) await Promise.all([...dirty].map((state) => (state.handle as FileHandle).sync()));
    } catch (error) {
      for (const { state } of touched) await this.forget(state);
      throw error;
    }
    // Acknowledged only now that the lines are on disk.
    for (const { state, ids } of touched) for (const id of ids) state.ids.add(id);
    for (const [topic, counts] of Object.entries(result.byTopic)) {
      result.written += counts.written;
      result.duplicates += counts.duplicates;
      const total = this.byTopic.get(topic) ?? { written: 0, duplicates: 0 };
      total.written += counts.written;
      total.duplicates += counts.duplicates;
      this.byTopic.set(topic, total);
    }
    this.counts.written += result.written;
    this.counts.duplicates += result.duplicates;
    await this.evict();
    return result;
  }

  private async append(state: PartitionState, buffer: Buffer, dirty: Set<PartitionState>): Promise<void> {
    if (state.handle !== null && state.partBytes > 0 && state.partBytes + buffer.length > this.maxPartBytes) {
      if (this.fsync && dirty.has(state)) await state.handle.sync();
      dirty.delete(state);
      await state.handle.close();
      state.handle = null;
      state.partIndex++;
      state.partBytes = 0;
    }
    if (state.handle === null) {
      state.handle = await open(join(state.dir, partFileName(state.partIndex)), "a");
      // A new file's directory entry must be durable too, or a crash could lose the whole file.
      if (this.fsync && state.partBytes === 0) await fsyncDir(state.dir);
    }
    await writeFully(state.handle, buffer);
    state.partBytes += buffer.length;
    dirty.add(state);
  }

  private async partition(id: string, key: PartitionKey): Promise<PartitionState> {
    const cached = this.partitions.get(id);
    if (cached !== undefined) {
      this.partitions.delete(id);
      this.partitions.set(id, cached);
      return cached;
    }
    const state = await this.load(key);
    this.partitions.set(id, state);
    return state;
  }

  /** Reads a partition's ids from its files, cutting off a torn last line left by a crash. */
  private async load(key: PartitionKey): Promise<PartitionState> {
    const dir = partitionDir(this.root, key);
    await this.ensureDir(dir);
    const parts = (await readdir(dir))
      .map((name) => partIndexOf(name))
      .filter((index): index is number => index !== null)
      .sort((a, b) => a - b);
    const ids = new Set<string>();
    let partBytes = 0;
    for (const index of parts) {
      const path = join(dir, partFileName(index));
      const content = await readFile(path);
      let end = content.length;
      if (end > 0 && content[end - 1] !== 0x0a) {
        end = content.lastIndexOf(0x0a) + 1;
        await truncate(path, end);
        this.counts.tornBytesRepaired += content.length - end;
      }
      const text = content.subarray(0, end).toString("utf8");
      let start = 0;
      while (start < text.length) {
        const newline = text.indexOf("\n", start);
        const line = text.slice(start, newline);
        start = newline + 1;
        if (line.length === 0) continue;
        const id = eventIdOfLine(line);
        if (id === undefined) this.counts.unreadableLines++;
        else ids.add(id);
      }
      partBytes = end;
    }
    this.counts.partitionsScanned++;
    return { key, dir, ids, handle: null, partIndex: parts.at(-1) ?? 0, partBytes };
  }

  private async ensureDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== this.root && d !== dirname(d); d = dirname(d)) {
      try {
        await stat(d);
        break;
      } catch {
        missing.push(d);
      }
    }
    if (missing.length === 0) return;
    await mkdir(dir, { recursive: true });
    if (this.fsync) for (const d of missing) await fsyncDir(dirname(d));
  }

  private async forget(state: PartitionState): Promise<void> {
    const id = partitionId(state.key);
    if (this.partitions.get(id) === state) this.partitions.delete(id);
    await state.handle?.close().catch(() => undefined);
    state.handle = null;
  }

  private async evict(): Promise<void> {
    while (this.partitions.size > this.maxCached) {
      const oldest = this.partitions.values().next().value as PartitionState;
      await this.forget(oldest);
    }
  }
}
