/**
 * Events/s through the drift monitor's consume path:
 *   detect          DriftMonitor.handle on decoded decisions (both windows + the label join)
 *   decode+detect   the same from raw Kafka message values (JSON + schema check, as runConsumer does)
 *   Kafka e2e       a consumer group reading N decisions from a dedicated local broker into the
 *                   monitor, timed from its first batch (the group join is not throughput)
 * 19 features (the fraud model's count) plus the score; count window 5,000, time window 1 h, both
 * evaluated every 500 decisions (the service defaults), one decision per second of event time.
 * Each run first feeds WARMUP decisions untimed: the first evaluations at each new window size
 * simulate null distributions (tens of ms each), a one-off cost of a fresh monitor that a running
 * service has paid long ago. Medians of 3 runs.
 *
 *   npm run bench                       (from services/drift-monitor)
 *   BENCH_EVENTS=50000 BENCH_KAFKA=0 npm run bench
 */
import { TOPICS } from "@mlsd/contracts";
import type { AnyEvent } from "@mlsd/contracts";
import { decodeMessages, ensureTopics, EventProducer, KafkaRecordSender, runConsumer } from "@mlsd/events";
import { silentLogger } from "@mlsd/service-kit";
import { startKafka } from "@mlsd/testkit";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { DriftMonitor } from "../src/monitor";
import { fraudStream } from "../src/streams";
import { SyntheticDecisions } from "../src/synthetic";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const WITH_KAFKA = process.env.BENCH_KAFKA !== "0";
const BATCH = 500;

const WARMUP = 10_000;
const stream = new SyntheticDecisions({ features: 19, seed: 99, startMs: Date.UTC(2024, 3, 1), stepMs: 1_000 });
const reference = { id: "fraud-gbdt@bench", version: "bench", reference: stream.reference(50_000) };
const decisions: AnyEvent[] = [];
const labels: AnyEvent[] = [];
const warmup: AnyEvent[] = [];
for (let i = 0; i < WARMUP; i++) warmup.push(stream.next().decision);
for (let i = 0; i < EVENTS; i++) {
  const { decision, label } = stream.next(null, 3_600_000);
  decisions.push(decision);
  if (label) labels.push(label);
}
// Labels interleaved with the decisions, an hour after theirs, as they would arrive.
const events: AnyEvent[] = [];
let nextLabel = 0;
for (const d of decisions) {
  while (nextLabel < labels.length && Date.parse((labels[nextLabel] as AnyEvent).eventTime) <= Date.parse(d.eventTime)) events.push(labels[nextLabel++] as AnyEvent);
  events.push(d);
}
while (nextLabel < labels.length) events.push(labels[nextLabel++] as AnyEvent);
const raw = events.map((e, i) => ({ key: Buffer.from(e.key), value: Buffer.from(JSON.stringify(e)), offset: String(i), timestamp: "0" }));

function newMonitor(): DriftMonitor {
  const monitor = new DriftMonitor({
    model: fraudStream.defaultModel,
    stream: fraudStream,
    reference,
    countWindow: { size: 5_000, evaluateEvery: 500 },
    timeWindow: { seconds: 3_600, evaluateEvery: 500 },
    performance: { horizonMs: 7 * 86_400_000, bucketMs: 3_600_000, maxBuckets: 48, maxPending: 1_000_000 },
    logger: silentLogger,
  });
  for (let i = 0; i < warmup.length; i += BATCH) monitor.handle(warmup.slice(i, i + BATCH));
  return monitor;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Under no drift: feature evaluations that met the alert condition, and alerts, over every run. */
const noShift = { featureEvaluations: 0, conditionsMet: 0, alerts: 0 };

function timeRuns(run: (monitor: DriftMonitor) => void): number {
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    const monitor = newMonitor();
    const started = performance.now();
    run(monitor);
    rates.push(events.length / ((performance.now() - started) / 1000));
    const report = monitor.report();
    for (const w of report.windows) {
      noShift.featureEvaluations += w.featureEvaluations;
      noShift.conditionsMet += w.conditionsMet;
    }
    noShift.alerts += report.recentAlerts.length;
  }
  return median(rates);
}

const detect = timeRuns((monitor) => {
  for (let i = 0; i < events.length; i += BATCH) monitor.handle(events.slice(i, i + BATCH));
});
const decodeDetect = timeRuns((monitor) => {
  for (let i = 0; i < raw.length; i += BATCH) {
    const { events: decoded } = decodeMessages({ topic: TOPICS.fraudDecisions, partition: 0 }, raw.slice(i, i + BATCH), "bench");
    monitor.handle(decoded.map((c) => c.event));
  }
});

const rows: [string, number][] = [
  ["detect (DriftMonitor.handle)", detect],
  ["decode + detect (runConsumer's path, no network)", decodeDetect],
];

if (WITH_KAFKA) {
  const handle = await startKafka({ dedicated: true });
  const kafka = new Kafka({ clientId: "drift-bench", brokers: handle.brokers, logLevel: logLevel.NOTHING });
  const journal = await mkdtemp(join(tmpdir(), "drift-bench-"));
  try {
    await ensureTopics(kafka, { topics: [TOPICS.fraudDecisions, TOPICS.fraudLabels, TOPICS.deadLetter], partitions: 3 });
    const producer = new EventProducer({ sender: new KafkaRecordSender(kafka), journalDir: journal, registry: new Registry(), metricsPrefix: "bench" });
    await producer.start();
    for (const e of events) producer.publish(e);
    await producer.close(120_000);
    const rates: number[] = [];
    for (let r = 0; r < 3; r++) {
      const monitor = newMonitor();
      let seen = 0;
      // From the first batch: the group join (a few seconds of rebalance) is not throughput.
      let started = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => (done = resolve));
      const consumer = await runConsumer({
        kafka,
        groupId: `drift-bench-${r}`,
        topics: [TOPICS.fraudDecisions, TOPICS.fraudLabels],
        handleBatch: async (batch) => {
          if (started === 0) started = performance.now();
          monitor.handle(batch.map((c) => c.event));
          seen += batch.length;
          if (seen >= events.length) done();
        },
      });
      await finished;
      rates.push(events.length / ((performance.now() - started) / 1000));
      await consumer.stop();
    }
    rows.push(["Kafka end to end (consumer group, 3 partitions)", median(rates)]);
  } finally {
    await rm(journal, { recursive: true, force: true });
    await handle.stop();
  }
}

console.log(`\n${decisions.length} decisions + ${labels.length} labels, 19 features + score, batches of ${BATCH}\n`);
console.log("| path | events/s | us/event |");
console.log("| --- | ---: | ---: |");
for (const [name, rate] of rows) console.log(`| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${(1e6 / rate).toFixed(2)} |`);
console.log(
  `\nno drift in the stream: ${noShift.conditionsMet} of ${noShift.featureEvaluations} feature evaluations met the alert condition ` +
    `(${((100 * noShift.conditionsMet) / Math.max(1, noShift.featureEvaluations)).toFixed(3)}%), ${noShift.alerts} alerts`,
);
