import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TOPICS, type AnyEvent } from "@mlsd/contracts";
import { createLogger, startService, type StartedService, type StartedServiceOf } from "@mlsd/service-kit";
import { createFraudWorld, iterateTransactions } from "@mlsd/synth";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { ensureTopics } from "@mlsd/events";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FraudAppDeps } from "./app";
import type { FraudConfig } from "./config";
import { featureStreamerService } from "@mlsd/feature-streamer-service";
import { fraudService } from "./service";
import { publishTestFraudModel } from "./test-fixtures";

let redis: RedisHandle;
let kafka: KafkaHandle;
let service: StartedService<FraudConfig, FraudAppDeps>;
let streamer: StartedServiceOf<typeof featureStreamerService>;
let app: StartedService<FraudConfig, FraudAppDeps>["app"];
const LABEL_TOKEN = "label-writer-token-for-tests";
let consumer: Consumer;
const decisions = new Map<string, AnyEvent>();
const run = `${Date.now()}`;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  // A dedicated Redis: this file stops it on purpose.
  [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), startKafka()]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fraud-int-"));
  await publishTestFraudModel(path.join(dir, "registry"), "int-1");
  const env = {
    PORT: "0",
    REDIS_URL: redis.url,
    KAFKA_BROKERS: kafka.brokers.join(","),
    MODEL_REGISTRY_DIR: path.join(dir, "registry"),
    EVENT_JOURNAL_DIR: path.join(dir, "journal"),
    // Generous: this file tests the path through Redis, not its speed (a loaded CI machine can stall
    // a first Lua call past a tight deadline); the deadline itself is covered by the unit tests.
    FEATURE_DEADLINE_MS: "2000",
    LABEL_WRITER_TOKEN: LABEL_TOKEN,
    // A clock standing in May 2018 (the simulated world's months); the tests jump days ahead, so
    // they allow a wide skew here (the bounds themselves are unit-tested).
    CLOCK_START: "2018-05-01T00:00:00Z",
    MAX_CLOCK_SKEW_MS: String(30 * 86_400_000),
    MAX_EVENT_AGE_DAYS: "3650",
  };
  service = await startService(fraudService, env, { logger: createLogger({ service: "fraud", level: "warn" }) });
  app = service.app;
  // Labels reach the features through the feature streamer, as in production.
  streamer = await startService(featureStreamerService, { PORT: "0", REDIS_URL: redis.url, KAFKA_BROKERS: kafka.brokers.join(","), CONSUMER_GROUP: `feature-streamer-${run}` }, { logger: createLogger({ service: "feature-streamer", level: "warn" }) });
  await waitFor("redis ready", () => service.ctx.readiness.report().checks.redis?.ready);

  const client = new Kafka({ clientId: `fraud-int-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  // The services create their topics in the background; this test subscribes at once.
  await ensureTopics(client, { topics: [TOPICS.fraudDecisions, TOPICS.fraudLabels, TOPICS.fraudTransactions] });
  consumer = client.consumer({ groupId: `fraud-int-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.fraudDecisions, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(String(message.value)) as AnyEvent;
      if (event.type === "fraud.decision" && event.payload.transactionId.startsWith(run)) decisions.set(event.payload.transactionId, event);
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await streamer?.shutdown("test over");
  await service?.shutdown("test over");
  await redis?.stop();
  await kafka?.stop();
});

const score = (body: object) => request(app).post("/v1/transactions/score").send(body);

describe("fraud service on real Redis and Kafka", () => {
  it("scores a stream of simulated transactions and publishes every decision with its features", async () => {
    const world = createFraudWorld({ customers: 200, terminals: 400, days: 3, seed: 5 });
    const sent: string[] = [];
    for (const t of iterateTransactions(world)) {
      if (sent.length === 300) break;
      const id = `${run}-${t.transactionId}`;
      const res = await score({ transactionId: id, customerId: `C${t.customerId}`, terminalId: `T${t.terminalId}`, amount: t.amount, time: new Date(t.epochSeconds * 1000).toISOString() });
      // Status and degradation reason in one comparison, so a failure says why.
      expect([res.status, res.body.degradedReason ?? null]).toEqual([200, null]);
      expect(res.body.degraded).toBe(false);
      sent.push(id);
    }
    await waitFor("every decision on Kafka", () => (sent.every((id) => decisions.has(id)) ? true : undefined), 60_000);
    const withHistory = sent.map((id) => decisions.get(id)!).filter((e) => e.type === "fraud.decision" && (e.payload.features.CUSTOMER_ID_NB_TX_1DAY_WINDOW ?? 0) > 1);
    expect(withHistory.length).toBeGreaterThan(10);
  });

  it("a chargeback raises the terminal's risk for its next transaction, through Kafka and the feature streamer", async () => {
    const first = `${run}-label-a`;
    await score({ transactionId: first, customerId: "CL1", terminalId: "TL1", amount: 30, time: "2018-05-01T10:00:00Z" });
    const label = await request(app)
      .post("/v1/labels")
      .set("authorization", `Bearer ${LABEL_TOKEN}`)
      .send({ transactionId: first, customerId: "CL1", terminalId: "TL1", label: "chargeback", transactionTime: "2018-05-01T10:00:00Z", knownAt: "2018-05-03T00:00:00Z" });
    expect(label.status).toBe(202);
    // Eight days later the first transaction sits in the label-delayed 1-day window.
    let risk = 0;
    let n = 0;
    await waitFor("the label to reach the terminal risk", async () => {
      const id = `${run}-label-b${n++}`;
      const res = await score({ transactionId: id, customerId: `CL${n + 1}`, terminalId: "TL1", amount: 30, time: "2018-05-09T09:00:00Z" });
      const decision = await waitFor("decision", () => decisions.get(id));
      if (decision.type === "fraud.decision") risk = decision.payload.features.TERMINAL_ID_RISK_1DAY_WINDOW ?? 0;
      return risk > 0 ? res.body : undefined;
    });
    expect(risk).toBe(1);
  });

  it("keeps answering, degraded, while Redis is down, and recovers when it returns", async () => {
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const res = await score({ transactionId: `${run}-down-${i}`, customerId: "CD", terminalId: "TD", amount: 25, time: "2018-05-10T10:00:00Z" });
      expect(res.status).toBe(200);
      expect(res.body.degraded).toBe(true);
      expect(res.body.degradedReason).toMatch(/feature store/);
      expect(["approve", "review", "decline"]).toContain(res.body.decision);
    }
    expect((await request(app).get("/readyz")).status).toBe(503);
    await redis.start();
    const back = await waitFor(
      "non-degraded answers after Redis returns",
      async () => {
        const res = await score({ transactionId: `${run}-up-${Date.now()}`, customerId: "CD", terminalId: "TD", amount: 25, time: "2018-05-10T10:00:00Z" });
        return res.body.degraded === false ? res.body : undefined;
      },
      30_000,
    );
    expect(back.decidedBy).toBe("model");
  });
});
