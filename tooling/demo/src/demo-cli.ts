// The one-command demo (README quick start: `npm run demo`). Starts Redis and Kafka (or uses
// REDIS_URL / KAFKA_BROKERS), trains both designs on small synthetic worlds, starts every
// service on one simulated clock, runs the world (users clicking what the recommender serves,
// card holders transacting, chargebacks coming back; a card-testing wave in the full run), drives
// open-loop load at both designs, prints the budget table and the drift report, then stays up
// with the URLs to explore until Ctrl-C (or stops by itself with --stop).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { alignedFraudStartDate, CardHolders, fraudPresetSpec, recsHistoryEndMs, recsPresetSpec, WEEK_MS } from "@mlsd/world";
import { startLoadBalancer, type LoadBalancerHandle } from "@mlsd/testkit";
import { pidsFile, REPLICATED, replicas, servicePlan, servicePort, worldMetricsPort, type DemoCluster, type ReplicatedService, type ServiceSpec } from "./plan";
import { Supervisor } from "@mlsd/supervisor";
import { run, waitReady } from "./processes";
import { loopSummary } from "./loop-summary";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    short: { type: "boolean", default: false },
    stop: { type: "boolean", default: false },
    "skip-train": { type: "boolean", default: false },
    "port-base": { type: "string" },
    topology: { type: "string", default: "single" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run demo -- [--short] [--stop] [--skip-train] [--port-base N]

  --short        a short world run and smaller load runs (what the CI smoke test uses)
  --stop         stop everything after the report instead of staying up
  --skip-train   reuse the models already in artifacts/registry
  --port-base N  put the services on N, N+1, ... instead of their default ports (8080-8087)
  --topology T   single (default): one Redis, one broker, one process per service;
                 cluster: a Redis Cluster (3 primaries + 3 replicas) and 3 Kafka brokers
                 (npm run services:up -- --topology cluster), fraud and the recommender as
                 2 replicas each behind HAProxy; the world keeps running while the demo
                 stays up, so the cluster drills (redis-primary-killed, kafka-broker-killed,
                 replica-killed) run under its traffic. redis-down and redis-slow need the fault
                 proxy of the single topology and are unavailable there.
`);
  process.exit(0);
}
if (values.topology !== "single" && values.topology !== "cluster") {
  process.stderr.write(`demo: --topology must be single or cluster, got "${values.topology}"\n`);
  process.exit(2);
}
const topology = values.topology;

/** The fraud history: long enough for the trainer's rows to come after the 37-day feature windows fill. */
const FRAUD_DAYS = 90;
/** World ms per real ms: a world day every 10 s, a week (the drift windows) in 70 s. */
const CLOCK_SPEED = 8640;
/** Real time the services get to start before the clock reaches the world's start (later, the world catches up at 3x its rates). */
const SERVICE_START_SLACK_MS = 45_000;
/** Real time a click may lag its answer (queueing on a busy machine), whatever the clock speed. */
const CLICK_ATTRIBUTION_REAL_MS = 5_000;
/** Replicas of fraud and of the recommender in the cluster topology. */
const REPLICAS = 2;
/** On the cluster the world runs on while the demo stays up, in runs of this length (real time; the supervisor starts the next from where the clock is). */
const BACKGROUND_WORLD_RUN = "20m";

const say = (line = "") => process.stdout.write(`${line}\n`);
const step = (title: string) => say(`\n==> ${title}`);
const dataDir = path.join(ROOT, ".data", "demo");
const registryDir = path.join(ROOT, "artifacts", "registry");
const reportDir = path.join(ROOT, "reports", "demo");
const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
const supervisor = new Supervisor({ root: ROOT, logDir: path.join(dataDir, "logs"), pidsFile: pidsFile(dataDir), baseEnv: process.env, onEvent: (line) => say(`  supervisor: ${line}`) });
let infraStartedHere = false;
let loadBalancer: LoadBalancerHandle | undefined;
let stopping: Promise<void> | undefined;

function stopEverything(reason: string): Promise<void> {
  stopping ??= (async () => {
    step(`stopping (${reason})`);
    await supervisor.stopAll();
    await loadBalancer?.stop();
    if (infraStartedHere) spawnSync("bash", [path.join(ROOT, "scripts", "services-down"), "--topology", topology], { stdio: "inherit", cwd: ROOT });
    say("demo: everything it started is stopped");
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void stopEverything(signal).then(() => process.exit(0)));
}

function tfjsBackend(): string {
  try {
    createRequire(import.meta.url).resolve("@tensorflow/tfjs-node");
    return "tfjs-node (native libtensorflow)";
  } catch {
    return "cpu backend of @tensorflow/tfjs with a registered fast UnsortedSegmentSum kernel and sparse embedding updates (tfjs-node is not installed)";
  }
}

interface Infra {
  /** The single Redis's URL, or the cluster's nodes (`host:port,...`): what the trainer's --redis takes. */
  redisUrl: string;
  kafkaBrokers: string;
  how: string;
  kafkaPidFile?: string;
  cluster?: { redisClusterNodes: string; topologyFile?: string };
}

/** The cluster: REDIS_CLUSTER_NODES / KAFKA_BROKERS when given (its nodes cannot be killed by the drills then), else scripts/services-up --topology cluster. */
async function clusterInfra(): Promise<Infra> {
  const given = process.env.REDIS_CLUSTER_NODES;
  const kafkaBrokers = process.env.KAFKA_BROKERS;
  if (given && kafkaBrokers) return { redisUrl: given, kafkaBrokers, how: "given by REDIS_CLUSTER_NODES / KAFKA_BROKERS", cluster: { redisClusterNodes: given } };
  await run("bash", [path.join(ROOT, "scripts", "services-up"), "--topology", "cluster"], { cwd: ROOT });
  infraStartedHere = true;
  const topologyFile = path.join(ROOT, ".data", "cluster", "topology.json");
  const t = JSON.parse(fs.readFileSync(topologyFile, "utf8")) as { redisClusterNodes: string; kafkaBrokers: string };
  return {
    redisUrl: t.redisClusterNodes,
    kafkaBrokers: t.kafkaBrokers,
    how: "a local Redis Cluster (3 primaries + 3 replicas) and 3 Kafka 3.9.1 KRaft brokers (replication 3, min.insync.replicas 2)",
    cluster: { redisClusterNodes: t.redisClusterNodes, topologyFile },
  };
}

async function infra(): Promise<Infra> {
  if (topology === "cluster") return clusterInfra();
  const redisUrl = process.env.REDIS_URL;
  const kafkaBrokers = process.env.KAFKA_BROKERS;
  if (redisUrl && kafkaBrokers) return { redisUrl, kafkaBrokers, how: "given by REDIS_URL / KAFKA_BROKERS" };
  await run("bash", [path.join(ROOT, "scripts", "services-up")], { cwd: ROOT });
  infraStartedHere = true;
  const mode = fs.readFileSync(path.join(ROOT, ".data", "services.mode"), "utf8").trim();
  return {
    redisUrl: "redis://127.0.0.1:6379",
    kafkaBrokers: "127.0.0.1:9092",
    how: mode === "docker" ? "docker compose (redis:7, apache/kafka:3.9.1)" : "local redis-server and a Kafka 3.9.1 KRaft broker from its Maven Central jars",
    // scripts/services-up keeps the local broker's pid here; a container has none the console can signal.
    ...(mode === "docker" ? {} : { kafkaPidFile: path.join(ROOT, ".data", "pids", "kafka.pid") }),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  step("infrastructure");
  const { redisUrl, kafkaBrokers, how, kafkaPidFile, cluster: clusterInfo } = await infra();
  say(`Redis ${redisUrl}, Kafka ${kafkaBrokers}: ${how}`);
  const portBase = values["port-base"] ? Number(values["port-base"]) : undefined;
  let cluster: DemoCluster | undefined;
  if (clusterInfo) {
    const shape = { portBase, cluster: { replicas: REPLICAS } };
    step(`the load balancer: HAProxy in front of ${REPLICAS} replicas of ${REPLICATED.join(" and ")}`);
    loadBalancer = await startLoadBalancer({
      services: REPLICATED.map((name) => ({ name, replicas: replicas(shape, name).map((r) => `127.0.0.1:${r.port}`), port: servicePort(shape, name) })),
      dir: path.join(dataDir, "haproxy"),
    });
    say(`HAProxy (pid ${loadBalancer.pid}, ${loadBalancer.configFile}): ${REPLICATED.map((name) => `${name} ${loadBalancer?.url(name)}`).join(", ")}; statistics ${loadBalancer.statsUrl}`);
    cluster = { redisClusterNodes: clusterInfo.redisClusterNodes, replicas: REPLICAS, loadBalancerStatsUrl: loadBalancer.statsUrl, ...(clusterInfo.topologyFile ? { topologyFile: clusterInfo.topologyFile } : {}) };
  }
  // Fresh tokens every run: the admin API and the writers are closed to anyone who was not told.
  const token = () => randomBytes(18).toString("base64url");
  const tokens = { admin: token(), labels: token(), clicks: token() };
  // One calendar: the fraud history is placed to end where the recommendation history does, and
  // the world starts there. 90 days, so the trainer's rows come after the feature windows fill.
  const worldStart = recsHistoryEndMs(recsPresetSpec("small"));
  const fraudWorld = fraudPresetSpec("small", worldStart, { days: FRAUD_DAYS });
  const startDate = alignedFraudStartDate(FRAUD_DAYS, worldStart);

  if (!values["skip-train"]) {
    step(`training the fraud model (synthetic transaction world, small preset, ${FRAUD_DAYS} days from ${startDate})`);
    await run(tsx, ["src/cli.ts", "fraud", "--preset", "small", "--days", String(FRAUD_DAYS), "--start-date", startDate, "--registry", registryDir, "--reports", reportDir, "--redis", redisUrl], { cwd: path.join(ROOT, "jobs/trainer") });
    step("training the recommender (synthetic world: two-tower, HNSW index, GBDT ranker)");
    await run(tsx, ["src/cli.ts", "recs", "--dataset", "synthetic", "--preset", "small", "--registry", registryDir, "--reports", reportDir, "--redis", redisUrl], { cwd: path.join(ROOT, "jobs/trainer") });
  }

  // A week of scored transactions: the drift monitor's windows span whole weeks of world time.
  const week = Math.round(7 * new CardHolders({ world: fraudWorld, horizonDays: 1, seed: 1 }).perDay.transactions);
  // Every process reads the same clock; its origin leaves the services time to start, and the
  // world catches up if they take longer.
  const clock = { start: new Date(worldStart).toISOString(), originMs: Date.now() + SERVICE_START_SLACK_MS, speed: CLOCK_SPEED };
  const plan = servicePlan({
    root: ROOT,
    redisUrl,
    kafkaBrokers,
    registryDir,
    dataDir,
    tokens,
    clock,
    driftWindow: { events: week, minEvents: Math.round(0.9 * week), seconds: WEEK_MS / 1000 },
    clickAttributionMs: CLICK_ATTRIBUTION_REAL_MS * CLOCK_SPEED,
    ...(portBase ? { portBase } : {}),
    ...(kafkaPidFile ? { kafkaPidFile } : {}),
    ...(cluster ? { cluster } : {}),
  });

  step(`starting the services (clock: ${clock.start} at ${new Date(clock.originMs).toISOString()}, ${CLOCK_SPEED}x: a world day every ${(86_400 / CLOCK_SPEED).toFixed(0)} s)`);
  for (const spec of plan) {
    const s = supervisor.start(spec.name, spec.dir, spec.env);
    try {
      await waitReady(`http://127.0.0.1:${spec.port}`, s.child, 120_000);
    } catch (error) {
      throw new Error(`${spec.name} ${(error as Error).message}; its log: ${s.logFile}\n${tail(s.logFile)}`);
    }
    say(`  ${spec.name.padEnd(14)} ready on http://127.0.0.1:${spec.port}`);
  }

  // Fraud and the recommender are reached through the balancer on the cluster.
  const url = (name: string) =>
    loadBalancer && (REPLICATED as readonly string[]).includes(name) ? loadBalancer.url(name as ReplicatedService) : `http://127.0.0.1:${(plan.find((s) => s.name === name) as ServiceSpec).port}`;
  // The world's --duration counts from its launch: started before the clock's origin, a short run
  // would spend itself waiting for the world's first day.
  const early = clock.originMs - Date.now();
  if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
  step(values.short ? "the world: simulated users and card holders on the services' clock (short run)" : "the world: simulated users and card holders on the services' clock, a card-testing wave on day 9");
  const worldArgs = [
      "src/cli.ts",
      "--recommender", url("recommender"),
      "--fraud", url("fraud"),
      // As --flag=value: a base64url token may start with "-", which would read as an option.
      `--click-token=${tokens.clicks}`,
      `--label-token=${tokens.labels}`,
      "--kafka", kafkaBrokers,
      "--journal", path.join(dataDir, "journal", "world"),
      "--recs-preset", "small",
      "--fraud-preset", "small",
      "--days", String(FRAUD_DAYS),
      "--fraud-start-date", startDate,
      "--speed", String(clock.speed),
      "--clock-start", clock.start,
      "--clock-origin", String(clock.originMs),
      // Half the users: the recommender's three processes share two cores with everything else.
      "--user-share", "0.5",
      // Its counters and the recs skew check (served ranker rows against a replay of the event logger's offline store) at /metrics.
      "--metrics-port", String(worldMetricsPort({ portBase })),
      "--offline-store", path.join(dataDir, "offline-store"),
      "--skew-every", values.short ? "5s" : "30s",
  ];
  await run(tsx, [...worldArgs, ...(values.short ? ["--duration", "15s", "--progress-every", "5s"] : ["--duration", "150s", "--progress-every", "10s", "--drift", "card-testing@+9d,cards=60"])], { cwd: path.join(ROOT, "jobs/world") });

  const load = values.short ? { fraud: ["--rate", "50", "--duration", "5", "--warmup", "2"], recs: ["--rate", "20", "--duration", "5", "--warmup", "2"] } : { fraud: ["--rate", "200", "--duration", "20", "--warmup", "5"], recs: ["--rate", "50", "--duration", "20", "--warmup", "5"] };
  step("open-loop load: fraud scoring");
  // The load continues the world's transactions from where the clock is now, so their times are
  // ones the service accepts and their features go on from the world's.
  const clockNow = new Date(Date.parse(clock.start) + (Date.now() - clock.originMs) * clock.speed).toISOString();
  const fraudWorldFlags = ["--world", "small", "--days", String(FRAUD_DAYS), "--start-date", startDate, "--from-time", clockNow];
  await run(tsx, ["src/cli.ts", "--target", "fraud", "--url", url("fraud"), ...fraudWorldFlags, ...load.fraud, "--report", path.join(reportDir, "load-fraud")], { cwd: path.join(ROOT, "jobs/loadgen") });
  step("open-loop load: recommendations");
  await run(tsx, ["src/cli.ts", "--target", "recommendations", "--url", url("recommender"), "--rec-world", "small", ...load.recs, "--report", path.join(reportDir, "load-recs")], { cwd: path.join(ROOT, "jobs/loadgen") });

  step("drift report (fraud decisions against the training reference)");
  say(await driftSummary(url("drift-monitor")));
  step("the loop: drift alarm -> retrain from the log -> candidate -> rollout");
  say(await loopSummary(url("retrain-controller"), url("rollout-controller")));

  step("what is running");
  say(`Redis/Kafka: ${how}`);
  say(`TensorFlow.js (two-tower training): ${tfjsBackend()}; serving uses a pure-JS user tower`);
  say("ANN: hnswlib-node (HNSW, inner product); ranker and fraud model: @mlsd/gbdt in TypeScript");
  for (const spec of plan) say(`  ${spec.name.padEnd(14)} http://127.0.0.1:${spec.port}  ${spec.explore.join(", ")}, /metrics, /readyz`);
  say(`  ${"world".padEnd(14)} http://127.0.0.1:${worldMetricsPort({ portBase })}/metrics while it runs: its counters and recs_skew_mismatch_rate{feature} of the last skew check`);
  say(`admin token (model reloads, rollout, drills): ${tokens.admin}`);
  say(`the registry: MLSD_ADMIN_TOKEN=${tokens.admin} npm run model -- list --url ${url("rollout-controller")}  (promote, rollback, pin, history: --help)`);
  say(`label writer token: ${tokens.labels}; click writer token: ${tokens.clicks}`);
  say(`reports: ${path.relative(ROOT, reportDir)}/ (training reports, load reports with latency-vs-load SVGs); logs: ${path.relative(ROOT, path.join(dataDir, "logs"))}/`);
  say(`demo ready in ${Math.round((Date.now() - started) / 1000)} s`);
  say(`\nthe control room: ${url("console")}  (live pipelines against their budgets, the request inspector, drills: MLSD_ADMIN_TOKEN=${tokens.admin} npm run drill -- ${cluster ? "redis-primary-killed" : "redis-down"} --url ${url("console")})`);

  if (cluster) {
    say(`load balancer: ${REPLICATED.map((name) => `${name} ${url(name)} -> ${replicas({ portBase, cluster }, name).map((r) => `${r.name} :${r.port}`).join(", ")}`).join("; ")}; statistics ${cluster.loadBalancerStatsUrl}`);
    say(`cluster drills (under the world's traffic): MLSD_ADMIN_TOKEN=${tokens.admin} npm run drill -- redis-primary-killed|kafka-broker-killed|replica-killed --url ${url("console")}; redis-down and redis-slow are unavailable on the cluster (no fault proxy: cluster clients follow redirects to the nodes' own addresses)`);
  }

  if (values.stop || values.short) {
    await stopEverything("--stop");
    return;
  }
  if (cluster) {
    // The world goes on from where the clock is, in runs the supervisor starts one after another.
    supervisor.start("world", "jobs/world", {}, { command: process.execPath, args: ["--import", "tsx", ...worldArgs, "--duration", BACKGROUND_WORLD_RUN, "--progress-every", "0"] });
    say(`\nthe world keeps running (its log: ${path.relative(ROOT, path.join(dataDir, "logs", "world.log"))})`);
  }
  say("\nEverything stays up; Ctrl-C stops all of it.");
  await new Promise(() => undefined);
}

async function driftSummary(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/v1/drift`, { signal: AbortSignal.timeout(5000) });
    const report = (await res.json()) as Record<string, unknown>;
    return JSON.stringify(report, null, 2).split("\n").slice(0, 60).join("\n");
  } catch (error) {
    return `drift monitor did not answer: ${(error as Error).message}`;
  }
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

main().catch(async (error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopEverything("error");
  process.exit(1);
});
