// Benchmark of the event producer against a real broker from @mlsd/testkit.
//   npm run bench                 (from packages/events)
//   BENCH_EVENTS=400000 BENCH_REPEATS=5 npm run bench
//   BENCH_PATHS=producer-kafkajs,raw-kafkajs npm run bench      (a subset)
//   BENCH_CPU_PROFILE=/tmp/prof npm run bench   (a .cpuprofile per path, of its measured rounds only)
// Measures (1) the sustained rate of events acknowledged by Kafka (acks=all, idempotent) through
// EventProducer on each RecordSender, against the raw clients sending pre-built batches in the same
// run (the ceiling of one producer of that client on this machine), with the CPU each costs in this
// process and in the broker; and (2) the time publish() adds to a request, in-process, while the
// background sender runs, against awaiting a kafkajs send() per event.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { makeEvent, TOPICS } from "@mlsd/contracts";
import type { TransactionEvent } from "@mlsd/contracts";
import { Rng } from "@mlsd/random";
import { startKafka } from "@mlsd/testkit";
import { compatibilityPartitioner, Producer, stringSerializers } from "@platformatic/kafka";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { Registry } from "prom-client";
import { EventProducer, KafkaRecordSender, PlatformaticRecordSender, ensureTopics } from "../src/index";
import type { RecordSender } from "../src/index";
import { summariseProfiles } from "./profile-summary";
import type { CpuProfile } from "./profile-summary";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 50_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE ?? null;
const ONLY = process.env.BENCH_PATHS?.split(",").filter((p) => p.length > 0) ?? null;
const PARTITIONS = 6;
/** Events per request of the raw baselines: the EventProducer's default batch bound. */
const RAW_BATCH = 5_000;

function transactions(count: number, seed: number): TransactionEvent[] {
  const rng = new Rng(seed);
  const start = Date.parse("2024-04-01T00:00:00.000Z");
  const events: TransactionEvent[] = [];
  for (let i = 0; i < count; i++) {
    const time = new Date(start + i * 37).toISOString();
    events.push(
      makeEvent(
        "fraud.transaction",
        {
          transactionId: `tx-${seed}-${i}`,
          customerId: `c-${rng.int(5_000)}`,
          terminalId: `t-${rng.int(10_000)}`,
          amount: Math.round(rng.exponential(1 / 50) * 100) / 100,
          time,
        },
        { producer: "bench", eventTime: time },
      ),
    );
  }
  return events;
}

const quantile = (sorted: ArrayLike<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU seconds (user + system) a process has used, from /proc; null when it is not ours to read. */
function processCpuSeconds(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

interface Measured {
  rate: number;
  /** This process's CPU (user + system) per acknowledged event. */
  cpuMicros: number;
  /** The broker's CPU per acknowledged event (NaN when the broker is not a local process). */
  brokerMicros: number;
  spilled: number;
}

/** Times `fn` (which sends `count` events and resolves once all are acknowledged) with CPU accounting. */
async function measure(brokerPid: number | null, count: number, fn: () => Promise<number>): Promise<Measured> {
  const brokerBefore = processCpuSeconds(brokerPid);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const spilled = await fn();
  const seconds = (performance.now() - started) / 1_000;
  const used = process.cpuUsage(cpu);
  const brokerAfter = processCpuSeconds(brokerPid);
  const brokerMicros = brokerBefore === null || brokerAfter === null ? Number.NaN : ((brokerAfter - brokerBefore) * 1e6) / count;
  return { rate: count / seconds, cpuMicros: (used.user + used.system) / count, brokerMicros, spilled };
}

type SenderFactory = () => RecordSender;

async function withProducer<T>(sender: RecordSender, fn: (producer: EventProducer) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "events-bench-"));
  const producer = new EventProducer({
    sender,
    journalDir: dir,
    registry: new Registry(),
    metricsPrefix: "bench",
    // Big enough that a burst of EVENTS stays in memory: this run measures Kafka, not the spill path.
    queue: { maxEvents: 2_000_000, maxBytes: 1024 * 1024 * 1024, highWaterFraction: 0.95 },
  });
  await producer.start();
  try {
    return await fn(producer);
  } finally {
    await producer.close(60_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Publishes every event as fast as the loop allows and waits until Kafka acknowledged all of them. */
function burst(senderFor: SenderFactory, events: TransactionEvent[]): () => Promise<number> {
  return () =>
    withProducer(senderFor(), async (producer) => {
      for (let i = 0; i < events.length; i++) {
        producer.publish(events[i]!);
        if (i % 2_000 === 1_999) await yieldToLoop();
      }
      const result = await producer.flush(120_000);
      if (!result.delivered) throw new Error("not all events delivered");
      return producer.stats().spilled;
    });
}

interface PreBuilt {
  topic: string;
  key: string;
  value: string;
}

/** kafkajs alone: sendBatch of pre-built batches, one request at a time (idempotent, acks=all). */
function rawKafkajs(kafka: Kafka, messages: PreBuilt[]): () => Promise<number> {
  return async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += RAW_BATCH) {
        const batch = messages.slice(i, i + RAW_BATCH).map(({ key, value }) => ({ key, value }));
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: TOPICS.fraudTransactions, messages: batch }] });
      }
    } finally {
      await producer.disconnect();
    }
    return 0;
  };
}

/** @platformatic/kafka alone: send() of pre-built batches, one request at a time (idempotent, acks=all). */
function rawPlatformatic(brokers: string[], messages: PreBuilt[]): () => Promise<number> {
  return async () => {
    const producer = new Producer<string, string, string, string>({
      clientId: "events-bench-raw",
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
      partitioner: compatibilityPartitioner,
      retries: 3,
    });
    try {
      for (let i = 0; i < messages.length; i += RAW_BATCH) await producer.send({ messages: messages.slice(i, i + RAW_BATCH) });
    } finally {
      await producer.close();
    }
    return 0;
  };
}

/** Publishes at a fixed rate, timing every publish() call, as a request handler would see it. */
interface PacedResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  acked: number;
  spilled: number;
}

async function paced(sender: RecordSender, events: TransactionEvent[], rate: number): Promise<PacedResult> {
  return withProducer(sender, async (producer) => {
    const micros = new Float64Array(events.length);
    const started = performance.now();
    let next = 0;
    while (next < events.length) {
      const due = Math.min(events.length, Math.floor(((performance.now() - started) / 1_000) * rate));
      for (; next < due; next++) {
        const t0 = performance.now();
        producer.publish(events[next]!);
        micros[next] = (performance.now() - t0) * 1_000;
      }
      await sleep(1);
    }
    const result = await producer.flush(120_000);
    const seconds = (performance.now() - started) / 1_000;
    if (!result.delivered) throw new Error("paced: not all events delivered");
    micros.sort();
    return {
      p50: quantile(micros, 0.5),
      p99: quantile(micros, 0.99),
      p999: quantile(micros, 0.999),
      max: micros[micros.length - 1] ?? Number.NaN,
      acked: events.length / seconds,
      spilled: producer.stats().spilled,
    };
  });
}

async function baselineAwaitedSend(kafka: Kafka, events: TransactionEvent[]): Promise<{ p50: number; p99: number; rate: number }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const micros: number[] = [];
  const started = performance.now();
  for (const event of events) {
    const t0 = performance.now();
    await producer.send({ topic: TOPICS.fraudTransactions, acks: -1, messages: [{ key: event.key, value: JSON.stringify(event) }] });
    micros.push((performance.now() - t0) * 1_000);
  }
  const seconds = (performance.now() - started) / 1_000;
  await producer.disconnect();
  micros.sort((a, b) => a - b);
  return { p50: quantile(micros, 0.5), p99: quantile(micros, 0.99), rate: events.length / seconds };
}

function makeEventMicros(events: TransactionEvent[]): number {
  const micros: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = performance.now();
    makeEvent("fraud.transaction", events[i % events.length]!.payload, { producer: "bench" });
    micros.push((performance.now() - t0) * 1_000);
  }
  return median(micros);
}

/** Samples this process's CPU only while `fn` runs, accumulating into one profile per path. */
class PathProfiler {
  private readonly session = new Session();
  private started = false;

  async around<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.started) {
      this.session.connect();
      await this.session.post("Profiler.enable");
      await this.session.post("Profiler.setSamplingInterval", { interval: 200 });
      this.started = true;
    }
    await this.session.post("Profiler.start");
    try {
      return await fn();
    } finally {
      const { profile } = await this.session.post("Profiler.stop");
      this.profiles.push(profile as CpuProfile);
    }
  }

  readonly profiles: CpuProfile[] = [];

  async write(dir: string, id: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const [i, profile] of this.profiles.entries()) await writeFile(join(dir, `${id}-${i + 1}.cpuprofile`), JSON.stringify(profile));
    this.session.disconnect();
  }
}

interface Path {
  id: string;
  name: string;
  run: () => Promise<number>;
}

async function main(): Promise<void> {
  const handle = await startKafka({ dedicated: true });
  try {
    const kafka = new Kafka({ clientId: "events-bench", brokers: handle.brokers, logLevel: logLevel.NOTHING });
    await ensureTopics(kafka, { topics: [TOPICS.fraudTransactions], partitions: PARTITIONS });
    const events = transactions(EVENTS, 1);
    const messages = events.map((e) => ({ topic: TOPICS.fraudTransactions, key: e.key, value: JSON.stringify(e) }));
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.value), 0) / messages.length;
    console.log(`events: ${fmt(EVENTS)} per run, mean ${fmt(bytes)} bytes, ${PARTITIONS} partitions, acks=all, idempotent, ${REPEATS} repeats (median)`);
    console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at start (broker on the same cores)`);

    const senders: Record<"kafkajs" | "platformatic", SenderFactory> = {
      kafkajs: () => new KafkaRecordSender(kafka),
      platformatic: () => new PlatformaticRecordSender({ brokers: handle.brokers, clientId: "events-bench" }),
    };
    const all: Path[] = [
      { id: "raw-kafkajs", name: `raw kafkajs sendBatch, pre-built ${fmt(RAW_BATCH)}-event batches`, run: rawKafkajs(kafka, messages) },
      { id: "raw-platformatic", name: `raw @platformatic/kafka send, pre-built ${fmt(RAW_BATCH)}-event batches`, run: rawPlatformatic(handle.brokers, messages) },
      { id: "producer-kafkajs", name: "EventProducer on KafkaRecordSender (kafkajs)", run: burst(senders.kafkajs, events) },
      { id: "producer-platformatic", name: "EventProducer on PlatformaticRecordSender", run: burst(senders.platformatic, events) },
    ];
    const paths = all.filter((p) => ONLY === null || ONLY.includes(p.id));
    if (paths.length === 0) throw new Error(`BENCH_PATHS matched none of ${all.map((p) => p.id).join(", ")}`);

    // Warm-up: JIT on both sides (the broker's JVM needs a few hundred thousand records), page cache.
    for (const path of paths) await path.run();
    // Round-robin, so drifting load on the shared machine hits each path alike.
    const results = new Map(paths.map((p) => [p.id, [] as Measured[]]));
    const profilers = new Map(paths.map((p) => [p.id, new PathProfiler()]));
    for (let r = 0; r < REPEATS; r++) {
      for (const path of paths) {
        const run = PROFILE_DIR === null ? path.run : () => profilers.get(path.id)!.around(path.run);
        const m = await measure(handle.pid, events.length, run);
        results.get(path.id)!.push(m);
        console.error(`  round ${r + 1}/${REPEATS} ${path.id}: ${fmt(m.rate)} events/s, ${fmt(m.cpuMicros, 1)} us CPU/event`);
      }
    }

    if (PROFILE_DIR !== null) {
      const owners = new Set<string>();
      const summaries = paths.map((path) => {
        const summary = summariseProfiles(profilers.get(path.id)!.profiles);
        for (const [who, share] of summary.shares) if (share >= 0.02) owners.add(who);
        return summary;
      });
      const columns = [...owners].sort();
      console.log(`\nwhere this process's CPU went in the measured rounds (share of busy time; profiles in ${PROFILE_DIR}):\n`);
      console.log(`| path | busy share of wall time | ${columns.join(" | ")} |`);
      console.log(`| --- | ---: | ${columns.map(() => "---:").join(" | ")} |`);
      for (const [i, path] of paths.entries()) {
        const summary = summaries[i]!;
        const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;
        console.log(`| ${path.id} | ${pct(summary.busyShare)} | ${columns.map((c) => pct(summary.shares.get(c) ?? 0)).join(" | ")} |`);
      }
      for (const path of paths) await profilers.get(path.id)!.write(PROFILE_DIR, path.id);
    }
    const raw = results.get("raw-kafkajs");
    const rows: string[] = [];
    rows.push("| path | acked events/s (median) | vs raw kafkajs (median of per-round ratios) | CPU us/event, this process | CPU us/event, broker | runs (events/s) |");
    rows.push("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const path of paths) {
      const runs = results.get(path.id)!;
      const spilled = runs.reduce((sum, r) => sum + r.spilled, 0);
      const ratio = raw === undefined ? "" : `${fmt(median(runs.map((m, i) => m.rate / raw[i]!.rate)), 2)}x`;
      rows.push(
        `| ${path.name}${spilled > 0 ? ` (spilled ${spilled})` : ""} | ${fmt(median(runs.map((m) => m.rate)))} | ${ratio} | ${fmt(median(runs.map((m) => m.cpuMicros)), 1)} | ${fmt(median(runs.map((m) => m.brokerMicros)), 1)} | ${runs.map((m) => fmt(m.rate)).join(", ")} |`,
      );
    }
    console.log("");
    console.log(rows.join("\n"));
    if (raw !== undefined) {
      const target = Math.max(50_000, 1.5 * median(raw.map((m) => m.rate)));
      for (const id of ["producer-kafkajs", "producer-platformatic"]) {
        const runs = results.get(id);
        if (runs === undefined) continue;
        const rate = median(runs.map((m) => m.rate));
        console.log(`goal (issue 15): max(50,000, 1.5 x raw kafkajs) = ${fmt(target)} events/s; ${id} ${fmt(rate)}: ${rate >= target ? "met" : "not met"}`);
      }
    }

    if (PACED_SECONDS > 0 && ONLY === null) {
      const pacedEvents = transactions(PACED_RATE * PACED_SECONDS, 2);
      const latency: string[] = [];
      latency.push("| on the request path | p50 us | p99 us | p99.9 us | max us | acked events/s (runs) |");
      latency.push("| --- | ---: | ---: | ---: | ---: | --- |");
      for (const client of ["kafkajs", "platformatic"] as const) {
        const runs: PacedResult[] = [];
        for (let r = 0; r < REPEATS; r++) runs.push(await paced(senders[client](), pacedEvents, PACED_RATE));
        const med = (pick: (r: PacedResult) => number): number => median(runs.map(pick));
        const spilled = runs.reduce((s, r) => s + r.spilled, 0);
        latency.push(
          `| publish() at ${fmt(PACED_RATE)}/s for ${PACED_SECONDS} s, ${client}${spilled > 0 ? ` (spilled ${spilled})` : ""} | ${fmt(med((r) => r.p50), 1)} | ${fmt(med((r) => r.p99), 1)} | ${fmt(med((r) => r.p999), 1)} | ${fmt(med((r) => r.max), 0)} | ${runs.map((r) => fmt(r.acked)).join(", ")} |`,
        );
      }
      latency.push(`| makeEvent() (zod validation + envelope) | ${fmt(makeEventMicros(pacedEvents), 1)} | | | | |`);
      const awaited = await baselineAwaitedSend(kafka, events.slice(0, 2_000));
      latency.push(`| baseline: await kafkajs send() per event | ${fmt(awaited.p50, 0)} | ${fmt(awaited.p99, 0)} | | | ${fmt(awaited.rate)} (2,000 events) |`);
      console.log("");
      console.log(latency.join("\n"));
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  } finally {
    await handle.stop();
  }
}

await main();
