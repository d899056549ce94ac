import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RetrainRequestPayloadSchema, TOPICS } from "@mlsd/contracts";
import type { RetrainRequestPayload } from "@mlsd/contracts";
import { serializeDriftReference } from "@mlsd/drift";
import { ensureTopics, EventProducer, KafkaRecordSender } from "@mlsd/events";
import { ModelRegistry } from "@mlsd/model-registry";
import { buildService, silentLogger, type ServiceInstanceOf } from "@mlsd/service-kit";
import { startKafka } from "@mlsd/testkit";
import type { KafkaHandle } from "@mlsd/testkit";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftMonitorDeps } from "./deps";
import { driftMonitorService } from "./service";
import { SyntheticDecisions } from "./synthetic";

// A dedicated broker: the monitor reads fraud.decisions.v1 from the beginning, and other tests'
// decisions on a shared broker would be part of its stream.
let handle: KafkaHandle;
let kafka: Kafka;
let deps: DriftMonitorDeps;
let service: ServiceInstanceOf<typeof driftMonitorService>;
let producer: EventProducer;
const dirs: string[] = [];
const stream = new SyntheticDecisions({ features: 8, seed: 2024, startMs: Date.UTC(2024, 3, 1), stepMs: 1_000 });

const NO_SHIFT_EVENTS = 20_000;
const SHIFTED_EVENTS = 3_000;

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  handle = await startKafka({ dedicated: true });
  kafka = new Kafka({ clientId: "drift-monitor-int", brokers: handle.brokers, logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, { topics: [TOPICS.fraudDecisions, TOPICS.fraudLabels, TOPICS.mlRetrainRequests, TOPICS.deadLetter], partitions: 3 });

  const registryDir = await tempDir("drift-monitor-registry-");
  await new ModelRegistry(registryDir).publish({ model: "fraud-gbdt", dataWindow: {}, featureSchemaHash: "synthetic", metrics: {}, extra: {} }, async (dir) => {
    await writeFile(join(dir, "model.json"), "{}");
    await writeFile(join(dir, "drift-reference.json"), serializeDriftReference(stream.reference(50_000)));
  });
  service = await buildService(
    driftMonitorService,
    {
      PORT: "0",
      KAFKA_BROKERS: handle.brokers.join(","),
      KAFKA_CLIENT_ID: "drift-monitor",
      CONSUMER_GROUP: "drift-monitor",
      MODEL_REGISTRY_DIR: registryDir,
      MODEL_NAME: "fraud-gbdt",
      EVENT_JOURNAL_DIR: await tempDir("drift-monitor-journal-"),
      COUNT_WINDOW_SIZE: "1000",
      COUNT_EVALUATE_EVERY: "100",
      TIME_WINDOW_SECONDS: "3600",
      TIME_EVALUATE_EVERY: "100",
      LABEL_HORIZON_MS: String(7 * 86_400_000),
      PERFORMANCE_BUCKET_MS: "3600000",
      PERFORMANCE_MAX_BUCKETS: "48",
      PERFORMANCE_MAX_PENDING: "100000",
      ALERT_WEBHOOK_TIMEOUT_MS: "1000",
      ALERT_WEBHOOK_RETRIES: "0",
      ENSURE_TOPICS: "false",
    },
    { logger: silentLogger },
  );
  deps = service.deps;
  producer = new EventProducer({
    sender: new KafkaRecordSender(kafka),
    journalDir: await tempDir("drift-monitor-test-journal-"),
    registry: new Registry(),
    metricsPrefix: "test",
  });
  await producer.start();
});

afterAll(async () => {
  await producer?.close(5_000);
  await service?.close();
  await handle?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("drift monitor on a Kafka stream of decisions", () => {
  it("raises no alarm over a long run from the reference distribution", async () => {
    for (let i = 0; i < NO_SHIFT_EVENTS; i++) producer.publish(stream.next().decision);
    expect((await producer.flush(60_000)).delivered).toBe(true);
    await waitUntil(() => deps.monitor.active!.report().events.monitored >= NO_SHIFT_EVENTS, 180_000, "the monitor to read every decision");
    const report = deps.monitor.active!.report();
    expect(report.events.monitored).toBe(NO_SHIFT_EVENTS);
    expect(report.recentAlerts).toEqual([]);
    expect(report.episode).toMatchObject({ active: false, episodes: 0 });
    // Partitions are read in step (small fetches), so almost no decision is too late for the time window.
    expect(report.events.lateForTimeWindow).toBeLessThan(NO_SHIFT_EVENTS / 100);
    for (const w of report.windows) {
      // 9 series (8 features and the score) per evaluation, one evaluation per 100 accepted decisions.
      expect(w.featureEvaluations).toBeGreaterThanOrEqual(9 * 190);
      const rate = w.conditionsMet / w.featureEvaluations;
      console.log(`no shift, ${w.window} window: ${w.conditionsMet} of ${w.featureEvaluations} feature evaluations met the alert condition (${(100 * rate).toFixed(2)}%), 0 alerts`);
      // Holm at alpha 0.05 bounds the family-wise rate per evaluation, so per feature it is well below 5%.
      expect(rate).toBeLessThan(0.01);
    }
  });

  it("alerts on the one shifted feature within 1,200 decisions and publishes one retrain request", async () => {
    const requests: RetrainRequestPayload[] = [];
    const reader = kafka.consumer({ groupId: "retrain-reader" });
    await reader.connect();
    await reader.subscribe({ topics: [TOPICS.mlRetrainRequests], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        requests.push(RetrainRequestPayloadSchema.parse((JSON.parse(message.value?.toString() ?? "{}") as { payload: unknown }).payload));
      },
    });
    try {
      for (let i = 0; i < SHIFTED_EVENTS; i++) producer.publish(stream.next({ feature: "f5", meanShift: 0.5 }).decision);
      expect((await producer.flush(60_000)).delivered).toBe(true);
      await waitUntil(() => deps.monitor.active!.report().events.monitored >= NO_SHIFT_EVENTS + SHIFTED_EVENTS, 180_000, "the shifted decisions");
      const report = deps.monitor.active!.report();
      expect(report.episode).toMatchObject({ active: true, features: ["f5"], retrainRequested: true, episodes: 1 });
      const starts = report.recentAlerts.filter((a) => a.type === "start");
      expect(new Set(starts.map((a) => a.feature))).toEqual(new Set(["f5"]));
      const delay = Math.min(...starts.map((a) => a.decisionsSeen)) - NO_SHIFT_EVENTS;
      console.log(
        `shift of 0.5 sd on f5: first alert ${delay} decisions after the shift (${starts.map((a) => `${a.window} window @${a.decisionsSeen - NO_SHIFT_EVENTS}`).join(", ")}); ` +
          `late for the time window: ${report.events.lateForTimeWindow}`,
      );
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(1_200);

      await producer.flush(10_000);
      await waitUntil(() => requests.length >= 1, 60_000, "the retrain request on Kafka");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(requests).toHaveLength(1);
      const request = requests[0] as RetrainRequestPayload;
      expect(request).toMatchObject({ model: "fraud-gbdt", reason: "drift", requestedBy: "drift-monitor" });
      expect(request.driftSummary?.reference).toBe(report.reference.id);
      expect(request.driftSummary?.findings.filter((f) => f.breached).map((f) => f.feature)).toEqual(["f5"]);
    } finally {
      await reader.disconnect();
    }
  });
});
