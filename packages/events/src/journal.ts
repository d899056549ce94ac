import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errorMessage } from "./logger";
import type { EventLogger } from "./logger";
import type { SizedRecord } from "./record";

export interface JournalOptions {
  dir: string;
  /** A segment is closed (and fsynced) once it would grow past this size. */
  segmentBytes: number;
  /** Bound on the bytes the journal keeps on disk; appends past it are refused. */
  maxBytes: number;
  /** Appended lines reach the disk (fsync) at most this long after their write. */
  fsyncIntervalMs: number;
  logger: EventLogger;
}

export interface JournalPosition {
  segment: number;
  offset: number;
}

export interface JournalBatch {
  /** Decoded records, oldest first. */
  records: SizedRecord[];
  /** Lines that could not be decoded; they are consumed with the batch. */
  corrupt: number;
  /** Lines consumed by this batch (records + corrupt). */
  lines: number;
  next: JournalPosition;
}

export interface JournalRecovery {
  segments: number;
  pendingRecords: number;
  /** Bytes of a partial last line cut off (a write torn by a crash). */
  tornBytes: number;
  /** The pid in a lock left by a process that is gone, if any. */
  staleLockPid: number | null;
}

export class JournalLockedError extends Error {
  override readonly name = "JournalLockedError";
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(`journal ${dir} is in use by process ${ownerPid}`);
  }
}

interface Segment {
  index: number;
  path: string;
  size: number;
}

const SEGMENT_NAME = /^segment-(\d{12})\.ndjson$/;
const LOCK_FILE = "journal.lock";
const CURSOR_FILE = "cursor.json";
const NEWLINE = 0x0a;
const MIN_READ_CHUNK = 64 * 1024;
const heldLocks = new Set<string>();

function segmentName(index: number): string {
  return `segment-${String(index).padStart(12, "0")}.ndjson`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function acquireLock(dir: string): Promise<number | null> {
  const key = resolve(dir);
  if (heldLocks.has(key)) throw new JournalLockedError(dir, process.pid);
  const path = join(dir, LOCK_FILE);
  try {
    await writeFile(path, String(process.pid), { flag: "wx" });
    heldLocks.add(key);
    return null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const owner = Number.parseInt(await readFile(path, "utf8"), 10);
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
    throw new JournalLockedError(dir, owner);
  }
  await writeFile(path, String(process.pid));
  heldLocks.add(key);
  return Number.isInteger(owner) ? owner : null;
}

const LINE_END = Buffer.from("}\n");

/** A record's line, `{"topic","key","event"}` and a newline, as the parts to write (the value is not copied). */
function encodeLine(record: SizedRecord): Buffer[] {
  return [Buffer.from(`{"topic":${JSON.stringify(record.topic)},"key":${JSON.stringify(record.key)},"event":`), record.value, LINE_END];
}

function decodeLine(line: string): SizedRecord | null {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null) return null;
    const { topic, key, event } = parsed as Record<string, unknown>;
    if (typeof topic !== "string" || typeof key !== "string" || typeof event !== "object" || event === null) return null;
    const value = Buffer.from(JSON.stringify(event));
    return { topic, key, value, bytes: value.length };
  } catch {
    return null;
  }
}

async function countLines(path: string, from: number, size: number): Promise<number> {
  const handle = await open(path, "r");
  try {
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    let lines = 0;
    for (let offset = from; offset < size; ) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - offset), offset);
      if (bytesRead === 0) break;
      for (let i = chunk.indexOf(NEWLINE, 0); i >= 0 && i < bytesRead; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
      offset += bytesRead;
    }
    return lines;
  } finally {
    await handle.close();
  }
}

/** Cuts a partial last line (no trailing newline) off a segment; returns the bytes removed. */
async function truncateTornTail(path: string): Promise<{ size: number; torn: number }> {
  const handle = await open(path, "r+");
  try {
    const { size } = await handle.stat();
    if (size === 0) return { size, torn: 0 };
    const window = Buffer.allocUnsafe(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - window.length);
      const { bytesRead } = await handle.read(window, 0, end - start, start);
      const last = window.subarray(0, bytesRead).lastIndexOf(NEWLINE);
      if (last >= 0) {
        const keep = start + last + 1;
        if (keep < size) await handle.truncate(keep);
        return { size: keep, torn: size - keep };
      }
      end = start;
    }
    await handle.truncate(0);
    return { size: 0, torn: size };
  } finally {
    await handle.close();
  }
}

/**
 * Append-only spill log: NDJSON segment files `segment-<index>.ndjson`, one record per line
 * (`{"topic","key","event"}`), read back in append order from a persisted cursor. A lock file
 * keeps a second producer (in this or another live process) out of the same directory.
 *
 * Every operation runs one at a time (appends at the tail, reads and commits at the head).
 */
export class Journal {
  private segments: Segment[] = [];
  private cursor: JournalPosition = { segment: 1, offset: 0 };
  private pending = 0;
  private totalBytes = 0;
  private writer: { index: number; handle: FileHandle } | null = null;
  private reader: { index: number; handle: FileHandle } | null = null;
  private dirty = false;
  private lastSync = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: JournalOptions) {}

  /** Opens (creating if needed) the journal and recovers what a previous process left. */
  static async open(options: JournalOptions): Promise<{ journal: Journal; recovery: JournalRecovery }> {
    await mkdir(options.dir, { recursive: true });
    const staleLockPid = await acquireLock(options.dir);
    const journal = new Journal(options);
    try {
      const recovery = await journal.recover();
      return { journal, recovery: { ...recovery, staleLockPid } };
    } catch (error) {
      heldLocks.delete(resolve(options.dir));
      throw error;
    }
  }

  /** Records appended and not yet committed as delivered. */
  get pendingRecords(): number {
    return this.pending;
  }

  /** Bytes on disk in live segments. */
  get bytes(): number {
    return this.totalBytes;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async recover(): Promise<Omit<JournalRecovery, "staleLockPid">> {
    const names = await readdir(this.options.dir);
    const found: Segment[] = [];
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match?.[1] !== undefined) found.push({ index: Number(match[1]), path: join(this.options.dir, name), size: 0 });
    }
    found.sort((a, b) => a.index - b.index);

    let cursor: JournalPosition | null = null;
    try {
      const parsed = JSON.parse(await readFile(join(this.options.dir, CURSOR_FILE), "utf8")) as Partial<JournalPosition>;
      if (Number.isInteger(parsed.segment) && Number.isInteger(parsed.offset)) {
        cursor = { segment: parsed.segment as number, offset: parsed.offset as number };
      }
    } catch {
      cursor = null;
    }

    let tornBytes = 0;
    for (const segment of found) {
      if (cursor !== null && segment.index < cursor.segment) {
        // Fully delivered before the crash; the cursor was written before the delete.
        await rm(segment.path, { force: true });
        continue;
      }
      const { size, torn } = await truncateTornTail(segment.path);
      segment.size = size;
      tornBytes += torn;
      this.segments.push(segment);
    }
    const first = this.segments[0];
    if (first === undefined) {
      this.cursor = { segment: (cursor?.segment ?? 0) + 1, offset: 0 };
    } else if (cursor === null || cursor.segment !== first.index) {
      this.cursor = { segment: first.index, offset: 0 };
    } else {
      this.cursor = { segment: first.index, offset: Math.min(cursor.offset, first.size) };
    }
    for (const segment of this.segments) {
      this.totalBytes += segment.size;
      const from = segment.index === this.cursor.segment ? this.cursor.offset : 0;
      this.pending += await countLines(segment.path, from, segment.size);
    }
    if (this.segments.length > 0 && this.pending === 0) await this.reset();
    if (tornBytes > 0) {
      this.options.logger.warn({ dir: this.options.dir, tornBytes }, "journal: cut a partial last line left by a crash");
    }
    return { segments: this.segments.length, pendingRecords: this.pending, tornBytes };
  }

  /**
   * Appends records in order. When the next record would take the journal past `maxBytes`, it and
   * every record after it are refused (the caller counts them as dropped). Returns how many were
   * appended: always a prefix of `records`.
   */
  append(records: readonly SizedRecord[]): Promise<number> {
    return this.exclusive(async () => {
      if (this.closed) throw new Error("journal is closed");
      let appended = 0;
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      for (const record of records) {
        const line = encodeLine(record);
        const lineBytes = line.reduce((sum, part) => sum + part.length, 0);
        if (this.totalBytes + chunkBytes + lineBytes > this.options.maxBytes) break;
        const active = this.ensureActiveSegment();
        if (active.size + chunkBytes > 0 && active.size + chunkBytes + lineBytes > this.options.segmentBytes) {
          await this.writeChunk(chunk, chunkBytes);
          chunk = [];
          chunkBytes = 0;
          await this.roll();
        }
        chunk.push(...line);
        chunkBytes += lineBytes;
        appended++;
      }
      await this.writeChunk(chunk, chunkBytes);
      await this.syncIfDue();
      // Counted once the caller is about to drop them from memory, so no record is seen in both places.
      this.pending += appended;
      return appended;
    });
  }

  /** Reads up to `maxRecords` / `maxBytes` from the cursor without consuming them. */
  read(maxRecords: number, maxBytes: number): Promise<JournalBatch> {
    return this.exclusive(async () => {
      const records: SizedRecord[] = [];
      let corrupt = 0;
      let bytes = 0;
      const pos = { ...this.cursor };
      while (records.length + corrupt < maxRecords && bytes < maxBytes) {
        const segment = this.segments.find((s) => s.index >= pos.segment);
        if (segment === undefined) break;
        if (segment.index !== pos.segment) {
          pos.segment = segment.index;
          pos.offset = 0;
        }
        const remaining = segment.size - pos.offset;
        if (remaining <= 0) {
          if (segment === this.segments[this.segments.length - 1]) break;
          pos.segment = segment.index + 1;
          pos.offset = 0;
          continue;
        }
        let want = Math.min(remaining, Math.max(MIN_READ_CHUNK, maxBytes - bytes));
        let buffer = await this.readAt(segment, pos.offset, want);
        let lastNewline = buffer.lastIndexOf(NEWLINE);
        while (lastNewline < 0 && want < remaining) {
          want = Math.min(remaining, want * 2);
          buffer = await this.readAt(segment, pos.offset, want);
          lastNewline = buffer.lastIndexOf(NEWLINE);
        }
        if (lastNewline < 0) break;
        const base = pos.offset;
        let start = 0;
        while (start <= lastNewline && records.length + corrupt < maxRecords && bytes < maxBytes) {
          const newline = buffer.indexOf(NEWLINE, start);
          const record = decodeLine(buffer.toString("utf8", start, newline));
          if (record === null) corrupt++;
          else {
            records.push(record);
            bytes += record.bytes;
          }
          start = newline + 1;
          pos.offset = base + start;
        }
      }
      return { records, corrupt, lines: records.length + corrupt, next: pos };
    });
  }

  /** Marks a batch from `read` as delivered: moves the cursor and deletes finished segments. */
  commit(batch: Pick<JournalBatch, "lines" | "next">): Promise<void> {
    return this.exclusive(async () => {
      this.cursor = { ...batch.next };
      this.pending -= batch.lines;
      if (this.pending <= 0) {
        this.pending = 0;
        await this.reset();
        return;
      }
      await this.writeCursor();
      const finished = this.segments.filter((s) => s.index < this.cursor.segment);
      for (const segment of finished) {
        if (this.reader?.index === segment.index) await this.closeReader();
        await rm(segment.path, { force: true });
        this.totalBytes -= segment.size;
      }
      this.segments = this.segments.filter((s) => s.index >= this.cursor.segment);
    });
  }

  /** Forces appended lines to disk now. */
  sync(): Promise<void> {
    return this.exclusive(() => this.syncNow());
  }

  /** Syncs, persists the cursor and releases the lock. The journal's files stay for the next start. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      if (this.syncTimer !== null) clearTimeout(this.syncTimer);
      this.syncTimer = null;
      await this.syncNow();
      if (this.segments.length > 0) await this.writeCursor();
      await this.closeReader();
      if (this.writer !== null) await this.writer.handle.close();
      this.writer = null;
      await rm(join(this.options.dir, LOCK_FILE), { force: true });
      heldLocks.delete(resolve(this.options.dir));
    });
  }

  private activeSegment(): Segment | null {
    return this.segments[this.segments.length - 1] ?? null;
  }

  private ensureActiveSegment(): Segment {
    let active = this.activeSegment();
    if (active === null) {
      active = { index: this.cursor.segment, path: join(this.options.dir, segmentName(this.cursor.segment)), size: 0 };
      this.segments.push(active);
    }
    return active;
  }

  private async writeChunk(parts: Buffer[], bytes: number): Promise<void> {
    if (parts.length === 0) return;
    const active = this.ensureActiveSegment();
    if (this.writer?.index !== active.index) {
      if (this.writer !== null) await this.writer.handle.close();
      this.writer = { index: active.index, handle: await open(active.path, "a") };
      // A new file's directory entry must reach the disk too, or a power loss can orphan its data.
      if (active.size === 0) await this.syncDirectory();
    }
    const buffer = Buffer.concat(parts, bytes);
    let written = 0;
    while (written < buffer.length) {
      const { bytesWritten } = await this.writer.handle.write(buffer, written, buffer.length - written);
      written += bytesWritten;
    }
    active.size += bytes;
    this.totalBytes += bytes;
    this.dirty = true;
  }

  private async roll(): Promise<void> {
    await this.syncNow();
    if (this.writer !== null) await this.writer.handle.close();
    this.writer = null;
    const last = this.activeSegment();
    const index = (last?.index ?? this.cursor.segment - 1) + 1;
    this.segments.push({ index, path: join(this.options.dir, segmentName(index)), size: 0 });
  }

  private async syncIfDue(): Promise<void> {
    if (!this.dirty) return;
    const wait = this.lastSync + this.options.fsyncIntervalMs - Date.now();
    if (wait <= 0) {
      await this.syncNow();
      return;
    }
    if (this.syncTimer === null) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        this.sync().catch((error: unknown) =>
          this.options.logger.error({ dir: this.options.dir, error: errorMessage(error) }, "journal: fsync failed"),
        );
      }, wait);
      this.syncTimer.unref();
    }
  }

  private async syncNow(): Promise<void> {
    if (this.dirty && this.writer !== null) await this.writer.handle.sync();
    this.dirty = false;
    this.lastSync = Date.now();
  }

  private async syncDirectory(): Promise<void> {
    const dir = await open(this.options.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private async readAt(segment: Segment, offset: number, length: number): Promise<Buffer> {
    if (this.reader?.index !== segment.index) {
      await this.closeReader();
      this.reader = { index: segment.index, handle: await open(segment.path, "r") };
    }
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.reader.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  private async closeReader(): Promise<void> {
    if (this.reader !== null) await this.reader.handle.close();
    this.reader = null;
  }

  private async writeCursor(): Promise<void> {
    const path = join(this.options.dir, CURSOR_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(this.cursor));
    await rename(`${path}.tmp`, path);
  }

  /** Everything delivered: drop all segments and start the next append in a fresh one. */
  private async reset(): Promise<void> {
    await this.closeReader();
    if (this.writer !== null) await this.writer.handle.close();
    this.writer = null;
    this.dirty = false;
    const next = (this.activeSegment()?.index ?? this.cursor.segment - 1) + 1;
    this.cursor = { segment: next, offset: 0 };
    await this.writeCursor();
    for (const segment of this.segments) await rm(segment.path, { force: true });
    this.segments = [];
    this.totalBytes = 0;
  }
}
