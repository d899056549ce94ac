/**
 * End-to-end recommendation benchmark: retrieval, ranker and recommender as three processes on
 * real Redis and Kafka, driven open-loop at a fixed rate by @mlsd/loadgen (latency from the
 * scheduled send time, so queueing shows), then recall@100 of the served HNSW index against exact
 * search on the same embeddings.
 *
 *   # once: train the artifacts (the benchmark preset builds a 1M-item index; see README)
 *   npm run train:recs -w @mlsd/trainer -- --preset benchmark --registry .data/bench-recs/benchmark/registry --reports .data/bench-recs/benchmark/reports --quiet
 *   # then, from the repo root (with-infra starts Redis and Kafka and exports REDIS_URL / KAFKA_BROKERS):
 *   npx tsx packages/testkit/src/with-infra.ts -- npm run bench -w @mlsd/recommender-service -- --preset benchmark
 *
 * Options: --preset small|demo|benchmark (default demo) --registry DIR --rate 300 --duration 30
 * --warmup 5 --candidates 200 --new-user-share 0.1 --recall-queries 200 --ef N --skip-materialize
 * --users active|loadgen: who asks. `active` (default) draws uniformly from the users with a click
 * history in Redis, so the requests take the two-stage path; `loadgen` is @mlsd/loadgen's mix
 * (users signed up by the cut-off, by activity), where in a sparse world most are cold starts.
 * --redis-deadline / --retrieval-deadline / --ranker-deadline / --budget MS: the recommender's deadlines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { calibrate, HttpClient, httpSender, recsTarget, runOpenLoop, type LatencySummary, type LoadTarget } from "@mlsd/loadgen";
import { RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import { ModelRegistry } from "@mlsd/model-registry";
import { Redis } from "ioredis";
import { Rng } from "@mlsd/random";
import { loadRetriever } from "@mlsd/retrieval";
import { StageTimer } from "@mlsd/service-kit";
import { REC_WORLD_PRESETS, type RecWorldPreset } from "@mlsd/synth";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "demo" },
    registry: { type: "string" },
    rate: { type: "string", default: "300" },
    duration: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    candidates: { type: "string", default: "200" },
    "new-user-share": { type: "string", default: "0.1" },
    "recall-queries": { type: "string", default: "200" },
    ef: { type: "string" },
    seed: { type: "string", default: "1" },
    "skip-materialize": { type: "boolean", default: false },
    users: { type: "string", default: "active" },
    "redis-deadline": { type: "string" },
    "retrieval-deadline": { type: "string" },
    "ranker-deadline": { type: "string" },
    budget: { type: "string" },
    /** Write V8 CPU profiles of the three services into this folder (inspect with Chrome DevTools). */
    profile: { type: "string" },
  },
});

const here = path.dirname(new URL(import.meta.url).pathname);
const repo = path.resolve(here, "../../..");
const tsx = path.join(repo, "node_modules/.bin/tsx");
const preset = values.preset as RecWorldPreset;
if (!(preset in REC_WORLD_PRESETS)) throw new RangeError(`--preset must be small, demo or benchmark, got ${preset}`);
const registryDir = path.resolve(values.registry ?? path.join(repo, ".data/bench-recs", preset, "registry"));
const redisUrl = process.env.REDIS_URL;
const kafkaBrokers = process.env.KAFKA_BROKERS;
if (!redisUrl || !kafkaBrokers) {
  process.stderr.write("REDIS_URL and KAFKA_BROKERS must be set: run under packages/testkit/src/with-infra.ts\n");
  process.exit(2);
}
const num = (name: keyof typeof values) => Number(values[name]);
const rate = num("rate");
const seed = num("seed");
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

const children: ChildProcess[] = [];
// Set by stopAll(); a service that exits before it is a failed run.
let stopping = false;
function startService(name: string, env: Record<string, string>): ChildProcess {
  const profile = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile, name)}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", "src/main.ts"], {
    cwd: path.join(repo, "services", name),
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.once("exit", (code) => {
    if (!stopping) {
      log(`${name} exited with ${code} before the run ended`);
      process.exit(1);
    }
  });
  children.push(child);
  return child;
}

async function ready(name: string, port: number, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${name} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function stopAll(): void {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const registry = new ModelRegistry(registryDir);
const retrievalVersion = registry.resolve("retrieval");
const manifest = registry.open("retrieval").manifest;
const world = manifest.dataWindow as { preset?: string; users?: number; items?: number; seed?: number; sessionsPerUser?: number };
log(`artifacts: retrieval@${retrievalVersion} (${world.users} users, ${world.items} items), ranker-gbdt@${registry.resolve(RANKER_MODEL_NAME)}`);
const worldInput = { preset, numUsers: world.users ?? REC_WORLD_PRESETS[preset].numUsers, numItems: world.items ?? REC_WORLD_PRESETS[preset].numItems, seed: world.seed ?? seed };

if (!values["skip-materialize"]) {
  log(`materialising the world's features into ${redisUrl}`);
  const t0 = performance.now();
  const args = ["src/cli.ts", "recs", "--preset", preset, "--users", String(worldInput.numUsers), "--items", String(worldInput.numItems), "--seed", String(worldInput.seed)];
  if (world.sessionsPerUser) args.push("--sessions", String(world.sessionsPerUser));
  await run(tsx, [...args, "--redis", redisUrl, "--materialize-only"], path.join(repo, "jobs/trainer"));
  log(`materialised in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const [retrievalPort, rankerPort, recommenderPort] = [await freePort(), await freePort(), await freePort()];
fs.mkdirSync(path.join(repo, ".data"), { recursive: true });
const journal = fs.mkdtempSync(path.join(repo, ".data", "bench-journal-"));
startService("retrieval", { PORT: String(retrievalPort), MODEL_REGISTRY_DIR: registryDir, ...(values.ef ? { SEARCH_EF: values.ef } : {}) });
startService("ranker", { PORT: String(rankerPort), MODEL_REGISTRY_DIR: registryDir, REDIS_URL: redisUrl });
startService("recommender", {
  PORT: String(recommenderPort),
  MODEL_REGISTRY_DIR: registryDir,
  REDIS_URL: redisUrl,
  KAFKA_BROKERS: kafkaBrokers,
  EVENT_JOURNAL_DIR: journal,
  RETRIEVAL_URL: `http://127.0.0.1:${retrievalPort}`,
  RANKER_URL: `http://127.0.0.1:${rankerPort}`,
  CANDIDATES: values.candidates as string,
  ...(values["redis-deadline"] ? { REDIS_DEADLINE_MS: values["redis-deadline"] } : {}),
  ...(values["retrieval-deadline"] ? { RETRIEVAL_DEADLINE_MS: values["retrieval-deadline"] } : {}),
  ...(values["ranker-deadline"] ? { RANKER_DEADLINE_MS: values["ranker-deadline"] } : {}),
  ...(values.budget ? { REQUEST_BUDGET_MS: values.budget } : {}),
});
const t0 = performance.now();
await Promise.all([ready("retrieval", retrievalPort), ready("ranker", rankerPort), ready("recommender", recommenderPort)]);
log(`services ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Fallbacks by kind: the loadgen counts any fallback; the table says which.
const fallbackKinds = new Map<string, number>();
const fallbackReasons = new Map<string, number>();
/** Users with a click history: the recommender's own Redis lists (`rh:{u:<id>}`). */
async function activeUsers(): Promise<string[]> {
  const redis = new Redis(redisUrl as string);
  const ids: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", "rh:{u:*}", "COUNT", 5000);
    cursor = next;
    for (const key of keys) ids.push(key.slice("rh:{u:".length, -1));
  } while (cursor !== "0");
  redis.disconnect();
  return ids.sort();
}

function activeTarget(users: readonly string[], newUserShare: number): LoadTarget {
  const rng = new Rng(7);
  const devices = ["mobile", "desktop", "tablet"] as const;
  let fresh = 0;
  return {
    endpoint: "recommendations",
    path: "/v1/recommendations",
    next: () => {
      const userId = rng.bernoulli(newUserShare) ? `new-${fresh++}` : (users[rng.int(users.length)] as string);
      return { body: JSON.stringify({ userId, k: 10, context: { device: rng.pick(devices), hour: rng.int(24) } }), expectRejection: false };
    },
    interpret: (_status, body) => {
      const answer = (body ?? {}) as { timings?: Record<string, unknown>; fallback?: unknown };
      const timings = Object.fromEntries(Object.entries(answer.timings ?? {}).filter((e): e is [string, number] => typeof e[1] === "number"));
      return { timings, fallback: typeof answer.fallback === "string" };
    },
  };
}

let inner: LoadTarget;
if (values.users === "loadgen") {
  inner = recsTarget({ world: worldInput, newUserShare: num("new-user-share"), seed: 7 });
} else {
  const users = await activeUsers();
  log(`request mix: ${users.length} users with a click history, ${values["new-user-share"]} new users`);
  inner = activeTarget(users, num("new-user-share"));
}
const target: LoadTarget = {
  ...inner,
  interpret(status, body) {
    const { fallback: kind, fallbackReason: reason } = (body ?? {}) as { fallback?: unknown; fallbackReason?: unknown };
    if (typeof kind === "string") fallbackKinds.set(kind, (fallbackKinds.get(kind) ?? 0) + 1);
    // Numbers vary per answer ("within 48 ms", "category 3"); the reason's shape is what counts.
    if (typeof reason === "string") fallbackReasons.set(reason.replace(/\d+/g, "N"), (fallbackReasons.get(reason.replace(/\d+/g, "N")) ?? 0) + 1);
    return inner.interpret(status, body);
  },
};
// The instrument's own error at the same rate (its built-in null server), printed beside the measurement.
log(`calibration: the load generator against its null server at ${rate} rps for 10 s`);
const instrument = (await calibrate({ rate, durationMs: 10_000, warmupMs: 2_000, seed: 3 })).run;
const client = new HttpClient({ baseUrl: `http://127.0.0.1:${recommenderPort}` });
log(`open loop: ${rate} rps for ${values.duration} s after ${values.warmup} s of warm-up`);
const result = await runOpenLoop({ rate, durationMs: num("duration") * 1000, warmupMs: num("warmup") * 1000, ...httpSender(target, client), seed: 3 });
client.close();
stopAll();

log("recall@100 of the served index against exact search");
const retriever = await loadRetriever(registry, "current", values.ef ? { ef: Number(values.ef) } : {});
const rng = new Rng(11);
const queries = Number(values["recall-queries"]);
let recall = 0;
const hnswMs: number[] = [];
const exactMs: number[] = [];
retriever.exact();
for (let q = 0; q < queries; q++) {
  const userId = String(rng.int(retriever.artifact.userIds.size));
  const timer = new StageTimer();
  const approx = retriever.candidates({ userId, k: 100 }, "hnsw", timer);
  const exact = retriever.candidates({ userId, k: 100 }, "exact", timer);
  const t = timer.snapshot();
  hnswMs.push(t.ann ?? 0);
  exactMs.push(t.exact ?? 0);
  const truth = new Set(exact.itemIds);
  recall += approx.itemIds.filter((id) => truth.has(id)).length / truth.size;
}
recall /= queries;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
const row = (name: string, s: LatencySummary | undefined) => `| ${name} | ${f(s?.p50)} | ${f(s?.p95)} | ${f(s?.p99)} | ${f(s?.max)} | ${s?.count ?? 0} |`;
const stageOrder = ["validate", "user", "retrieval", "retrieval.encode", "retrieval.ann", "items", "rank", "ranker.features", "ranker.assemble", "ranker.model", "ranker.sort", "popularity", "filter", "diversify", "publish", "total"];
const stages = [...stageOrder.filter((s) => result.stages[s]), ...Object.keys(result.stages).filter((s) => !stageOrder.includes(s)).sort()];
const c = result.counts;
const lines = [
  "",
  `## Recommendations end to end: ${worldInput.numItems.toLocaleString("en")} items, ${worldInput.numUsers.toLocaleString("en")} users, ${rate} rps open loop`,
  "",
  `retrieval@${retrievalVersion}, ${values.candidates} candidates, users: ${values.users}, new-user share ${values["new-user-share"]}; ${values.duration} s measured after ${values.warmup} s warm-up.`,
  "",
  "| measure | p50 ms | p95 ms | p99 ms | max ms | n |",
  "|---|---:|---:|---:|---:|---:|",
  row("end to end (from the scheduled send)", result.latency),
  row("generator send lag", result.sendLag),
  row("instrument: the generator against its null server, same rate", instrument.latency),
  ...stages.map((s) => row(`stage: ${s}`, result.stages[s])),
  "",
  `Offered ${rate} rps, answered ${result.throughput.toFixed(1)} rps; ${c.ok} ok, ${c.badStatus} bad status, ${c.timeouts} timeouts, ${c.transportErrors} transport errors, ${c.dropped} dropped; ` +
    `fallbacks ${(100 * result.fallbackRate).toFixed(1)} % of the measured answers; over the whole run, warm-up included: ${[...fallbackKinds].map(([k, n]) => `${k} ${n}`).join(", ") || "none"}.`,
  "",
  ...[...fallbackReasons].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([reason, n]) => `- ${n} x ${reason}`),
  "",
  "| index | recall@100 vs exact | median search ms (k=100) | queries |",
  "|---|---:|---:|---:|",
  `| HNSW (served, ef ${retriever.search?.value}) | ${recall.toFixed(4)} | ${median(hnswMs).toFixed(3)} | ${queries} |`,
  `| exact scan (baseline) | 1.0000 | ${median(exactMs).toFixed(3)} | ${queries} |`,
  "",
];
process.stdout.write(lines.join("\n"));
// Let the services finish their shutdown (and write their CPU profiles) before leaving.
await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((resolve) => c.once("exit", resolve)) : null)));
fs.rmSync(journal, { recursive: true, force: true });
process.exit(0);
