import { performance } from "node:perf_hooks";
import { EVENT_CATALOG, isEventType } from "@mlsd/contracts";
import type { EventEnvelope } from "@mlsd/contracts";
import type { Registry } from "prom-client";
import { z } from "zod";
import { Journal } from "./journal";
import type { JournalRecovery } from "./journal";
import { errorMessage, silentEventLogger } from "./logger";
import type { EventLogger } from "./logger";
import { createProducerMetrics, DROP_REASONS } from "./producer-metrics";
import type { DropReason, ProducerMetrics } from "./producer-metrics";
import { RecordQueue } from "./queue";
import type { SizedRecord } from "./record";
import type { EventPublisher } from "./publisher";
import type { RecordSender } from "./sender";

const MiB = 1024 * 1024;

const SettingsSchema = z
  .object({
    queue: z
      .object({
        maxEvents: z.number().int().positive().default(100_000),
        maxBytes: z.number().int().positive().default(64 * MiB),
        /** Above this fraction of either bound, the queue spills to the journal instead of waiting on Kafka. */
        highWaterFraction: z.number().gt(0).max(1).default(0.5),
      })
      .default({}),
    batch: z
      .object({
        maxEvents: z.number().int().positive().default(5_000),
        maxBytes: z.number().int().positive().default(MiB / 2),
        lingerMs: z.number().nonnegative().default(5),
      })
      .default({}),
    journal: z
      .object({
        segmentBytes: z.number().int().positive().default(16 * MiB),
        maxBytes: z.number().int().positive().default(1024 * MiB),
        fsyncIntervalMs: z.number().nonnegative().default(100),
      })
      .default({}),
    backoff: z
      .object({
        initialMs: z.number().positive().default(100),
        maxMs: z.number().positive().default(5_000),
      })
      .default({}),
    /** Kafka's default `message.max.bytes` is 1 MiB per record batch; refuse single events near it. */
    maxEventBytes: z.number().int().positive().default(MiB / 2),
    /**
     * A send outstanding this long counts as Kafka being slow: what waits in memory (the outstanding
     * batch included) moves to the journal, so a stalled broker never holds events only in RAM for
     * the whole request timeout.
     */
    spillAfterMs: z.number().positive().default(2_000),
    flushTimeoutMs: z.number().nonnegative().default(10_000),
  })
  .superRefine((s, ctx) => {
    // An abandoned in-flight batch goes to the head of an empty journal; it must always fit.
    if (s.journal.maxBytes < 2 * (s.batch.maxBytes + s.maxEventBytes)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["journal", "maxBytes"],
        message: "must be at least 2 x (batch.maxBytes + maxEventBytes)",
      });
    }
  });

export type EventProducerSettings = z.input<typeof SettingsSchema>;

export interface EventProducerOptions extends EventProducerSettings {
  sender: RecordSender;
  /** Directory of the spill journal; one producer per directory (a lock file enforces it). */
  journalDir: string;
  registry: Registry;
  /** Metric names become `<metricsPrefix>_events_*`. */
  metricsPrefix: string;
  logger?: EventLogger;
}

export class ProducerOptionsError extends Error {
  override readonly name = "ProducerOptionsError";
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid EventProducer options: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
}

export interface FlushResult {
  /** Everything published before the call is acknowledged by Kafka. */
  delivered: boolean;
  /** Events left in the journal (fsynced), to be sent by this producer or the next one on this directory. */
  inJournal: number;
  /** Events still only in memory (only if the journal could not take them). */
  inMemory: number;
}

export interface ProducerStats {
  queued: number;
  queuedBytes: number;
  journalPending: number;
  journalBytes: number;
  kafkaUp: boolean;
  published: number;
  sent: number;
  spilled: number;
  replayed: number;
  dropped: Record<DropReason, number>;
}

interface Waiter {
  until: () => boolean;
  release: () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A timer that does not keep the process alive (backoff waits must not delay a shutdown). */
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

/**
 * Publishes events to Kafka without ever blocking or throwing on the caller's path.
 *
 * publish() serialises the event and appends it to a bounded in-memory queue. One background worker
 * moves events on, oldest first, along one of two paths:
 * - direct: batches (size or linger) from the queue head to Kafka;
 * - journal: when a send fails, or the queue passes its high-water mark while a send is outstanding,
 *   the queue head is appended to an on-disk journal and, from then on, the journal is drained to
 *   Kafka before the queue is sent again.
 * Invariant: every event in the journal was published before every event in the queue, and both are
 * sent oldest first, so events with the same key reach their partition in publish order (first
 * deliveries; see README for when duplicates can occur).
 */
export class EventProducer implements EventPublisher {
  private readonly settings: z.output<typeof SettingsSchema>;
  private readonly sender: RecordSender;
  private readonly journalDir: string;
  private readonly logger: EventLogger;
  private readonly metrics: ProducerMetrics;
  private readonly queue: RecordQueue;
  private readonly highWaterEvents: number;
  private readonly highWaterBytes: number;
  private journal: Journal | null = null;
  private worker: Promise<void> | null = null;
  private waiter: Waiter | null = null;
  private kafkaUp = true;
  private backoffMs: number;
  private nextAttemptAt = 0;
  /** A direct send given up on while outstanding; its records sit at the journal head. */
  private abandoned: { outcome: Promise<boolean>; records: number } | null = null;
  private flushes = 0;
  private drainToDisk = false;
  private stopping = false;
  private closed = false;
  private readonly counts = { published: 0, sent: 0, spilled: 0, replayed: 0 };
  private readonly dropCounts = {} as Record<DropReason, number>;
  private readonly dropLog = new Map<DropReason, { lastLogged: number; unlogged: number }>();

  constructor(options: EventProducerOptions) {
    const { sender, journalDir, registry, metricsPrefix, logger, ...rest } = options;
    const parsed = SettingsSchema.safeParse(rest);
    if (!parsed.success) {
      throw new ProducerOptionsError(
        parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
      );
    }
    this.settings = parsed.data;
    this.sender = sender;
    this.journalDir = journalDir;
    this.logger = logger ?? silentEventLogger;
    this.queue = new RecordQueue(this.settings.queue);
    this.highWaterEvents = Math.max(1, Math.floor(this.settings.queue.maxEvents * this.settings.queue.highWaterFraction));
    this.highWaterBytes = Math.floor(this.settings.queue.maxBytes * this.settings.queue.highWaterFraction);
    this.backoffMs = this.settings.backoff.initialMs;
    this.metrics = createProducerMetrics(registry, metricsPrefix, {
      queueDepth: () => this.queue.length,
      queueBytes: () => this.queue.bytes,
      journalPending: () => this.journal?.pendingRecords ?? 0,
      journalBytes: () => this.journal?.bytes ?? 0,
      kafkaUp: () => this.kafkaUp,
    });
    for (const reason of DROP_REASONS) this.dropCounts[reason] = 0;
  }

  /**
   * Opens the journal (recovering what a crashed or timed-out predecessor left, which is sent before
   * anything published now) and starts the background worker. Kafka may be down: nothing here waits
   * for it. Throws JournalLockedError when another live producer holds the directory.
   */
  async start(): Promise<JournalRecovery> {
    if (this.worker !== null) throw new Error("EventProducer already started");
    const { journal, recovery } = await Journal.open({
      dir: this.journalDir,
      ...this.settings.journal,
      logger: this.logger,
    });
    this.journal = journal;
    if (recovery.pendingRecords > 0 || recovery.staleLockPid !== null) {
      this.logger.info({ dir: this.journalDir, ...recovery }, "event producer: recovered journal, replaying it first");
    }
    this.worker = this.run();
    return recovery;
  }

  /** Never throws and never waits; an event that cannot be kept is counted and logged as dropped. */
  publish(event: EventEnvelope): void {
    if (this.closed) return this.drop("closed", 1);
    let record: SizedRecord;
    try {
      if (!isEventType(event.type) || typeof event.key !== "string" || event.key.length === 0) {
        return this.drop("invalid_event", 1);
      }
      const value = Buffer.from(JSON.stringify(event));
      record = { topic: EVENT_CATALOG[event.type].topic, key: event.key, value, bytes: value.length };
    } catch {
      return this.drop("invalid_event", 1);
    }
    if (record.bytes > this.settings.maxEventBytes) return this.drop("too_large", 1);
    if (!this.queue.push(record)) return this.drop("queue_full", 1);
    this.counts.published++;
    this.metrics.published.inc();
    this.notify();
  }

  /**
   * Waits, for at most `timeoutMs`, until nothing is pending (queue and journal empty, everything
   * acknowledged by Kafka); what is still pending then is moved from memory to the journal and
   * fsynced. Meant for shutdown: while publish() keeps adding events the producer is rarely idle.
   */
  async flush(timeoutMs: number = this.settings.flushTimeoutMs): Promise<FlushResult> {
    const deadline = Date.now() + timeoutMs;
    this.flushes++;
    this.notify();
    try {
      while (!this.idle() && Date.now() < deadline && this.worker !== null) await sleep(2);
      if (!this.idle() && this.worker !== null) {
        this.drainToDisk = true;
        this.notify();
        const drainDeadline = Date.now() + Math.max(1_000, timeoutMs);
        while (this.queue.length > 0 && Date.now() < drainDeadline) await sleep(2);
        this.drainToDisk = false;
      }
      if (this.journal !== null) await this.journal.sync();
    } finally {
      this.flushes--;
    }
    return { delivered: this.idle(), inJournal: this.journal?.pendingRecords ?? 0, inMemory: this.queue.length };
  }

  /**
   * Graceful shutdown: refuses new events, flushes (Kafka, else the journal) within `timeoutMs`,
   * stops the worker, closes the journal and disconnects the sender.
   */
  async close(timeoutMs: number = this.settings.flushTimeoutMs): Promise<FlushResult> {
    if (this.closed) return { delivered: this.idle(), inJournal: this.journal?.pendingRecords ?? 0, inMemory: this.queue.length };
    this.closed = true;
    const result = await this.flush(timeoutMs);
    this.stopping = true;
    this.notify();
    if (this.worker !== null) await this.worker;
    if (this.journal !== null) {
      if (this.queue.length > 0) await this.spill(this.queue.length);
      await this.journal.close();
    }
    try {
      await Promise.race([this.sender.disconnect(), sleep(Math.max(1_000, timeoutMs))]);
    } catch (error) {
      this.logger.warn({ error: errorMessage(error) }, "event producer: disconnect failed");
    }
    const final = { delivered: result.delivered, inJournal: this.journal?.pendingRecords ?? 0, inMemory: this.queue.length };
    if (!final.delivered) this.logger.warn({ dir: this.journalDir, ...final }, "event producer: closed with events left in the journal");
    return final;
  }

  stats(): ProducerStats {
    return {
      queued: this.queue.length,
      queuedBytes: this.queue.bytes,
      journalPending: this.journal?.pendingRecords ?? 0,
      journalBytes: this.journal?.bytes ?? 0,
      kafkaUp: this.kafkaUp,
      ...this.counts,
      dropped: { ...this.dropCounts },
    };
  }

  private idle(): boolean {
    return this.queue.length === 0 && (this.journal?.pendingRecords ?? 0) === 0 && this.abandoned === null;
  }

  private overHighWater(): boolean {
    return this.queue.length >= this.highWaterEvents || this.queue.bytes >= this.highWaterBytes;
  }

  private drop(reason: DropReason, count: number): void {
    if (count <= 0) return;
    this.dropCounts[reason] = (this.dropCounts[reason] ?? 0) + count;
    this.metrics.dropped.inc({ reason }, count);
    // Log every reason's first drop at once, then a summary at most every 5 s: never silent, never a flood.
    const now = Date.now();
    const entry = this.dropLog.get(reason);
    if (entry === undefined || now - entry.lastLogged >= 5_000) {
      const dropped = count + (entry?.unlogged ?? 0);
      this.dropLog.set(reason, { lastLogged: now, unlogged: 0 });
      this.logger.error({ reason, dropped, droppedTotal: this.dropCounts[reason] }, "event producer: events dropped");
    } else {
      entry.unlogged += count;
    }
  }

  private notify(): void {
    const waiter = this.waiter;
    if (waiter !== null && waiter.until()) {
      this.waiter = null;
      waiter.release();
    }
  }

  /** Resolves when `until()` holds (checked on every publish and state change), on timeout, or when `settles` settles. */
  private waitFor(until: () => boolean, timeoutMs: number, settles?: Promise<unknown>): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const release = (): void => {
        if (this.waiter === waiter) this.waiter = null;
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      const waiter: Waiter = { until, release };
      this.waiter = waiter;
      if (Number.isFinite(timeoutMs)) timer = setTimeout(release, Math.max(0, timeoutMs));
      settles?.then(release, release);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.step();
      } catch (error) {
        this.logger.error({ error: errorMessage(error) }, "event producer: worker step failed");
        await this.waitFor(() => this.stopping, this.backoffMs);
      }
    }
  }

  private async step(): Promise<void> {
    const journal = this.journal as Journal;
    if (this.abandoned !== null) return this.settleAbandoned(journal);
    if (journal.pendingRecords > 0) return this.stepJournal(journal);
    if (this.queue.length > 0) return this.stepDirect();
    await this.waitFor(() => this.queue.length > 0 || this.stopping, Number.POSITIVE_INFINITY);
  }

  private async stepDirect(): Promise<void> {
    const { batch } = this.settings;
    const ready = (): boolean =>
      this.queue.length >= batch.maxEvents ||
      this.queue.bytes >= batch.maxBytes ||
      this.flushes > 0 ||
      this.drainToDisk ||
      this.stopping;
    await this.waitFor(ready, batch.lingerMs);
    if (this.stopping) return;
    if (this.drainToDisk) {
      await this.spill(this.queue.length);
      return;
    }
    if (!this.kafkaUp && Date.now() < this.nextAttemptAt) {
      // Down, and the journal could not take the last spill (full): wait out the backoff.
      await this.spillUntil(delay(this.nextAttemptAt - Date.now()), () => true);
      return;
    }
    if (this.overHighWater()) {
      // The queue outgrew Kafka while we lingered or backed off: move it to disk before sending.
      await this.spill(this.queue.length);
      return;
    }
    const count = this.queue.batchLength(batch.maxEvents, batch.maxBytes);
    const records = this.queue.peek(count);
    const outcome = this.timedSend(records);
    let settled = false;
    void outcome.then(() => (settled = true));
    await this.waitFor(() => this.overHighWater() || this.drainToDisk || this.stopping, this.settings.spillAfterMs, outcome);
    if (settled) {
      if (await outcome) {
        this.queue.drop(count);
        this.countSent(records);
        this.markUp();
      } else {
        this.markDown();
        await this.spill(this.queue.length);
      }
      return;
    }
    // Kafka is slower than publish(): stop holding this batch in memory. It goes to the journal
    // head with everything behind it; if the outstanding send succeeds after all, those journal
    // records are skipped instead of sent twice.
    this.logger.warn(
      { queued: this.queue.length, inFlight: count },
      "event producer: Kafka is slow (send outstanding or queue past high water), spilling to the journal",
    );
    const appended = await this.spill(this.queue.length);
    this.abandoned = { outcome, records: Math.min(count, appended) };
  }

  private async settleAbandoned(journal: Journal): Promise<void> {
    const abandoned = this.abandoned as { outcome: Promise<boolean>; records: number };
    await this.spillUntil(abandoned.outcome, () => true);
    if (this.stopping) return;
    this.abandoned = null;
    if (await abandoned.outcome) {
      const batch = await journal.read(abandoned.records, Number.POSITIVE_INFINITY);
      await journal.commit(batch);
      this.countSent(batch.records);
      this.markUp();
    } else {
      this.markDown();
    }
  }

  private async stepJournal(journal: Journal): Promise<void> {
    if (!this.kafkaUp && Date.now() < this.nextAttemptAt) {
      // While Kafka is down, everything published goes to disk as it arrives.
      await this.spillUntil(delay(this.nextAttemptAt - Date.now()), () => true);
      return;
    }
    if (this.drainToDisk && this.queue.length > 0) {
      await this.spill(this.queue.length);
      return;
    }
    const { batch: limits } = this.settings;
    const batch = await journal.read(limits.maxEvents, limits.maxBytes);
    if (batch.lines === 0) {
      // The journal counts records its files no longer hold (deleted underneath us): give them up.
      this.logger.error({ dir: this.journalDir, missing: journal.pendingRecords }, "event producer: journal lost records");
      this.drop("journal_corrupt", journal.pendingRecords);
      await journal.commit({ lines: journal.pendingRecords, next: batch.next });
      return;
    }
    if (batch.corrupt > 0) this.drop("journal_corrupt", batch.corrupt);
    if (batch.records.length === 0) {
      await journal.commit(batch);
      return;
    }
    const started = performance.now();
    const outcome = this.timedSend(batch.records);
    const slow = (): boolean => performance.now() - started > this.settings.spillAfterMs;
    await this.spillUntil(outcome, () => this.overHighWater() || this.drainToDisk || !this.kafkaUp || slow());
    if (this.stopping) return;
    if (await outcome) {
      await journal.commit(batch);
      this.countSent(batch.records);
      this.counts.replayed += batch.records.length;
      this.metrics.replayed.inc(batch.records.length);
      this.markUp();
    } else {
      this.markDown();
    }
  }

  /** Waits for `done`, meanwhile appending the queue to the journal whenever it is non-empty and `when()` holds. */
  private async spillUntil(done: Promise<unknown>, when: () => boolean): Promise<void> {
    const shouldSpill = (): boolean => this.queue.length > 0 && when();
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled && !this.stopping) {
      if (shouldSpill()) {
        await this.spill(this.queue.length);
        continue;
      }
      await this.waitFor(() => shouldSpill() || this.stopping, Number.POSITIVE_INFINITY, done);
    }
  }

  /** Moves the oldest `count` queued records to the journal tail; returns how many it took. */
  private async spill(count: number): Promise<number> {
    if (count === 0) return 0;
    const journal = this.journal as Journal;
    const records = this.queue.peek(count);
    let appended: number;
    try {
      appended = await journal.append(records);
    } catch (error) {
      this.queue.drop(records.length);
      this.logger.error({ dir: this.journalDir, error: errorMessage(error) }, "event producer: journal write failed");
      this.drop("journal_error", records.length);
      return 0;
    }
    this.queue.drop(records.length);
    this.counts.spilled += appended;
    this.metrics.spilled.inc(appended);
    this.drop("journal_full", records.length - appended);
    return appended;
  }

  private timedSend(records: readonly SizedRecord[]): Promise<boolean> {
    const started = performance.now();
    return this.sender.send(records).then(
      () => {
        this.metrics.sendDuration.observe((performance.now() - started) / 1000);
        return true;
      },
      (error: unknown) => {
        this.metrics.sendDuration.observe((performance.now() - started) / 1000);
        if (this.kafkaUp) this.logger.warn({ error: errorMessage(error), records: records.length }, "event producer: send failed");
        return false;
      },
    );
  }

  private countSent(records: readonly SizedRecord[]): void {
    this.counts.sent += records.length;
    let topic: string | null = null;
    let run = 0;
    for (const record of records) {
      if (record.topic !== topic) {
        if (topic !== null) this.metrics.sent.inc({ topic }, run);
        topic = record.topic;
        run = 0;
      }
      run++;
    }
    if (topic !== null) this.metrics.sent.inc({ topic }, run);
  }

  private markUp(): void {
    if (!this.kafkaUp) this.logger.info({ journalPending: this.journal?.pendingRecords ?? 0 }, "event producer: Kafka is back");
    this.kafkaUp = true;
    this.backoffMs = this.settings.backoff.initialMs;
  }

  private markDown(): void {
    if (this.kafkaUp) {
      this.logger.warn({ dir: this.journalDir }, "event producer: Kafka unavailable, spilling to the journal");
    }
    this.kafkaUp = false;
    this.nextAttemptAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.settings.backoff.maxMs);
  }
}
