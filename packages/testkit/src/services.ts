import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable } from "./binaries";
import { readTestkitEnv } from "./env";
import { TestkitError } from "./errors";
import { isPortFree } from "./free-port";
import { ensureKafkaLibs, launchKafkaBroker } from "./local-kafka";
import { launchRedisServer } from "./local-redis";
import { isAlive } from "./process-guard";

/**
 * Long-lived Redis and Kafka on fixed ports for development and the demo (scripts/services-up),
 * started from the same code as the test servers but detached, with pid files so that
 * scripts/services-down stops exactly what was started.
 */
export interface ServicesLayout {
  /** Root of the data folder (the repository's git-ignored .data/). */
  dataDir: string;
  host: string;
  redisPort: number;
  kafkaPort: number;
  kafkaControllerPort: number;
}

export const DEFAULT_LAYOUT: Omit<ServicesLayout, "dataDir"> = {
  host: "127.0.0.1",
  redisPort: 6379,
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
};

export type ServiceName = "redis" | "kafka";
export type ServiceState = { name: ServiceName; address: string } & (
  | { status: "running"; pid: number }
  | { status: "stopped" }
);

/** A pid file is trusted only if that pid still runs the program we started (pids get reused). */
const COMMAND_MARK: Record<ServiceName, string> = { redis: "redis-server", kafka: "kafka.Kafka" };

function pidFile(layout: ServicesLayout, name: ServiceName): string {
  return join(layout.dataDir, "pids", `${name}.pid`);
}

function address(layout: ServicesLayout, name: ServiceName): string {
  return name === "redis" ? `redis://${layout.host}:${layout.redisPort}` : `${layout.host}:${layout.kafkaPort}`;
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return undefined;
  }
}

function runningPid(layout: ServicesLayout, name: ServiceName): number | undefined {
  const file = pidFile(layout, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const cmd = commandLine(pid);
  // Without /proc (not Linux) the pid check alone has to do.
  if (cmd !== undefined && !cmd.includes(COMMAND_MARK[name])) return undefined;
  return pid;
}

export function servicesStatus(layout: ServicesLayout): ServiceState[] {
  return (["redis", "kafka"] as const).map((name) => {
    const pid = runningPid(layout, name);
    return pid === undefined
      ? { name, address: address(layout, name), status: "stopped" }
      : { name, address: address(layout, name), status: "running", pid };
  });
}

async function requirePortFree(layout: ServicesLayout, port: number, what: string): Promise<void> {
  if (!(await isPortFree(port, layout.host))) {
    throw new TestkitError("START_FAILED", `${what}: port ${port} on ${layout.host} is taken by another process (not started by services-up)`);
  }
}

export async function servicesUp(layout: ServicesLayout, log: (line: string) => void): Promise<ServiceState[]> {
  const env = readTestkitEnv(process.env);
  mkdirSync(join(layout.dataDir, "pids"), { recursive: true });

  if (runningPid(layout, "redis") === undefined) {
    const bin = findExecutable(env.redisServerBin, process.env.PATH);
    if (!bin) throw new TestkitError("MISSING_DEPENDENCY", "redis-server not found: run bash scripts/ensure-deps");
    await requirePortFree(layout, layout.redisPort, "redis");
    const proc = await launchRedisServer({
      redisServerBin: bin,
      host: layout.host,
      port: layout.redisPort,
      dir: join(layout.dataDir, "redis"),
      lifetime: "detached",
    });
    writeFileSync(pidFile(layout, "redis"), `${proc.pid}\n`);
    log(`redis: started ${bin} (pid ${proc.pid}) at ${address(layout, "redis")}, data in ${join(layout.dataDir, "redis")}`);
  } else {
    log(`redis: already running at ${address(layout, "redis")}`);
  }

  if (runningPid(layout, "kafka") === undefined) {
    const java = findExecutable(env.javaBin, process.env.PATH);
    if (!java) throw new TestkitError("MISSING_DEPENDENCY", "java not found: run bash scripts/ensure-deps");
    await ensureKafkaLibs(env.kafkaLibsDir, log);
    await requirePortFree(layout, layout.kafkaPort, "kafka");
    await requirePortFree(layout, layout.kafkaControllerPort, "kafka controller");
    const started = Date.now();
    const proc = await launchKafkaBroker({
      javaBin: java,
      libsDir: env.kafkaLibsDir,
      host: layout.host,
      port: layout.kafkaPort,
      controllerPort: layout.kafkaControllerPort,
      dir: join(layout.dataDir, "kafka"),
      lifetime: "detached",
    });
    writeFileSync(pidFile(layout, "kafka"), `${proc.pid}\n`);
    log(`kafka: started broker (pid ${proc.pid}) at ${address(layout, "kafka")} in ${Date.now() - started} ms, data in ${join(layout.dataDir, "kafka")}`);
  } else {
    log(`kafka: already running at ${address(layout, "kafka")}`);
  }
  return servicesStatus(layout);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function terminate(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone already.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signal("SIGKILL");
    while (isAlive(pid)) await sleep(50);
  }
}

export async function servicesDown(layout: ServicesLayout, log: (line: string) => void): Promise<void> {
  // Consumers and producers go first in a real shutdown; among the two servers order is free.
  for (const name of ["kafka", "redis"] as const) {
    const pid = runningPid(layout, name);
    if (pid === undefined) {
      log(`${name}: not running`);
    } else {
      await terminate(pid, name === "kafka" ? 30_000 : 10_000);
      log(`${name}: stopped (pid ${pid})`);
    }
    rmSync(pidFile(layout, name), { force: true });
  }
}
