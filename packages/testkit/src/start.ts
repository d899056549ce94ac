import { requireBinary } from "./binaries";
import { startKafkaContainer, startRedisContainer, KAFKA_IMAGE, REDIS_IMAGE } from "./containers";
import { dockerEngineAnswers } from "./docker";
import { KAFKA_VERSION, parseRedisUrl, readTestkitEnv, type TestkitEnv } from "./env";
import { TestkitError } from "./errors";
import { freePort, freePorts } from "./free-port";
import { ensureKafkaLibs, launchKafkaBroker } from "./local-kafka";
import { launchRedisServer } from "./local-redis";
import type { ManagedProcess } from "./process-guard";
import type { KafkaHandle, RedisHandle, StartOptions } from "./types";
import { createWorkDir } from "./workdir";

const HOST = "127.0.0.1";
/** A picked port can be taken by another process before our server binds it; pick again. */
const PORT_ATTEMPTS = 3;

export function log(line: string): void {
  process.stderr.write(`[testkit] ${line}\n`);
}

let dockerCheck: Promise<boolean> | undefined;

type Backend = { kind: "container" } | { kind: "local"; why: string };

async function chooseBackend(env: TestkitEnv): Promise<Backend> {
  if (env.mode === "local") return { kind: "local", why: "MLSD_INFRA=local" };
  dockerCheck ??= dockerEngineAnswers(env.docker);
  const engine = await dockerCheck;
  if (engine) return { kind: "container" };
  if (env.mode === "container") {
    throw new TestkitError("MISSING_DEPENDENCY", "MLSD_INFRA=container but no Docker engine answers", "MLSD_INFRA");
  }
  return { kind: "local", why: "no Docker engine answers" };
}

function notOwned(what: string, variable: string): never {
  throw new TestkitError(
    "NOT_OWNED",
    `${what} comes from ${variable} and belongs to the runner; use { dedicated: true } to get one you can stop and start`,
    variable,
  );
}

function isPortClash(error: unknown): boolean {
  return error instanceof Error && /address already in use|bindexception|could not create server tcp listening socket/i.test(error.message);
}

async function withPortRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= PORT_ATTEMPTS || !isPortClash(error)) throw error;
    }
  }
}

export async function startRedis(options: StartOptions = {}): Promise<RedisHandle> {
  const env = readTestkitEnv(process.env);
  if (env.redisUrl && !options.dedicated) {
    const address = parseRedisUrl(env.redisUrl);
    log(`redis: from env REDIS_URL ${address.url}`);
    return {
      ...address,
      source: "env",
      stop: async () => {},
      start: async () => notOwned("this Redis", "REDIS_URL"),
      freeze: async () => notOwned("this Redis", "REDIS_URL"),
      thaw: async () => notOwned("this Redis", "REDIS_URL"),
    };
  }
  const backend = await chooseBackend(env);
  if (backend.kind === "container") {
    const server = await withPortRetry(async () => startRedisContainer(await freePort()));
    log(`redis: container ${REDIS_IMAGE} at redis://${server.host}:${server.port}`);
    return {
      url: `redis://${server.host}:${server.port}`,
      host: server.host,
      port: server.port,
      source: "container",
      // Paused, not removed, so start() works for any owned instance; Ryuk removes it at exit.
      stop: () => server.pause(),
      start: () => server.resume(),
      freeze: () => server.freeze(),
      thaw: () => server.thaw(),
    };
  }

  const bin = requireBinary(env.redisServerBin, "apt-get install -y redis-server");
  const dir = createWorkDir("redis");
  let port = 0;
  let proc: ManagedProcess | undefined = await withPortRetry(async () => {
    port = await freePort(HOST);
    return launchRedisServer({ redisServerBin: bin, host: HOST, port, dir, lifetime: "parent" });
  });
  log(`redis: local ${bin} at redis://${HOST}:${port} (${backend.why})`);
  return {
    url: `redis://${HOST}:${port}`,
    host: HOST,
    port,
    source: "local",
    async stop() {
      await proc?.stop(10_000);
      proc = undefined;
    },
    async start() {
      if (proc && !proc.exit) return;
      proc = await launchRedisServer({ redisServerBin: bin, host: HOST, port, dir, lifetime: "parent" });
    },
    async freeze() {
      if (!proc || proc.exit) throw new TestkitError("NOT_OWNED", "this Redis is not running");
      process.kill(proc.pid, "SIGSTOP");
    },
    async thaw() {
      if (proc && !proc.exit) process.kill(proc.pid, "SIGCONT");
    },
  };
}

export async function startKafka(options: StartOptions = {}): Promise<KafkaHandle> {
  const env = readTestkitEnv(process.env);
  if (env.kafkaBrokers && !options.dedicated) {
    log(`kafka: from env KAFKA_BROKERS ${env.kafkaBrokers.join(",")}`);
    return {
      brokers: env.kafkaBrokers,
      source: "env",
      stop: async () => {},
      start: async () => notOwned("this Kafka", "KAFKA_BROKERS"),
      pid: null,
    };
  }
  const backend = await chooseBackend(env);
  if (backend.kind === "container") {
    const server = await withPortRetry(async () => startKafkaContainer(await freePort()));
    log(`kafka: container ${KAFKA_IMAGE} at ${server.host}:${server.port}`);
    return {
      brokers: [`${server.host}:${server.port}`],
      source: "container",
      // Paused, not removed, so start() works for any owned instance; Ryuk removes it at exit.
      stop: () => server.pause(),
      start: () => server.resume(),
      pid: null,
    };
  }

  const java = requireBinary(env.javaBin, "apt-get install -y openjdk-17-jre-headless");
  await ensureKafkaLibs(env.kafkaLibsDir, log);
  const dir = createWorkDir("kafka");
  let ports: number[] = [];
  const launch = () => {
    const [port, controllerPort] = ports as [number, number];
    return launchKafkaBroker({ javaBin: java, libsDir: env.kafkaLibsDir, host: HOST, port, controllerPort, dir, lifetime: "parent" });
  };
  const started = Date.now();
  let proc: ManagedProcess | undefined = await withPortRetry(async () => {
    ports = await freePorts(2, HOST);
    return launch();
  });
  const brokers = [`${HOST}:${ports[0]}`];
  log(`kafka: local Kafka ${KAFKA_VERSION} broker (${java}, jars in ${env.kafkaLibsDir}) at ${brokers[0]}, ready in ${Date.now() - started} ms (${backend.why})`);
  return {
    brokers,
    source: "local",
    async stop() {
      await proc?.stop(30_000);
      proc = undefined;
    },
    async start() {
      if (proc && !proc.exit) return;
      proc = await launch();
    },
    get pid() {
      return proc && !proc.exit ? proc.pid : null;
    },
  };
}
