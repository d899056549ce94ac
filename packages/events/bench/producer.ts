// Benchmark of the event producer against a real broker from @mlsd/testkit.
//   npm run bench                 (from packages/events)
//   BENCH_EVENTS=400000 npm run bench
// Measures (1) the time publish() adds to a request, in-process, while the background sender runs,
// and (2) the sustained rate of events acknowledged by Kafka (acks=all, idempotent), against two
// kafkajs baselines measured in the same run: awaiting send() per event on the request path, and
// raw sendBatch() of pre-built batches (the ceiling of one kafkajs producer on this machine).
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { makeEvent, TOPICS } from "@mlsd/contracts";
import type { TransactionEvent } from "@mlsd/contracts";
import { Rng } from "@mlsd/random";
import { startKafka } from "@mlsd/testkit";
import { CompressionTypes, Kafka, logLevel, Partitioners } from "kafkajs";
import { Registry } from "prom-client";
import { EventProducer, KafkaRecordSender, ensureTopics } from "../src/index";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 50_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const PARTITIONS = 6;

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

interface Config {
  name: string;
  batchEvents: number;
  batchBytes: number;
  lingerMs: number;
  compression: CompressionTypes;
}

async function withProducer<T>(kafka: Kafka, config: Config, fn: (producer: EventProducer) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "events-bench-"));
  const producer = new EventProducer({
    sender: new KafkaRecordSender(kafka, { compression: config.compression }),
    journalDir: dir,
    registry: new Registry(),
    metricsPrefix: "bench",
    // Big enough that a burst of EVENTS stays in memory: this run measures Kafka, not the spill path.
    queue: { maxEvents: 2_000_000, maxBytes: 1024 * 1024 * 1024, highWaterFraction: 0.95 },
    batch: { maxEvents: config.batchEvents, maxBytes: config.batchBytes, lingerMs: config.lingerMs },
  });
  await producer.start();
  try {
    return await fn(producer);
  } finally {
    await producer.close(60_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Publishes every event as fast as the loop allows and times until Kafka acknowledged all of them. */
interface BurstResult {
  rate: number;
  spilled: number;
  /** This process's CPU (user + system) per acknowledged event: independent of other load on the machine. */
  cpuMicros: number;
}

async function burst(kafka: Kafka, config: Config, events: TransactionEvent[]): Promise<BurstResult> {
  return withProducer(kafka, config, async (producer) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < events.length; i++) {
      producer.publish(events[i]!);
      if (i % 2_000 === 1_999) await yieldToLoop();
    }
    const result = await producer.flush(120_000);
    const seconds = (performance.now() - started) / 1_000;
    if (!result.delivered) throw new Error(`${config.name}: not all events delivered`);
    const used = process.cpuUsage(cpu);
    return { rate: events.length / seconds, spilled: producer.stats().spilled, cpuMicros: (used.user + used.system) / events.length };
  });
}

/** Publishes at a fixed rate, timing every publish() call, as a request handler would see it. */
interface PacedResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  acked: number;
  spilled: number;
  makeP50: number;
}

async function paced(kafka: Kafka, config: Config, events: TransactionEvent[], rate: number): Promise<PacedResult> {
  return withProducer(kafka, config, async (producer) => {
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
    if (!result.delivered) throw new Error(`${config.name}: not all events delivered`);
    micros.sort();
    // What a request pays in total: validation and envelope (makeEvent) plus publish().
    const makeMicros: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t0 = performance.now();
      makeEvent("fraud.transaction", events[i % events.length]!.payload, { producer: "bench" });
      makeMicros.push((performance.now() - t0) * 1_000);
    }
    return {
      p50: quantile(micros, 0.5),
      p99: quantile(micros, 0.99),
      p999: quantile(micros, 0.999),
      max: micros[micros.length - 1] ?? Number.NaN,
      acked: events.length / seconds,
      spilled: producer.stats().spilled,
      makeP50: median(makeMicros),
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

async function baselineRawBatches(kafka: Kafka, events: TransactionEvent[], batchEvents: number): Promise<{ rate: number; cpuMicros: number }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const cpu = process.cpuUsage();
  const messages = events.map((e) => ({ key: e.key, value: JSON.stringify(e) }));
  const started = performance.now();
  for (let i = 0; i < messages.length; i += batchEvents) {
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic: TOPICS.fraudTransactions, messages: messages.slice(i, i + batchEvents) }] });
  }
  const seconds = (performance.now() - started) / 1_000;
  const used = process.cpuUsage(cpu);
  await producer.disconnect();
  return { rate: events.length / seconds, cpuMicros: (used.user + used.system) / events.length };
}

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const handle = await startKafka({ dedicated: true });
  try {
    const kafka = new Kafka({ clientId: "events-bench", brokers: handle.brokers, logLevel: logLevel.NOTHING });
    await ensureTopics(kafka, { topics: [TOPICS.fraudTransactions], partitions: PARTITIONS });
    const events = transactions(EVENTS, 1);
    const bytes = events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e)), 0) / events.length;
    console.log(`events: ${fmt(EVENTS)} per run, mean ${fmt(bytes)} bytes, ${PARTITIONS} partitions, acks=all, ${REPEATS} repeats (median)`);
    console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at start (broker on the same cores)`);

    const KiB = 1024;
    const configs: Config[] = [
      { name: "defaults: 5,000 ev / 512 KiB, linger 5 ms", batchEvents: 5_000, batchBytes: 512 * KiB, lingerMs: 5, compression: CompressionTypes.None },
      { name: "1,000 ev / 512 KiB, linger 5 ms", batchEvents: 1_000, batchBytes: 512 * KiB, lingerMs: 5, compression: CompressionTypes.None },
      { name: "5,000 ev / 1 MiB, linger 5 ms", batchEvents: 5_000, batchBytes: 1_024 * KiB, lingerMs: 5, compression: CompressionTypes.None },
      { name: "5,000 ev / 1 MiB, linger 5 ms, gzip", batchEvents: 5_000, batchBytes: 1_024 * KiB, lingerMs: 5, compression: CompressionTypes.GZIP },
    ];
    // Warm-up: JIT on both sides (the broker's JVM needs a few hundred thousand records), page cache.
    await burst(kafka, { ...configs[0]!, name: "warm-up" }, events);
    await baselineRawBatches(kafka, events, 5_000);

    // Round-robin over the configurations, so drifting load on the shared machine hits each alike.
    const bursts = configs.map(() => [] as BurstResult[]);
    const raw: { rate: number; cpuMicros: number }[] = [];
    for (let r = 0; r < REPEATS; r++) {
      for (const [i, config] of configs.entries()) bursts[i]!.push(await burst(kafka, config, events));
      raw.push(await baselineRawBatches(kafka, events, 5_000));
    }
    const rows: string[] = [];
    rows.push("| path | config | acked events/s (median) | producer CPU us/event (median) | runs (events/s) |");
    rows.push("| --- | --- | ---: | ---: | --- |");
    for (const [i, config] of configs.entries()) {
      const results = bursts[i]!;
      const spilled = results.reduce((sum, r) => sum + r.spilled, 0);
      rows.push(
        `| EventProducer burst | ${config.name}${spilled > 0 ? ` (spilled ${spilled})` : ""} | ${fmt(median(results.map((r) => r.rate)))} | ${fmt(median(results.map((r) => r.cpuMicros)), 1)} | ${results.map((r) => fmt(r.rate)).join(", ")} |`,
      );
    }
    rows.push(
      `| baseline: kafkajs sendBatch, pre-built | 5,000 ev (~1.5 MB) per request | ${fmt(median(raw.map((r) => r.rate)))} | ${fmt(median(raw.map((r) => r.cpuMicros)), 1)} | ${raw.map((r) => fmt(r.rate)).join(", ")} |`,
    );
    const awaited = await baselineAwaitedSend(kafka, events.slice(0, 2_000));
    rows.push(`| baseline: await send() per event | 1 event per request | ${fmt(awaited.rate)} | | 2,000 events |`);

    const pacedConfig = configs[0]!;
    const pacedEvents = transactions(PACED_RATE * PACED_SECONDS, 2);
    const pacedRuns: PacedResult[] = [];
    for (let r = 0; r < REPEATS; r++) pacedRuns.push(await paced(kafka, pacedConfig, pacedEvents, PACED_RATE));
    const latency: string[] = [];
    latency.push("| on the request path | p50 us | p99 us | p99.9 us | max us |");
    latency.push("| --- | ---: | ---: | ---: | ---: |");
    const med = (pick: (r: PacedResult) => number): number => median(pacedRuns.map(pick));
    latency.push(
      `| publish() at ${fmt(PACED_RATE)}/s for ${PACED_SECONDS} s (${pacedConfig.name}) | ${fmt(med((r) => r.p50), 1)} | ${fmt(med((r) => r.p99), 1)} | ${fmt(med((r) => r.p999), 1)} | ${fmt(med((r) => r.max), 0)} |`,
    );
    latency.push(`| makeEvent() (zod validation + envelope) | ${fmt(med((r) => r.makeP50), 1)} | | | |`);
    latency.push(`| baseline: await kafkajs send() per event | ${fmt(awaited.p50, 0)} | ${fmt(awaited.p99, 0)} | | |`);
    const pacedSpilled = pacedRuns.reduce((s, r) => s + r.spilled, 0);
    console.log("");
    console.log(rows.join("\n"));
    console.log("");
    console.log(latency.join("\n"));
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
    console.log(
      `\npaced runs: acked ${pacedRuns.map((r) => fmt(r.acked)).join(", ")} events/s (offered ${fmt(PACED_RATE)}/s), spilled ${pacedSpilled}`,
    );
  } finally {
    await handle.stop();
  }
}

await main();
