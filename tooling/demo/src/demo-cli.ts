// The one-command demo (README quick start: `npm run demo`). Starts Redis and Kafka (or uses
// REDIS_URL / KAFKA_BROKERS), trains both designs on small synthetic worlds, starts every
// service, drives open-loop load at both, prints the budget table and the drift report, then
// stays up with the URLs to explore until Ctrl-C (or stops by itself with --stop).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { servicePlan, type ServiceSpec } from "./plan";
import { run, Supervisor, waitReady } from "./supervisor";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    short: { type: "boolean", default: false },
    stop: { type: "boolean", default: false },
    "skip-train": { type: "boolean", default: false },
    "port-base": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run demo -- [--short] [--stop] [--skip-train] [--port-base N]

  --short        smaller load runs (what the CI smoke test uses)
  --stop         stop everything after the report instead of staying up
  --skip-train   reuse the models already in artifacts/registry
  --port-base N  put the services on N, N+1, ... instead of their default ports (8080-8087)
`);
  process.exit(0);
}

const say = (line = "") => process.stdout.write(`${line}\n`);
const step = (title: string) => say(`\n==> ${title}`);
const dataDir = path.join(ROOT, ".data", "demo");
const registryDir = path.join(ROOT, "artifacts", "registry");
const reportDir = path.join(ROOT, "reports", "demo");
const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
const supervisor = new Supervisor(ROOT, path.join(dataDir, "logs"));
let infraStartedHere = false;
let stopping: Promise<void> | undefined;

function stopEverything(reason: string): Promise<void> {
  stopping ??= (async () => {
    step(`stopping (${reason})`);
    await supervisor.stopAll();
    if (infraStartedHere) spawnSync("bash", [path.join(ROOT, "scripts", "services-down")], { stdio: "inherit", cwd: ROOT });
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

async function infra(): Promise<{ redisUrl: string; kafkaBrokers: string; how: string }> {
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
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  step("infrastructure");
  const { redisUrl, kafkaBrokers, how } = await infra();
  say(`Redis ${redisUrl}, Kafka ${kafkaBrokers}: ${how}`);
  const portBase = values["port-base"] ? Number(values["port-base"]) : undefined;
  // Fresh tokens every run: the admin API and the writers are closed to anyone who was not told.
  const token = () => randomBytes(18).toString("base64url");
  const tokens = { admin: token(), labels: token(), clicks: token() };
  const plan = servicePlan({ root: ROOT, redisUrl, kafkaBrokers, registryDir, dataDir, tokens, ...(portBase ? { portBase } : {}) });

  if (!values["skip-train"]) {
    step("training the fraud model (synthetic transaction world, small preset)");
    await run(tsx, ["src/cli.ts", "fraud", "--preset", "small", "--registry", registryDir, "--reports", reportDir, "--redis", redisUrl], { cwd: path.join(ROOT, "jobs/trainer") });
    step("training the recommender (synthetic world: two-tower, HNSW index, GBDT ranker)");
    await run(tsx, ["src/cli.ts", "recs", "--dataset", "synthetic", "--preset", "small", "--registry", registryDir, "--reports", reportDir, "--redis", redisUrl], { cwd: path.join(ROOT, "jobs/trainer") });
  }

  step("starting the services");
  for (const spec of plan) {
    const s = supervisor.start(spec.name, spec.dir, spec.env);
    try {
      await waitReady(`http://127.0.0.1:${spec.port}`, s.child, 120_000);
    } catch (error) {
      throw new Error(`${spec.name} ${(error as Error).message}; its log: ${s.logFile}\n${tail(s.logFile)}`);
    }
    say(`  ${spec.name.padEnd(14)} ready on http://127.0.0.1:${spec.port}`);
  }

  const url = (name: string) => `http://127.0.0.1:${(plan.find((s) => s.name === name) as ServiceSpec).port}`;
  const load = values.short ? { fraud: ["--rate", "50", "--duration", "5", "--warmup", "2"], recs: ["--rate", "20", "--duration", "5", "--warmup", "2"] } : { fraud: ["--rate", "200", "--duration", "20", "--warmup", "5"], recs: ["--rate", "50", "--duration", "20", "--warmup", "5"] };
  step("open-loop load: fraud scoring");
  await run(tsx, ["src/cli.ts", "--target", "fraud", "--url", url("fraud"), "--world", "small", ...load.fraud, "--report", path.join(reportDir, "load-fraud")], { cwd: path.join(ROOT, "jobs/loadgen") });
  step("open-loop load: recommendations");
  await run(tsx, ["src/cli.ts", "--target", "recommendations", "--url", url("recommender"), "--rec-world", "small", ...load.recs, "--report", path.join(reportDir, "load-recs")], { cwd: path.join(ROOT, "jobs/loadgen") });

  step("drift report (fraud decisions against the training reference)");
  say(await driftSummary(url("drift-monitor")));

  step("what is running");
  say(`Redis/Kafka: ${how}`);
  say(`TensorFlow.js (two-tower training): ${tfjsBackend()}; serving uses a pure-JS user tower`);
  say("ANN: hnswlib-node (HNSW, inner product); ranker and fraud model: @mlsd/gbdt in TypeScript");
  for (const spec of plan) say(`  ${spec.name.padEnd(14)} http://127.0.0.1:${spec.port}  ${spec.explore.join(", ")}, /metrics, /readyz`);
  say(`admin token (model reloads, rollout, drills): ${tokens.admin}`);
  say(`label writer token: ${tokens.labels}; click writer token: ${tokens.clicks}`);
  say(`reports: ${path.relative(ROOT, reportDir)}/ (training reports, load reports with latency-vs-load SVGs); logs: ${path.relative(ROOT, path.join(dataDir, "logs"))}/`);
  say(`demo ready in ${Math.round((Date.now() - started) / 1000)} s`);

  if (values.stop || values.short) {
    await stopEverything("--stop");
    return;
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
