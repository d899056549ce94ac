import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { TOPICS, type AnyEvent } from "@mlsd/contracts";
import { historyKey, RedisRecsFeatureStore } from "@mlsd/feature-store";
import { ModelRegistry } from "@mlsd/model-registry";
import { rankerService } from "@mlsd/ranker-service";
import { retrievalService } from "@mlsd/retrieval-service";
import { startService, type StartedServiceOf } from "@mlsd/service-kit";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { Redis } from "ioredis";
import { ensureTopics } from "@mlsd/events";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recommenderService } from "./service";

const CLICK_TOKEN = "click-writer-token-for-tests";

const run = `${Date.now()}`;
const featurePrefix = `rx-int-${run}:`;
const historyPrefix = `rh-int-${run}:`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recommender-int-"));
const registryDir = path.join(tmp, "registry");

let redis: RedisHandle;
let kafka: KafkaHandle;
let versions: { retrieval: string; ranker: string; popularity: string };
let trainerOutput = "";
let retrieval: StartedServiceOf<typeof retrievalService>;
let retrievalPort: number;
let ranker: StartedServiceOf<typeof rankerService>;
let recommender: StartedServiceOf<typeof recommenderService>;
/** The same service with PIPELINE=in-process: retrieval and the ranker as libraries in its process. */
let inProcess: StartedServiceOf<typeof recommenderService>;
let client: Redis;
let consumer: Consumer;
const seen = new Map<string, AnyEvent[]>();

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startRetrieval(port: number) {
  return startService(retrievalService, { PORT: String(port), LOG_LEVEL: "silent", MODEL_REGISTRY_DIR: registryDir });
}

beforeAll(async () => {
  // A dedicated Redis: the last test stops it on purpose.
  [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), startKafka()]);
  // The trainer as an operator runs it: its CLI, a small world, straight into this Redis.
  const trainer = path.resolve(import.meta.dirname, "../../../jobs/trainer");
  const tsx = path.resolve(import.meta.dirname, "../../../node_modules/.bin/tsx");
  const args = ["src/cli.ts", "recs", "--preset", "small", "--users", "300", "--items", "800", "--sessions", "6", "--seed", "3", "--epochs", "2", "--quiet"];
  args.push("--registry", registryDir, "--reports", path.join(tmp, "reports"), "--redis", redis.url, "--feature-prefix", featurePrefix, "--history-prefix", historyPrefix);
  const out = await promisify(execFile)(tsx, args, { cwd: trainer, maxBuffer: 16 * 1024 * 1024 });
  trainerOutput = out.stdout;
  const registry = new ModelRegistry(registryDir);
  versions = { retrieval: registry.resolve("retrieval"), ranker: registry.resolve("ranker-gbdt"), popularity: registry.resolve("recs-popularity") };

  retrieval = await startRetrieval(0);
  retrievalPort = retrieval.port;
  ranker = await startService(rankerService, { PORT: "0", LOG_LEVEL: "silent", REDIS_URL: redis.url, REDIS_PREFIX: featurePrefix, MODEL_REGISTRY_DIR: registryDir, FEATURE_DEADLINE_MS: "500" });
  const recommenderEnv = {
    PORT: "0",
    LOG_LEVEL: "silent",
    REDIS_URL: redis.url,
    REDIS_PREFIX: featurePrefix,
    HISTORY_PREFIX: historyPrefix,
    KAFKA_BROKERS: kafka.brokers.join(","),
    EVENT_JOURNAL_DIR: path.join(tmp, "journal"),
    RETRIEVAL_URL: `http://127.0.0.1:${retrievalPort}`,
    RANKER_URL: `http://127.0.0.1:${ranker.port}`,
    MODEL_REGISTRY_DIR: registryDir,
    // Generous deadlines: this suite checks which answer comes back, not how fast, on a loaded machine.
    REQUEST_BUDGET_MS: "5000",
    REDIS_DEADLINE_MS: "2000",
    RETRIEVAL_DEADLINE_MS: "2000",
    RANKER_DEADLINE_MS: "2000",
    CANDIDATES: "100",
    BREAKER_FAILURE_RATE: "1",
    BREAKER_MIN_CALLS: "2",
    BREAKER_WINDOW: "2",
    BREAKER_COOLDOWN_MS: "300",
    CLICK_WRITER_TOKEN: CLICK_TOKEN,
  };
  recommender = await startService(recommenderService, recommenderEnv);
  inProcess = await startService(recommenderService, { ...recommenderEnv, PIPELINE: "in-process", RANKER_FEATURE_DEADLINE_MS: "500", EVENT_JOURNAL_DIR: path.join(tmp, "journal-in-process") });
  client = new Redis(redis.url);
  await waitFor("recommender ready", async () => (await request(recommender.server).get("/readyz")).status === 200);
  await waitFor("ranker ready", () => ranker.ctx.readiness.isReady);
  await waitFor("in-process recommender ready", async () => (await request(inProcess.server).get("/readyz")).status === 200);

  const kafkaClient = new Kafka({ clientId: `recommender-int-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  // The services create their topics in the background; this test subscribes at once.
  await ensureTopics(kafkaClient, { topics: [TOPICS.recsImpressions, TOPICS.recsClicks] });
  consumer = kafkaClient.consumer({ groupId: `recommender-int-${run}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPICS.recsImpressions, TOPICS.recsClicks], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(String(message.value)) as AnyEvent;
      if (event.type !== "recs.impression" && event.type !== "recs.click") return;
      const list = seen.get(event.payload.requestId) ?? [];
      list.push(event);
      seen.set(event.payload.requestId, list);
    },
  });
}, 180_000);

afterAll(async () => {
  await consumer?.disconnect();
  client?.disconnect();
  await recommender?.shutdown("test over");
  await inProcess?.shutdown("test over");
  await ranker?.shutdown("test over");
  await retrieval?.shutdown("test over");
  await redis?.stop();
  await kafka?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const recommend = (body: object) => request(recommender.server).post("/v1/recommendations").send(body);

/** World users with clicks in their history, and users with a profile but no clicks. */
async function users(): Promise<{ active: string[]; quiet: string[] }> {
  const store = new RedisRecsFeatureStore(client, { prefix: featurePrefix });
  const active: string[] = [];
  const quiet: string[] = [];
  for (let u = 0; u < 300 && (active.length < 5 || quiet.length < 1); u++) {
    const [length, { user }] = await Promise.all([client.llen(historyKey(historyPrefix, String(u))), store.fetch(String(u), [])]);
    if (length >= 3) active.push(String(u));
    else if (length === 0 && user?.profile && user.clicks === 0) quiet.push(String(u));
  }
  return { active, quiet };
}

describe("recommender with retrieval, ranker, Redis and Kafka", () => {
  it("trains and publishes the three models and a report, and loads features into Redis", async () => {
    const retrievalEntry = new ModelRegistry(registryDir).open("retrieval");
    expect(versions.popularity).toBe(versions.retrieval);
    expect(retrievalEntry.manifest.metrics["indexRecall@100"]).toBeGreaterThan(0.9);
    expect(trainerOutput).toMatch(/HNSW recall@100 vs exact at ef 200: (0\.9\d+|1\.0+)/);
    expect(fs.readFileSync(path.join(tmp, "reports", "recs-report.md"), "utf8")).toContain("NDCG@10: retrieval alone vs two-stage vs popularity");
    const { user, items } = await new RedisRecsFeatureStore(client, { prefix: featurePrefix }).fetch("0", ["0", "799"]);
    expect(user?.profile).not.toBeNull();
    expect(items.map((i) => i?.profile?.category ?? null)).not.toContain(null);
  });

  it("recommends to a known user through both models, without items they clicked, and logs impressions on Kafka", async () => {
    const { active } = await users();
    expect(active.length).toBeGreaterThanOrEqual(3);
    for (const userId of active.slice(0, 3)) {
      const clicked = new Set(await client.lrange(historyKey(historyPrefix, userId), 0, -1));
      const res = await recommend({ userId, k: 10, context: { device: "mobile" } });
      expect(res.status).toBe(200);
      expect(res.body.fallback).toBeNull();
      expect(res.body.modelVersions).toEqual({ retrieval: `retrieval@${versions.retrieval}`, ranker: `ranker-gbdt@${versions.ranker}` });
      expect(res.body.items).toHaveLength(10);
      for (const item of res.body.items) expect(clicked.has(item.itemId)).toBe(false);
      const perCategory = new Map<number, number>();
      for (const item of res.body.items) perCategory.set(item.category, (perCategory.get(item.category) ?? 0) + 1);
      expect(Math.max(...perCategory.values())).toBeLessThanOrEqual(3);
      const impressions = await waitFor("impressions on Kafka", () => (seen.get(res.body.requestId)?.length === 10 ? seen.get(res.body.requestId) : undefined));
      expect(impressions.map((e) => (e.type === "recs.impression" ? e.payload.position : -1)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(impressions.map((e) => (e.type === "recs.impression" ? e.payload.itemId : "")).sort()).toEqual(res.body.items.map((i: { itemId: string }) => i.itemId).sort());
    }
  });

  it("gives new users the cold-start path: their home category when the store has a profile, overall popularity otherwise", async () => {
    const { quiet } = await users();
    expect(quiet.length).toBeGreaterThanOrEqual(1);
    const profiled = await recommend({ userId: quiet[0], k: 5 });
    expect(profiled.body.fallback).toBe("cold-start");
    expect(profiled.body.fallbackReason).toMatch(/^user without clicks: popularity in category \d+ blended with overall popularity$/);
    const stranger = await recommend({ userId: "999999", k: 5 });
    expect(stranger.status).toBe(200);
    expect(stranger.body).toMatchObject({ fallback: "cold-start", fallbackReason: "unknown user: overall popularity", modelVersions: { popularity: `recs-popularity@${versions.popularity}` } });
    expect(stranger.body.items).toHaveLength(5);
  });

  it("takes a click: the event reaches Kafka and the item leaves the user's next answers", async () => {
    const { active } = await users();
    const userId = active[3] as string;
    const first = await recommend({ userId, k: 5 });
    const item = first.body.items[2];
    const click = await request(recommender.server).post("/v1/events/click").set("authorization", `Bearer ${CLICK_TOKEN}`).send({ requestId: first.body.requestId, userId, itemId: item.itemId, position: 2 });
    expect(click.status).toBe(202);
    expect(click.body.historyUpdated).toBe(true);
    await waitFor("the click on Kafka", () => seen.get(first.body.requestId)?.find((e) => e.type === "recs.click"));
    expect((await client.lrange(historyKey(historyPrefix, userId), 0, 0))[0]).toBe(item.itemId);
    const next = await recommend({ userId, k: 5 });
    expect(next.body.items.map((i: { itemId: string }) => i.itemId)).not.toContain(item.itemId);
  });

  it("refuses bad input with 400s naming the field", async () => {
    for (const [body, field] of [
      [{ userId: "1", k: 101 }, "k"],
      [{ userId: "1", k: "5" }, "k"],
      [{ userId: "1", surprise: true }, "surprise"],
      [{ userId: 7 }, "userId"],
    ] as const) {
      const res = await recommend(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
  });

  it("answers the same in-process (PIPELINE=in-process) as over the two HTTP hops: items, scores, versions, fallbacks, timings keys and events", async () => {
    const { active, quiet } = await users();
    const bodies = [
      ...active.slice(0, 5).map((userId, i) => ({ userId, k: 10, context: { device: (["mobile", "desktop", "tablet"] as const)[i % 3], hour: (i * 5) % 24 } })),
      { userId: active[1], k: 7, context: { category: 1 } },
      { userId: quiet[0], k: 5 },
      { userId: "999998", k: 5 },
    ];
    let modelAnswers = 0;
    for (const body of bodies) {
      // One clock for both: item ages follow the request's time.
      const timed = { ...body, context: { ...body.context, time: new Date().toISOString() } };
      const [http, local] = await Promise.all([recommend(timed), request(inProcess.server).post("/v1/recommendations").send(timed)]);
      expect(local.status).toBe(200);
      expect(http.status).toBe(200);
      const essence = (b: { items: unknown; modelVersions: unknown; arms: unknown; fallback: unknown; fallbackReason: unknown; userId: unknown }) => ({ userId: b.userId, items: b.items, modelVersions: b.modelVersions, arms: b.arms, fallback: b.fallback, fallbackReason: b.fallbackReason });
      expect(essence(local.body)).toEqual(essence(http.body));
      expect(Object.keys(local.body.timings).sort()).toEqual(Object.keys(http.body.timings).sort());
      if (http.body.fallback === null) modelAnswers++;
      const n = http.body.items.length;
      const [httpEvents, localEvents] = await Promise.all([
        waitFor("the HTTP mode's impressions", () => (seen.get(http.body.requestId)?.length === n ? seen.get(http.body.requestId) : undefined)),
        waitFor("the in-process mode's impressions", () => (seen.get(local.body.requestId)?.length === n ? seen.get(local.body.requestId) : undefined)),
      ]);
      const shown = (events: AnyEvent[]) => events.map((e) => (e.type === "recs.impression" ? `${e.payload.position}:${e.payload.itemId}:${JSON.stringify(e.payload.modelVersions)}` : "")).sort();
      expect(shown(localEvents)).toEqual(shown(httpEvents));
    }
    expect(modelAnswers).toBeGreaterThanOrEqual(5);
  });

  it("answers from popularity while retrieval is down, with the reason, and recovers when it returns", async () => {
    const { active } = await users();
    await retrieval.shutdown("test: retrieval down");
    for (let i = 0; i < 3; i++) {
      const res = await recommend({ userId: active[0], k: 5 });
      expect(res.status).toBe(200);
      expect(["popularity", "popularity-category"]).toContain(res.body.fallback);
      expect(res.body.fallbackReason).toMatch(/^retrieval: (connect ECONNREFUSED|circuit open)/);
    }
    retrieval = await startRetrieval(retrievalPort);
    const back = await waitFor("model answers after retrieval returns", async () => {
      const res = await recommend({ userId: active[0], k: 5 });
      return res.body.fallback === null ? res.body : undefined;
    });
    expect(back.modelVersions.retrieval).toBe(`retrieval@${versions.retrieval}`);
  });

  it("answers in retrieval order while the ranker is down", async () => {
    const { active } = await users();
    await ranker.shutdown("test: ranker down");
    const res = await recommend({ userId: active[1], k: 5 });
    expect(res.status).toBe(200);
    expect(res.body.fallback).toBe("retrieval-order");
    expect(res.body.fallbackReason).toMatch(/^ranker: /);
    expect(res.body.items).toHaveLength(5);
  });

  it("answers from popularity while Redis is down, with the reason, and recovers when it returns", async () => {
    const { active } = await users();
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const res = await recommend({ userId: active[0], k: 5, context: { category: 2 } });
      expect(res.status).toBe(200);
      expect(res.body.fallback).toBe("popularity-category");
      expect(res.body.fallbackReason).toMatch(/^redis: .*; the seen-item filter is off$/);
      expect(res.body.items).toHaveLength(5);
    }
    await redis.start();
    await waitFor("Redis answers again", async () => {
      const res = await recommend({ userId: active[0], k: 5 });
      return res.body.fallback === "retrieval-order" ? true : undefined;
    });
  });
});

