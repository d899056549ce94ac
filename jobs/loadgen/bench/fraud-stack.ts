/**
 * The real fraud service on this machine, for the benches that load it: Redis and Kafka from the
 * testkit (or REDIS_URL / KAFKA_BROKERS), the small model trained into a scratch registry (which
 * also warms Redis with the history's features), and services/fraud started as `node --import tsx
 * src/main.ts` so the pid signalled and measured is the service's own. Everything started here is
 * stopped by `stop()`, by pid.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { REPO, run, spawnReady, stopChild, type BenchServer } from "./floor-common";

export { cpuSeconds, metricLines, monotonicUs, REPO, sumLines, type BenchServer } from "./floor-common";

export interface FraudStackOptions {
  /** Scratch directory: registry, journal, reports. */
  work: string;
  /** Reuse a registry trained by an earlier run in `work`. */
  skipTrain?: boolean;
  /** Extra environment for the service (admission settings, ...). */
  env?: Record<string, string>;
  /** Extra node flags for the service (e.g. --cpu-prof). */
  nodeFlags?: string[];
  log: (line: string) => void;
}

export interface FraudStack {
  /** The service running now (changes on `restartService`). */
  readonly url: string;
  readonly pid: number;
  redis: RedisHandle;
  kafka: KafkaHandle;
  /** Stops the service (SIGTERM, then SIGKILL after the grace), then Redis and Kafka. */
  stop(): Promise<void>;
  /** Stops the service only. */
  stopService(): Promise<void>;
  /** Stops the service and starts it again on a new port with `env` in place of the options' env (and `nodeFlags` in place of the options' flags). */
  restartService(env: Record<string, string>, nodeFlags?: string[]): Promise<void>;
  /** Starts the fraud floor (bench/fraud-floor.ts) on the same Redis, Kafka and model; the caller stops it. */
  startFloor(nodeFlags?: string[]): Promise<BenchServer>;
}

async function startService(
  infra: { redis: RedisHandle; kafka: KafkaHandle; registry: string },
  options: FraudStackOptions,
  extraEnv: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const nodeArgs = [...(options.nodeFlags ?? []), "--import", "tsx", "src/main.ts"];
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    MODEL_REGISTRY_DIR: infra.registry,
    REDIS_URL: infra.redis.url,
    KAFKA_BROKERS: infra.kafka.brokers.join(","),
    EVENT_JOURNAL_DIR: path.join(options.work, "journal"),
    LOG_LEVEL: "warn",
    // The load replays the trained world's next days, which lie in the past of the wall clock the
    // service runs on: its bound on how old a transaction may be is widened to accept them.
    MAX_EVENT_AGE_DAYS: "36500",
    ...extraEnv,
  };
  const settings = Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`);
  options.log(`starting the fraud service on ${url}: node ${nodeArgs.join(" ")}${settings.length > 0 ? ` (${settings.join(" ")})` : ""}`);
  // With setpriv (util-linux) the service gets SIGTERM when this process dies, however it dies: a
  // killed bench must not leave a service holding the journal's lock for the next run.
  const child = await spawnReady({ cwd: path.join(REPO, "services/fraud"), nodeArgs, env, url, name: "the fraud service", log: options.log });
  options.log("service ready");
  return { url, child };
}

/**
 * The fraud floor (bench/fraud-floor.ts) as its own process on the stack's Redis, Kafka and
 * registry, with a journal of its own.
 */
async function startFloor(infra: { redis: RedisHandle; kafka: KafkaHandle; registry: string }, work: string, nodeFlags: string[], log: (line: string) => void): Promise<BenchServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const journal = path.join(work, "floor-journal");
  await mkdir(journal, { recursive: true });
  const script = fileURLToPath(new URL("./fraud-floor.ts", import.meta.url));
  const nodeArgs = [...nodeFlags, "--import", "tsx", script, "--port", String(port), "--redis", infra.redis.url, "--kafka", infra.kafka.brokers.join(","), "--registry", infra.registry, "--journal", journal];
  log(`starting the fraud floor on ${url}: node ${[...nodeFlags, "--import", "tsx", "bench/fraud-floor.ts"].join(" ")}`);
  const child = await spawnReady({ cwd: path.join(REPO, "jobs/loadgen"), nodeArgs, env: process.env, url, name: "the fraud floor", log });
  log("floor ready");
  return { url, pid: child.pid as number, stop: () => stopChild(child, "the fraud floor", log) };
}

export async function startFraudStack(options: FraudStackOptions): Promise<FraudStack> {
  const { work, log } = options;
  await mkdir(work, { recursive: true });
  let redis: RedisHandle | undefined;
  let kafka: KafkaHandle | undefined;
  let service: ChildProcess | undefined;
  const stopAll = async () => {
    if (service) await stopChild(service, "the fraud service", log);
    await Promise.allSettled([redis?.stop(), kafka?.stop()]);
  };
  try {
    [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
    log(`Redis ${redis.url} (${redis.source}), Kafka ${kafka.brokers.join(",")} (${kafka.source})`);
    const registry = path.join(work, "registry");
    if (!options.skipTrain || !existsSync(registry)) {
      log("training the small fraud model and warming Redis (jobs/trainer)");
      await run(process.execPath, ["--import", "tsx", "src/cli.ts", "fraud", "--preset", "small", "--registry", registry, "--reports", path.join(work, "trainer-reports"), "--redis", redis.url], {
        cwd: path.join(REPO, "jobs/trainer"),
        env: process.env,
      });
    }
    const infra = { redis, kafka, registry };
    let current = await startService(infra, options, options.env ?? {});
    service = current.child;
    return {
      get url() {
        return current.url;
      },
      get pid() {
        return current.child.pid as number;
      },
      redis,
      kafka,
      stop: stopAll,
      stopService: () => stopChild(current.child, "the fraud service", log),
      restartService: async (env, nodeFlags) => {
        await stopChild(current.child, "the fraud service", log);
        current = await startService(infra, nodeFlags ? { ...options, nodeFlags } : options, env);
        service = current.child;
      },
      startFloor: (nodeFlags = []) => startFloor(infra, work, nodeFlags, log),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
