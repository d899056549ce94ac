import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable } from "./binaries";
import { readTestkitEnv } from "./env";
import { TestkitError } from "./errors";
import { isPortFree } from "./free-port";
import { ensureKafkaLibs, kafkaBrokerArgs, launchKafkaBroker } from "./local-kafka";
import { launchRedisServer, redisServerArgs } from "./local-redis";
import { isAlive } from "./process-guard";
import { createRedisCluster, KAFKA_CLUSTER_HEAP_MB, kafkaClusterNode, redisClusterNodeArgs, waitRedisClusterFormed } from "./clusters";
import { kafkaMetadataAnswers, waitUntil } from "./probes";
import { newClusterId } from "./kafka-config";

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

function pidFile(layout: Pick<ServicesLayout, "dataDir">, name: string): string {
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

function runningPid(layout: Pick<ServicesLayout, "dataDir">, name: string, mark = COMMAND_MARK[name as ServiceName]): number | undefined {
  const file = pidFile(layout, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const cmd = commandLine(pid);
  // Without /proc (not Linux) the pid check alone has to do.
  if (cmd !== undefined && !cmd.includes(mark)) return undefined;
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

async function requirePortFree(layout: Pick<ServicesLayout, "host">, port: number, what: string): Promise<void> {
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

/**
 * The cluster topology of issue 19 as long-lived processes (`services-up --topology cluster`): a
 * Redis Cluster of 3 primaries + 3 replicas and a 3-node KRaft Kafka on fixed ports, data under
 * `<dataDir>/cluster/`, one pid file per node, so that the demo, the drills (which kill and restart
 * nodes) and services-down find them. The single topology's ports are left free: both can run.
 */
export interface ClusterLayout {
  dataDir: string;
  host: string;
  /** Six Redis nodes; each one's cluster bus is its port + 10000 (Redis's own default). */
  redisPorts: readonly number[];
  kafkaPorts: readonly number[];
  kafkaControllerPorts: readonly number[];
}

export const DEFAULT_CLUSTER_LAYOUT: Omit<ClusterLayout, "dataDir"> = {
  host: "127.0.0.1",
  redisPorts: [7001, 7002, 7003, 7004, 7005, 7006],
  kafkaPorts: [19092, 19093, 19094],
  kafkaControllerPorts: [19192, 19193, 19194],
};

/** What `services-up --topology cluster` started, written to `<dataDir>/cluster/topology.json` for the demo and the console's drills. */
export interface ClusterTopologyFile {
  /** `host:port,...`, the value of REDIS_CLUSTER_NODES. */
  redisClusterNodes: string;
  /** `host:port,...`, the value of KAFKA_BROKERS. */
  kafkaBrokers: string;
  /** Each node's address, its pid file, and the command that starts it (the drills start a killed node again with it: Redis rewrites its own process title, so /proc cannot tell). */
  redis: ClusterNodeEntry[];
  kafka: ClusterNodeEntry[];
}

export interface ClusterNodeEntry {
  address: string;
  pidFile: string;
  command: { argv: string[]; cwd: string };
}

const redisNodeName = (port: number) => `redis-${port}`;
const kafkaNodeName = (i: number) => `kafka-${i + 1}`;
const clusterDir = (layout: ClusterLayout) => join(layout.dataDir, "cluster");

/** Where each node keeps its data, logs and config under the layout. */
const redisNodeDir = (layout: ClusterLayout, port: number) => join(clusterDir(layout), redisNodeName(port));
const kafkaNodeDir = (layout: ClusterLayout, i: number) => join(clusterDir(layout), kafkaNodeName(i));

export function clusterTopology(layout: ClusterLayout, bins: { redisServer: string; java: string; kafkaLibsDir: string }): ClusterTopologyFile {
  const redis = layout.redisPorts.map((port) => {
    const dir = redisNodeDir(layout, port);
    return { address: `${layout.host}:${port}`, pidFile: pidFile(layout, redisNodeName(port)), command: { argv: [bins.redisServer, ...redisServerArgs({ host: layout.host, port, dir, extraArgs: redisClusterNodeArgs(port + 10_000) })], cwd: dir } };
  });
  const kafka = layout.kafkaPorts.map((port, i) => {
    const dir = kafkaNodeDir(layout, i);
    return { address: `${layout.host}:${port}`, pidFile: pidFile(layout, kafkaNodeName(i)), command: { argv: [bins.java, ...kafkaBrokerArgs({ dir, libsDir: bins.kafkaLibsDir, maxHeapMb: KAFKA_CLUSTER_HEAP_MB })], cwd: dir } };
  });
  return { redisClusterNodes: redis.map((r) => r.address).join(","), kafkaBrokers: kafka.map((k) => k.address).join(","), redis, kafka };
}

export function clusterTopologyFile(dataDir: string): string {
  return join(dataDir, "cluster", "topology.json");
}

function clusterNodes(layout: ClusterLayout): { name: string; mark: string; address: string }[] {
  return [
    ...layout.redisPorts.map((port) => ({ name: redisNodeName(port), mark: COMMAND_MARK.redis, address: `${layout.host}:${port}` })),
    ...layout.kafkaPorts.map((port, i) => ({ name: kafkaNodeName(i), mark: COMMAND_MARK.kafka, address: `${layout.host}:${port}` })),
  ];
}

export function clusterStatus(layout: ClusterLayout): { name: string; address: string; pid: number | null }[] {
  return clusterNodes(layout).map((n) => ({ name: n.name, address: n.address, pid: runningPid(layout, n.name, n.mark) ?? null }));
}

/** Starts the nodes that do not run; a first start creates the cluster, later ones let the nodes rejoin from their own state. */
export async function clusterUp(layout: ClusterLayout, log: (line: string) => void): Promise<ClusterTopologyFile> {
  if (layout.redisPorts.length !== 6 || layout.kafkaPorts.length !== 3 || layout.kafkaControllerPorts.length !== 3) {
    throw new RangeError("cluster layout: 6 Redis ports, 3 Kafka ports and 3 Kafka controller ports");
  }
  const env = readTestkitEnv(process.env);
  const root = clusterDir(layout);
  mkdirSync(join(layout.dataDir, "pids"), { recursive: true });

  const redisBin = findExecutable(env.redisServerBin, process.env.PATH);
  const cli = findExecutable("redis-cli", process.env.PATH);
  if (!redisBin || !cli) throw new TestkitError("MISSING_DEPENDENCY", "redis-server or redis-cli not found: run bash scripts/ensure-deps");
  const fresh = layout.redisPorts.every((port) => !existsSync(join(redisNodeDir(layout, port), "nodes.conf")));
  const missingRedis = layout.redisPorts.filter((port) => runningPid(layout, redisNodeName(port), COMMAND_MARK.redis) === undefined);
  for (const port of missingRedis) await requirePortFree(layout, port, redisNodeName(port));
  const started = Date.now();
  await Promise.all(
    missingRedis.map(async (port) => {
      const dir = redisNodeDir(layout, port);
      const proc = await launchRedisServer({ redisServerBin: redisBin, host: layout.host, port, dir, lifetime: "detached", extraArgs: redisClusterNodeArgs(port + 10_000) });
      writeFileSync(pidFile(layout, redisNodeName(port)), `${proc.pid}\n`);
      log(`redis cluster: node ${layout.host}:${port} started (pid ${proc.pid}), data in ${dir}`);
    }),
  );
  if (fresh) await createRedisCluster(cli, layout.host, layout.redisPorts);
  else await waitRedisClusterFormed(layout.redisPorts);
  log(`redis cluster: 3 primaries + 3 replicas on ${layout.redisPorts.join(", ")} ${missingRedis.length === 0 ? "already running" : `ready in ${Date.now() - started} ms`}`);

  const java = findExecutable(env.javaBin, process.env.PATH);
  if (!java) throw new TestkitError("MISSING_DEPENDENCY", "java not found: run bash scripts/ensure-deps");
  await ensureKafkaLibs(env.kafkaLibsDir, log);
  const idFile = join(root, "kafka-cluster-id");
  if (!existsSync(idFile)) {
    mkdirSync(root, { recursive: true });
    writeFileSync(idFile, `${newClusterId()}\n`);
  }
  const clusterId = readFileSync(idFile, "utf8").trim();
  const missingKafka = layout.kafkaPorts.map((_, i) => i).filter((i) => runningPid(layout, kafkaNodeName(i), COMMAND_MARK.kafka) === undefined);
  for (const i of missingKafka) {
    await requirePortFree(layout, layout.kafkaPorts[i] as number, kafkaNodeName(i));
    await requirePortFree(layout, layout.kafkaControllerPorts[i] as number, `${kafkaNodeName(i)} controller`);
  }
  const kafkaStarted = Date.now();
  // All at once: no node answers before a majority of the controllers has elected a leader.
  await Promise.all(
    missingKafka.map(async (i) => {
      const dir = kafkaNodeDir(layout, i);
      const proc = await launchKafkaBroker({
        javaBin: java,
        libsDir: env.kafkaLibsDir,
        host: layout.host,
        port: layout.kafkaPorts[i] as number,
        controllerPort: layout.kafkaControllerPorts[i] as number,
        dir,
        lifetime: "detached",
        maxHeapMb: KAFKA_CLUSTER_HEAP_MB,
        readyTimeoutMs: 180_000,
        cluster: kafkaClusterNode(i + 1, layout.host, layout.kafkaControllerPorts, clusterId),
      });
      writeFileSync(pidFile(layout, kafkaNodeName(i)), `${proc.pid}\n`);
      log(`kafka cluster: node ${i + 1} at ${layout.host}:${layout.kafkaPorts[i]} started (pid ${proc.pid}), data in ${dir}`);
    }),
  );
  const brokers = layout.kafkaPorts.map((p) => `${layout.host}:${p}`);
  await waitUntil(() => kafkaMetadataAnswers(brokers, 2_000, brokers.length), { what: "the Kafka cluster to list 3 brokers", timeoutMs: 120_000, intervalMs: 500 });
  log(`kafka cluster: 3 KRaft nodes (replication 3, min.insync.replicas 2) at ${brokers.join(",")} ${missingKafka.length === 0 ? "already running" : `ready in ${Date.now() - kafkaStarted} ms`}`);

  const topology = clusterTopology(layout, { redisServer: redisBin, java, kafkaLibsDir: env.kafkaLibsDir });
  writeFileSync(clusterTopologyFile(layout.dataDir), `${JSON.stringify(topology, null, 2)}\n`);
  return topology;
}

export async function clusterDown(layout: ClusterLayout, log: (line: string) => void): Promise<void> {
  const nodes = clusterNodes(layout);
  // Kafka first (its brokers flush on SIGTERM), then Redis; within each, all at once.
  for (const kind of ["kafka", "redis"]) {
    await Promise.all(
      nodes
        .filter((n) => n.name.startsWith(kind))
        .map(async (n) => {
          const pid = runningPid(layout, n.name, n.mark);
          if (pid !== undefined) {
            await terminate(pid, kind === "kafka" ? 30_000 : 10_000);
            log(`${n.name}: stopped (pid ${pid})`);
          }
          rmSync(pidFile(layout, n.name), { force: true });
        }),
    );
  }
  rmSync(clusterTopologyFile(layout.dataDir), { force: true });
}
