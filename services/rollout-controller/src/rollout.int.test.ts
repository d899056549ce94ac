import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RolloutDecisionPayload } from "@mlsd/contracts";
import { buildReference, createDriftReference } from "@mlsd/drift";
import { fraudService } from "@mlsd/fraud-service";
import { TEST_THRESHOLDS, trainTestGbdt } from "@mlsd/fraud-service/testing";
import { publishFraudModel, type FraudThresholds } from "@mlsd/model-formats/fraud";
import { createLogger, startService, type StartedServiceOf } from "@mlsd/service-kit";
import { createFraudWorld, iterateTransactions } from "@mlsd/synth";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rolloutControllerService } from "./service";

/**
 * The rollout on real Kafka and Redis: the fraud service serves, card holders of a simulated world
 * transact and their labels come back; the rollout controller reads the log off Kafka, exposes the
 * candidate through the fraud service's arms and moves the registry. Models: `good` (a GBDT with
 * sensible thresholds), `declines-all` (the same GBDT declining everything: costs a good customer's
 * friction on every legitimate transaction).
 */
const ADMIN = "rollout-int-admin-token-0123";
const LABELS = "rollout-int-label-token-0123";
const CLOCK_START = Date.parse("2018-05-01T00:00:00Z");
const SPEED = 60;
const origin = Date.now();
const clockNow = () => CLOCK_START + (Date.now() - origin) * SPEED;

let redis: RedisHandle;
let kafka: KafkaHandle;
let fraud: StartedServiceOf<typeof fraudService>;
let controller: StartedServiceOf<typeof rolloutControllerService>;
let registryDir: string;
const run = `${Date.now()}`;

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function publish(version: string, thresholds: FraudThresholds, alias: string): Promise<void> {
  const registry = openModelRegistry(registryDir);
  await publishFraudModel(
    registry,
    {
      gbdt: trainTestGbdt(1),
      version,
      thresholds,
      driftReference: createDriftReference({ features: [buildReference("TX_AMOUNT", [1, 2, 3, 4], { kind: "numeric", bins: 2 })] }),
      dataWindow: { test: true },
      metrics: {},
      alias,
    },
  );
}

const world = iterateTransactions(createFraudWorld({ customers: 300, terminals: 600, days: 60, seed: 3 }));
let sent = 0;

/** `n` transactions scored at the services' clock, then each one's label (chargeback or legitimate) sent back. */
async function traffic(n: number): Promise<void> {
  const scored: { transactionId: string; customerId: string; terminalId: string; transactionTime: string; fraud: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const t = world.next().value as { customerId: number; terminalId: number; amount: number; fraud: number };
    const tx = { transactionId: `${run}-${sent++}`, customerId: `C${t.customerId}`, terminalId: `T${t.terminalId}`, transactionTime: new Date(clockNow() - 1_000).toISOString(), fraud: t.fraud === 1 };
    const res = await request(fraud.app).post("/v1/transactions/score").send({ transactionId: tx.transactionId, customerId: tx.customerId, terminalId: tx.terminalId, amount: t.amount, time: tx.transactionTime });
    expect(res.status).toBe(200);
    scored.push(tx);
  }
  for (const { fraud: isFraud, ...tx } of scored) {
    await request(fraud.app)
      .post("/v1/labels")
      .set("authorization", `Bearer ${LABELS}`)
      .send({ ...tx, label: isFraud ? "chargeback" : "legitimate" })
      .expect((res) => expect(res.status).toBeLessThan(300));
  }
}

/** Drives traffic until the model's rollout has finished; returns it. */
async function until(model: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = (await request(controller.app).get(`/v1/rollouts/${model}`).expect(200)).body as { status: string; decisions: RolloutDecisionPayload[]; exposure: { totalRequests: number; totalUnits: number } };
    if (r.status !== "running") return r;
    if (Date.now() > end) throw new Error(`rollout still running after ${timeoutMs} ms: ${JSON.stringify(r.decisions.map((d) => d.action))}`);
    await traffic(100);
  }
}

interface Finished {
  status: string;
  decisions: RolloutDecisionPayload[];
  exposure: { totalRequests: number; totalUnits: number };
}

/** What the report prints: each run's decisions as they were recorded, and what the test measured around them. */
const runs: { title: string; rollout: Finished; realSeconds: number }[] = [];
const measured: string[] = [];

function timeline(run: (typeof runs)[number]): string {
  const fmt = (x: number | null | undefined, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "-");
  const rows = run.rollout.decisions.map(
    (d) =>
      `| ${d.stage} | ${d.action} | ${fmt(d.stageElapsedMs / 3_600_000, 2)} | ${d.exposure.stageRequests} / ${d.exposure.stageUnits} | ${fmt(d.numbers["current.costPerTransaction"])} | ${fmt(d.numbers["challenger.costPerTransaction"])} | ${typeof d.numbers["pValue"] === "number" ? (d.numbers["pValue"] as number).toExponential(2) : "-"} | ${d.reasons.join("; ").replace(/\|/g, "/")} |`,
  );
  return [
    `### ${run.title}`,
    "",
    `Ended **${run.rollout.status}** after ${run.realSeconds.toFixed(1)} s real; the candidate answered ${run.rollout.exposure.totalRequests} requests from ${run.rollout.exposure.totalUnits} cards in all.`,
    "",
    "| stage | action | stage clock h | candidate answered (requests / cards) | cost per tx, current | cost per tx, candidate | p | reasons |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

const arms = async () => (await request(fraud.app).get("/v1/model/arms").expect(200)).body as { current: { version: string }; challenger: { version: string; mode: string } | null };

beforeAll(async () => {
  [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-int-"));
  registryDir = path.join(dir, "registry");
  await publish("good", TEST_THRESHOLDS, "current");
  await publish("declines-all", { review: 0, decline: 0 }, "candidate");
  const clock = { CLOCK_START: new Date(CLOCK_START).toISOString(), CLOCK_ORIGIN_MS: String(origin), CLOCK_SPEED: String(SPEED) };
  const common = { KAFKA_BROKERS: kafka.brokers.join(","), MODEL_REGISTRY_DIR: registryDir, ADMIN_TOKEN: ADMIN, ...clock };
  fraud = await startService(
    fraudService,
    { ...common, PORT: "0", REDIS_URL: redis.url, EVENT_JOURNAL_DIR: path.join(dir, "journal-fraud"), LABEL_WRITER_TOKEN: LABELS, FEATURE_DEADLINE_MS: "2000" },
    { logger: createLogger({ service: "fraud", level: "warn" }) },
  );
  controller = await startService(
    rolloutControllerService,
    {
      ...common,
      PORT: "0",
      EVENT_JOURNAL_DIR: path.join(dir, "journal-rollout"),
      RELOAD_URLS: `fraud-gbdt=http://127.0.0.1:${fraud.port}`,
      CONSUMER_GROUP: `rollout-int-${run}`,
      CANARY_SHARE: "0.5",
      ROLLOUT_MIN_SAMPLES: "80",
      ROLLOUT_MAX_SAMPLES: "5000",
      ROLLOUT_TICK_SECONDS: "0.5",
    },
    { logger: createLogger({ service: "rollout-controller", level: "warn" }) },
  );
  await waitFor("redis ready", () => fraud.ctx.readiness.report().checks.redis?.ready, 30_000);
  // The controller reads from where its group joins: wait for the join before any traffic.
  await waitFor("the controller's consumer to join", () => fraud && controller.ctx.readiness.report().checks.consumer?.detail === undefined, 60_000);
  // Traffic before any rollout: the log the first stage's test is planned from.
  await traffic(150);
}, 180_000);

afterAll(async () => {
  // MLSD_ROLLOUT_REPORT=<path>: the report of this run (docs/reports/rollout.md is one).
  const report = process.env.MLSD_ROLLOUT_REPORT;
  if (report && runs.length > 0) {
    const text = [
      "# Rollout on real Kafka and Redis",
      "",
      "Written by the rollout controller's integration test from its own run (the fraud service, real Kafka and Redis, a simulated world's card holders with their labels coming back; the services' clock at 60 clock seconds per real second; 80 units an arm before a stage may end; canary share 0.5):",
      "",
      "```",
      "MLSD_ROLLOUT_REPORT=$PWD/docs/reports/rollout.md npx tsx packages/testkit/src/with-infra.ts -- npm run test:integration -w @mlsd/rollout-controller-service",
      "```",
      "",
      "Models: `good` (a GBDT with sensible thresholds) and `declines-all` (the same GBDT declining every transaction: a good customer's friction on every legitimate one).",
      "",
      ...runs.map(timeline),
      "## Shadow",
      "",
      ...measured.map((m) => `- ${m}`),
      "",
    ].join("\n");
    fs.writeFileSync(report, text);
  }
  await controller?.shutdown("test over");
  await fraud?.shutdown("test over");
  await redis?.stop();
  await kafka?.stop();
});

describe("rollout on real Kafka and Redis", () => {
  it("needs the admin token to start a rollout", async () => {
    await request(controller.app).post("/v1/rollouts").send({ model: "fraud-gbdt", reason: "no token" }).expect(401);
    expect((await arms()).challenger).toBeNull();
  });

  it("refuses a tampered candidate: the fraud service will not load it, nothing is exposed", async () => {
    await publish("tampered", TEST_THRESHOLDS, "spare");
    const file = path.join(registryDir, "fraud-gbdt", "tampered", "model.json");
    fs.appendFileSync(file, " ");
    const res = await request(controller.app).post("/v1/rollouts").set("authorization", `Bearer ${ADMIN}`).send({ model: "fraud-gbdt", candidate: "tampered", reason: "a corrupted artifact" }).expect(503);
    expect(res.body.error.message).toMatch(/could not expose fraud-gbdt@tampered/);
    expect((await arms()).challenger).toBeNull();
  });

  it("rolls a worse candidate back in shadow, where no customer saw its answers, and says when", async () => {
    const started = Date.now();
    const start = await request(controller.app).post("/v1/rollouts").set("authorization", `Bearer ${ADMIN}`).send({ model: "fraud-gbdt", reason: "a candidate that declines everything" });
    expect(start.body.error?.message ?? "", JSON.stringify(start.body)).toBe("");
    expect(start.status).toBe(201);
    expect(await arms()).toMatchObject({ current: { version: "good" }, challenger: { version: "declines-all", mode: "shadow" } });
    // Shadow answers never reach the caller: the answer is the current model's.
    const answer = await request(fraud.app).post("/v1/transactions/score").send({ transactionId: `${run}-shadow-probe`, customerId: "C1", terminalId: "T1", amount: 12.5, time: new Date(clockNow() - 1_000).toISOString() }).expect(200);
    expect(answer.body).toMatchObject({ modelVersion: "good", arm: "current" });

    const r = await until("fraud-gbdt", 240_000);
    const detectionSeconds = (Date.now() - started) / 1000;
    expect(r.status).toBe("rolled-back");
    const last = r.decisions.at(-1)!;
    expect(last).toMatchObject({ stage: "shadow", action: "rollback", candidateVersion: "declines-all", currentVersion: "good" });
    // Nobody was answered by the candidate in shadow.
    expect(r.exposure.totalRequests).toBe(0);
    expect((last.numbers["challenger.costPerTransaction"] ?? 0) > (last.numbers["current.costPerTransaction"] ?? Infinity)).toBe(true);
    runs.push({ title: "A worse candidate, shadow first: rolled back in shadow", rollout: r, realSeconds: detectionSeconds });
    expect(last.numbers["challenger.labelled"]).toBeGreaterThanOrEqual(80);
    process.stdout.write(
      `worse candidate: rolled back in shadow after ${detectionSeconds.toFixed(1)} s real (${(last.stageElapsedMs / 3_600_000).toFixed(2)} clock h), ` +
        `${last.numbers["current.labelled"]} labelled transactions, cost per transaction ${last.numbers["current.costPerTransaction"]?.toFixed(3)} (current) vs ${last.numbers["challenger.costPerTransaction"]?.toFixed(3)} (candidate), p ${last.numbers["pValue"]?.toExponential(2)}, customers answered by the candidate: ${r.exposure.totalUnits}\n`,
    );
    expect((await arms()).challenger).toBeNull();
    expect(openModelRegistry(registryDir).resolve("fraud-gbdt", "current")).toBe("good");
  }, 300_000);

  it("takes a better candidate through shadow and canary to current, and the service reloads it", async () => {
    const registry = openModelRegistry(registryDir);
    // The model in service is now the one that declines everything; the good one is the candidate.
    registry.promote("fraud-gbdt", { from: "declines-all", by: "test", reason: "set up the second scenario" });
    registry.setAlias("fraud-gbdt", "candidate", "good", { by: "test", reason: "set up the second scenario" });
    await request(fraud.app).post("/v1/model/reload").set("authorization", `Bearer ${ADMIN}`).expect(200);
    await traffic(150);
    const started = Date.now();
    await request(controller.app).post("/v1/rollouts").set("authorization", `Bearer ${ADMIN}`).send({ model: "fraud-gbdt", reason: "the good model back" }).expect(201);

    const r = await until("fraud-gbdt", 300_000);
    runs.push({ title: "A better candidate: shadow, canary, promoted", rollout: r, realSeconds: (Date.now() - started) / 1000 });
    expect(r.decisions.map((d) => `${d.stage}:${d.action}`)).toEqual(["shadow:started", "shadow:advance", "canary:promote"]);
    // In canary, the candidate answered about half of the cards.
    expect(r.exposure.totalUnits).toBeGreaterThan(40);
    const canary = r.decisions.at(-1)!;
    process.stdout.write(
      `better candidate: promoted after ${(r.decisions.reduce((s, d) => s + d.stageElapsedMs, 0) / 3_600_000).toFixed(2)} clock h; canary: ${canary.exposure.stageRequests} requests from ${canary.exposure.stageUnits} cards answered by the candidate, ` +
        `cost per transaction ${canary.numbers["current.costPerTransaction"]?.toFixed(3)} (current) vs ${canary.numbers["challenger.costPerTransaction"]?.toFixed(3)} (candidate), p ${canary.numbers["pValue"]?.toExponential(2)}\n`,
    );
    expect(openModelRegistry(registryDir).resolve("fraud-gbdt", "current")).toBe("good");
    expect(await arms()).toMatchObject({ current: { version: "good" }, challenger: null });
  }, 360_000);

  it("rolls a worse candidate back in canary, and says how many requests and cards it answered and how long detection took", async () => {
    const registry = openModelRegistry(registryDir);
    registry.setAlias("fraud-gbdt", "candidate", "declines-all", { by: "test", reason: "the canary scenario" });
    const started = Date.now();
    await request(controller.app).post("/v1/rollouts").set("authorization", `Bearer ${ADMIN}`).send({ model: "fraud-gbdt", stages: ["canary"], reason: "skip shadow: a canary on half of the cards" }).expect(201);
    expect(await arms()).toMatchObject({ current: { version: "good" }, challenger: { version: "declines-all", mode: "canary", share: 0.5 } });
    const r = await until("fraud-gbdt", 240_000);
    const seconds = (Date.now() - started) / 1000;
    expect(r.status).toBe("rolled-back");
    const last = r.decisions.at(-1)!;
    expect(last).toMatchObject({ stage: "canary", action: "rollback" });
    // It did answer customers before it was caught: the exposure is counted.
    expect(r.exposure.totalRequests).toBeGreaterThan(0);
    expect(r.exposure.totalUnits).toBeGreaterThan(0);
    expect((await arms()).challenger).toBeNull();
    expect(openModelRegistry(registryDir).resolve("fraud-gbdt", "current")).toBe("good");
    runs.push({ title: "A worse candidate straight to canary: rolled back in canary", rollout: r, realSeconds: seconds });
    process.stdout.write(`worse candidate in canary: rolled back after ${seconds.toFixed(1)} s real (${(last.stageElapsedMs / 3_600_000).toFixed(2)} clock h); it answered ${r.exposure.totalRequests} requests from ${r.exposure.totalUnits} cards\n`);
  }, 300_000);

  it("shadow changes no answer (byte for byte, but the id and the timings) and adds no latency to it", async () => {
    const batch = Array.from({ length: 200 }, () => world.next().value as { customerId: number; terminalId: number; amount: number });
    const times = batch.map((_, i) => new Date(clockNow() - 60_000 + i * 100).toISOString());
    const send = async (prefix: string) => {
      const bodies: string[] = [];
      const ms: number[] = [];
      for (const [i, t] of batch.entries()) {
        const t0 = performance.now();
        const res = await request(fraud.app).post("/v1/transactions/score").send({ transactionId: `${run}-${prefix}-${i}`, customerId: `${prefix}C${t.customerId}`, terminalId: `${prefix}T${t.terminalId}`, amount: t.amount, time: times[i] }).expect(200);
        ms.push(performance.now() - t0);
        const { transactionId: _id, timings: _timings, ...answer } = res.body as Record<string, unknown>;
        bodies.push(JSON.stringify(answer));
      }
      return { bodies, median: [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)] as number };
    };
    // The same transactions for fresh cards and terminals, once without a shadow and once with one.
    const off = await send("off");
    await request(fraud.app).put("/v1/model/arms").set("authorization", `Bearer ${ADMIN}`).send({ challenger: "declines-all", mode: "shadow" }).expect(200);
    const on = await send("on");
    await request(fraud.app).delete("/v1/model/arms").set("authorization", `Bearer ${ADMIN}`).expect(200);
    expect(on.bodies).toEqual(off.bodies);
    expect(new Set(on.bodies.map((b) => (JSON.parse(b) as { decision: string }).decision)).size).toBeGreaterThan(0);
    const line = `shadow on vs off, the same 200 transactions for fresh cards: answers identical byte for byte (but the id and the timings); median request time ${on.median.toFixed(2)} ms with the shadow vs ${off.median.toFixed(2)} ms without (the challenger scores after the answer is written)`;
    measured.push(line);
    process.stdout.write(`${line}\n`);
  }, 120_000);
});
