import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driftMonitorService } from "@mlsd/drift-monitor-service";
import { eventLoggerService } from "@mlsd/event-logger-service";
import { faultProxyService } from "@mlsd/fault-proxy-service";
import { featureStreamerService } from "@mlsd/feature-streamer-service";
import { fraudService } from "@mlsd/fraud-service";
import { rankerService } from "@mlsd/ranker-service";
import { recommenderService } from "@mlsd/recommender-service";
import { retrainControllerService } from "@mlsd/retrain-controller-service";
import { retrievalService } from "@mlsd/retrieval-service";
import { rolloutControllerService } from "@mlsd/rollout-controller-service";
import { silentLogger, startService, type RunningService } from "@mlsd/service-kit";
import { startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { trainFraud } from "@mlsd/trainer/src/fraud/pipeline";
import { trainRecs } from "@mlsd/trainer/src/recs/pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardQueries } from "./dashboard-files";
import { mergeFamilies, parseExposition, resolveSeries, type Family } from "@mlsd/prom-text";
import { groupingLabels, selectors } from "./promql";
import { readCompose } from "./stack";

/**
 * Every series the Grafana dashboards query, checked against what the services really export:
 * the real trainer writes small models into a registry and features into Redis, each service is
 * started from its service definition as its main.ts starts it (startService) from its
 * docker-compose.yml environment with the addresses pointed at the testkit's Redis and Kafka,
 * traffic goes through the HTTP APIs, and /metrics is scraped over HTTP as Prometheus does.
 */

/** Series only a fault produces; they must be exported (declared), samples are not expected here. */
const FAULT_ONLY = new Map<string, string>([
  ["fraud_degraded_total", "answers computed without the feature store (Redis down, deadline passed)"],
  ["ranker_degraded_total", "rank answers ordered by retrieval score after a feature-store failure"],
  ["recommender_dependency_failures_total", "dependency calls that time out, fail or meet an open breaker"],
  ["feature_streamer_consumer_dead_letters_total", "undecodable messages on the streamed topics"],
  ["event_logger_consumer_dead_letters_total", "undecodable messages on the logged topics"],
  ["drift_monitor_consumer_dead_letters_total", "undecodable messages on the monitored topics"],
  ["event_logger_store_duplicates_skipped_total", "redelivered events (a crash or rebalance before a commit)"],
  ["drift_monitor_alerts_total", "sustained drift of a feature"],
  ["drift_monitor_retrain_requests_total", "a drift alert"],
]);
/** Label values only a fault produces. */
const FAULT_ONLY_VALUES = new Map<string, string>([["retrieval_answers_total degraded=true", "an HNSW index the service refused (exact search instead)"]]);
/** Series Prometheus itself adds to every scrape. */
const PROMETHEUS_SERIES = new Set(["up"]);

const compose = readCompose();
const run = Date.now().toString(36);
const tmp = mkdtempSync(join(tmpdir(), "mlsd-metrics-"));
let redis: RedisHandle;
let kafka: KafkaHandle;
const services = new Map<string, RunningService>();
let families: Map<string, Family>;
const pages = new Map<string, Map<string, Family>>();

/** redis:// through the fault proxy, once it runs. */
let redisThroughProxy: string | undefined;
const url = (name: string, path: string): string => `http://127.0.0.1:${services.get(name)?.port}${path}`;

/**
 * The compose environment of a service with its addresses pointed at this test's components:
 * a value naming a compose host this function does not know fails the test (a new dependency).
 */
function composeEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(compose.services[name]?.environment ?? {})) {
    const mapped = value
      // Compose interpolation: `${VAR:-default}` from this process's environment.
      .replace(/\$\{(\w+):-([^}]*)\}/g, (_, v: string, fallback: string) => process.env[v] ?? fallback)
      .replace("redis://redis:6379", redis.url)
      // The services reach Redis through the fault proxy (started first), the proxy reaches Redis itself.
      .replace("redis://fault-proxy:6380", () => {
        if (!redisThroughProxy) throw new Error(`${name}: ${key}=${value} names the fault proxy, which is not running yet`);
        return redisThroughProxy;
      })
      .replace(/^redis:6379$/, `${redis.host}:${redis.port}`)
      .replace("kafka:19092", kafka.brokers.join(","))
      .replace(/^\/models\//, `${tmp}/models/`)
      .replace(/^\/data\//, `${tmp}/${name}/`)
      // The offline store, mounted read-only where training reads it, is the event logger's /data.
      .replace(/^\/logs\//, `${tmp}/event-logger/`)
      .replace(/http:\/\/([^:/]+):\d+/g, (_, host: string) => {
        if (!services.has(host)) throw new Error(`${name}: ${key}=${value} names ${host}, which is not running yet`);
        return url(host, "");
      });
    if (/^[a-z]+:\/\/(redis|kafka)\b|^kafka:/.test(mapped)) throw new Error(`${name}: ${key}=${value} was not mapped`);
    env[key] = mapped;
  }
  return { ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", ...overrides };
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The label and click writers' token in this test. */
const WRITER_TOKEN = "writer-token-for-the-metrics-test";

async function post(name: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url(name, path), { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${WRITER_TOKEN}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function scrapeAll(): Promise<void> {
  for (const name of services.keys()) {
    const res = await fetch(url(name, "/metrics"));
    expect(res.status, name).toBe(200);
    pages.set(name, parseExposition(await res.text()));
  }
  families = mergeFamilies(pages.values());
}

function hasSamples(series: string): boolean {
  const resolved = resolveSeries(series, families ?? new Map());
  return "family" in resolved && resolved.family.samples.some((s) => s.name === series);
}

/** Every queried series that should have samples once the traffic has gone through. */
function expectedSeries(): string[] {
  const names = dashboardQueries().flatMap((q) => selectors(q.expr).map((s) => s.metric));
  return [...new Set(names)].filter((n) => !PROMETHEUS_SERIES.has(n) && !FAULT_ONLY.has(n)).sort();
}

/** `file "panel": metric{label="value"}` for every = matcher no sample satisfies. */
function missingLabelValues(): string[] {
  const missing: string[] = [];
  for (const q of dashboardQueries()) {
    for (const { metric, matchers } of selectors(q.expr)) {
      if (PROMETHEUS_SERIES.has(metric) || FAULT_ONLY.has(metric)) continue;
      const resolved = resolveSeries(metric, families ?? new Map());
      for (const m of matchers.filter((x) => x.op === "=")) {
        if (FAULT_ONLY_VALUES.has(`${metric.replace(/_(bucket|sum|count)$/, "")} ${m.label}=${m.value}`)) continue;
        const found = "family" in resolved && resolved.family.samples.some((s) => s.name === metric && s.labels[m.label] === m.value);
        if (!found) missing.push(`${q.file} "${q.panel}": ${metric}{${m.label}="${m.value}"}`);
      }
    }
  }
  return missing;
}

beforeAll(async () => {
  // A dedicated broker: the drift monitor and the fraud label consumer read their topics from the beginning.
  [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), startKafka({ dedicated: true })]);
  const registryDir = `${tmp}/models/registry`;
  expect(compose.services["trainer-fraud"]?.command).toContain("/models/registry");
  await trainFraud({
    source: { kind: "synthetic", world: { customers: 300, terminals: 600, days: 50, seed: 3 } },
    protocol: { folds: 2 },
    gbdt: { numRounds: 20, maxDepth: 3, learningRate: 0.3, positiveWeight: 1 },
    quiet: true,
    registryDir,
    reportDir: `${tmp}/reports`,
    materializeRedisUrl: redis.url,
    log: () => {},
  });
  await trainRecs({
    source: { kind: "synthetic", preset: "small", world: { numUsers: 300, numItems: 1000 }, sessionsPerUser: 4 },
    twoTower: { epochs: 1 },
    registryDir,
    reportDir: `${tmp}/reports`,
    redisUrl: redis.url,
    quiet: true,
    log: () => {},
  });

  // The transactions below are dated from 2024-05-01, 10 s apart: the service clock starts there and
  // allows them to run an hour ahead of it.
  // Generous feature deadline: this file checks what the services export, not how fast they answer
  // on a loaded machine (a late Redis answer is a degraded decision, which the drift monitor skips).
  const clock = { CLOCK_START: "2024-05-01T00:00:00Z", MAX_CLOCK_SKEW_MS: "3600000", FEATURE_DEADLINE_MS: "500" };
  services.set("fault-proxy", await startService(faultProxyService, composeEnv("fault-proxy", { PROXY_PORT: "0", PROXY_HOST: "127.0.0.1" }), { logger: silentLogger }));
  redisThroughProxy = `redis://127.0.0.1:${((await (await fetch(url("fault-proxy", "/v1/fault"))).json()) as { listen: { port: number } }).listen.port}`;
  services.set("fraud", await startService(fraudService, composeEnv("fraud", { LABEL_WRITER_TOKEN: WRITER_TOKEN, ...clock }), { logger: silentLogger }));
  services.set("retrieval", await startService(retrievalService, composeEnv("retrieval"), { logger: silentLogger }));
  // The same for the recommender's Redis reads, which go through the fault proxy in this process.
  const generous = { REQUEST_BUDGET_MS: "3000", REDIS_DEADLINE_MS: "500", RETRIEVAL_DEADLINE_MS: "1000", RANKER_DEADLINE_MS: "1000" };
  services.set("ranker", await startService(rankerService, composeEnv("ranker", { FEATURE_DEADLINE_MS: "500" }), { logger: silentLogger }));
  services.set("recommender", await startService(recommenderService, composeEnv("recommender", { CLICK_WRITER_TOKEN: WRITER_TOKEN, ...generous }), { logger: silentLogger }));
  services.set("feature-streamer", await startService(featureStreamerService, composeEnv("feature-streamer", { CONSUMER_GROUP: `feature-streamer-${run}` }), { logger: silentLogger }));
  services.set("event-logger", await startService(eventLoggerService, composeEnv("event-logger", { CONSUMER_GROUP: `event-logger-${run}`, LAG_INTERVAL_MS: "500" }), { logger: silentLogger }));
  services.set(
    "drift-monitor",
    await startService(driftMonitorService, composeEnv("drift-monitor", { CONSUMER_GROUP: `drift-monitor-${run}`, COUNT_WINDOW_SIZE: "100", COUNT_EVALUATE_EVERY: "25", TIME_EVALUATE_EVERY: "25" }), { logger: silentLogger }),
  );
  // The retrain controller hands candidates to the rollout controller (ROLLOUT_URL): that one first.
  services.set("rollout-controller", await startService(rolloutControllerService, composeEnv("rollout-controller"), { logger: silentLogger }));
  services.set("retrain-controller", await startService(retrainControllerService, composeEnv("retrain-controller", { CONSUMER_GROUP: `retrain-controller-${run}` }), { logger: silentLogger }));
  for (const name of services.keys()) await waitFor(`${name} ready`, async () => (await fetch(url(name, "/readyz"))).status === 200);

  // Fraud: a stream of transactions (10 s apart, so the drift monitor's 1-hour time window holds its
  // minimum of 100), one a hard rule declines, one invalid; labels of both classes.
  const t0 = Date.UTC(2024, 4, 1);
  for (let i = 0; i < 150; i++) {
    const tx = { transactionId: `${run}-${i}`, customerId: `C${i % 40}`, terminalId: `T${i % 60}`, amount: 5 + ((i * 37) % 240), time: new Date(t0 + i * 10_000).toISOString() };
    expect((await post("fraud", "/v1/transactions/score", tx)).status).toBe(200);
    if (i < 20) {
      const label = { transactionId: tx.transactionId, customerId: tx.customerId, terminalId: tx.terminalId, label: i % 2 === 0 ? "fraud_confirmed" : "legitimate", transactionTime: tx.time, knownAt: tx.time };
      expect((await post("fraud", "/v1/labels", label)).status).toBe(202);
    }
  }
  const ruled = await post("fraud", "/v1/transactions/score", { transactionId: `${run}-big`, customerId: "C1", terminalId: "T1", amount: 50_000, time: new Date(t0).toISOString() });
  expect(ruled.body.decision).toBe("decline");
  expect((await post("fraud", "/v1/transactions/score", { transactionId: `${run}-bad` })).status).toBe(400);

  // Recommendations: known users, users no model has seen (cold start), and clicks.
  for (let u = 0; u < 20; u++) {
    const answer = await post("recommender", "/v1/recommendations", { userId: String(u), k: 10 });
    expect(answer.status).toBe(200);
    const first = (answer.body.items as { itemId: string }[])[0];
    if (u < 5 && first) {
      const body = { requestId: String(answer.body.requestId), userId: String(u), itemId: first.itemId, position: 0 };
      // A click whose answer cannot be checked within the Redis deadline is refused with 503 and
      // retried by its sender (the contract); a loaded CI machine can miss a few-millisecond deadline.
      let click = await post("recommender", "/v1/events/click", body);
      for (let attempt = 0; click.status === 503 && attempt < 10; attempt++) {
        await new Promise((r) => setTimeout(r, 200));
        click = await post("recommender", "/v1/events/click", body);
      }
      expect(click.status).toBe(202);
    }
  }
  for (let u = 0; u < 3; u++) expect((await post("recommender", "/v1/recommendations", { userId: `new-${run}-${u}`, k: 10 })).body.fallback).toBe("cold-start");

  // Consumers and the drift monitor's windows catch up asynchronously.
  await waitFor(
    "every dashboard series to have samples",
    async () => {
      await scrapeAll();
      return expectedSeries().every(hasSamples) && missingLabelValues().length === 0;
    },
    90_000,
  ).catch(() => undefined);
}, 300_000);

afterAll(async () => {
  for (const service of [...services.values()].reverse()) await service.shutdown("test done");
  await redis?.stop();
  await kafka?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("what the dashboards query is what the services export", () => {
  it("every queried series is exported, histograms through _bucket/_sum/_count", () => {
    const problems: string[] = [];
    for (const q of dashboardQueries()) {
      for (const { metric } of selectors(q.expr)) {
        if (PROMETHEUS_SERIES.has(metric)) continue;
        const resolved = resolveSeries(metric, families);
        if ("problem" in resolved) problems.push(`${q.file} "${q.panel}": ${resolved.problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every queried series has samples after the traffic, except those only a fault produces", () => {
    const expected = expectedSeries();
    expect(expected.length).toBeGreaterThan(40);
    expect(expected.filter((s) => !hasSamples(s))).toEqual([]);
    for (const [series, fault] of FAULT_ONLY) expect("family" in resolveSeries(series, families), `${series} (${fault}) is declared`).toBe(true);
  });

  it("every label value a query selects with = occurs in the samples", () => {
    expect(missingLabelValues()).toEqual([]);
  });

  it("every label a query groups by is on the series it reads", () => {
    const missing: string[] = [];
    for (const q of dashboardQueries()) {
      const read = selectors(q.expr).filter((s) => !PROMETHEUS_SERIES.has(s.metric) && !FAULT_ONLY.has(s.metric));
      if (read.length === 0) continue;
      for (const label of groupingLabels(q.expr)) {
        const carried = read.some(({ metric }) => {
          const resolved = resolveSeries(metric, families);
          return "family" in resolved && resolved.family.samples.some((s) => s.name === metric && label in s.labels);
        });
        if (!carried) missing.push(`${q.file} "${q.panel}": by (${label})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("labels every sample with the compose service name, which the platform dashboard groups by", () => {
    expect([...pages.keys()].sort()).toEqual(["drift-monitor", "event-logger", "fault-proxy", "feature-streamer", "fraud", "ranker", "recommender", "retrain-controller", "retrieval", "rollout-controller"]);
    for (const [name, page] of pages) {
      const services = new Set([...page.values()].flatMap((f) => f.samples.map((s) => s.labels.service)));
      expect([...services], name).toEqual([name]);
    }
  });
});
