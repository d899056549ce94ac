import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { requireBinary } from "./binaries";
import { runCommand } from "./child-command";
import { KAFKA_VERSION, readTestkitEnv } from "./env";
import { TestkitError } from "./errors";
import { freePorts } from "./free-port";
import { KAFKA_CLUSTER_SETTINGS, newClusterId } from "./kafka-config";
import { ensureKafkaLibs, launchKafkaBroker, type KafkaBrokerOptions } from "./local-kafka";
import { launchRedisServer } from "./local-redis";
import { kafkaMetadataAnswers, waitUntil } from "./probes";
import type { ManagedProcess } from "./process-guard";
import { log } from "./start";
import { createWorkDir } from "./workdir";

/**
 * The cluster topologies of issue 19, started on one machine from the same binaries as the single
 * nodes: a Redis Cluster of three primaries and three replicas (`redis-server --cluster-enabled`,
 * joined by `redis-cli --cluster create`) and a three-node KRaft Kafka (each node broker and
 * controller, replication factor 3, `min.insync.replicas` 2). Local processes only: the compose
 * profile is the container path.
 */

const HOST = "127.0.0.1";
const REDIS_CLUSTER_SIZE = 6;
const KAFKA_CLUSTER_SIZE = 3;
/** A primary is failed over after this much silence; low, so failover tests finish in seconds. */
export const REDIS_NODE_TIMEOUT_MS = 1_000;

export interface RedisClusterNode {
  id: string;
  port: number;
  role: "primary" | "replica";
  /** A replica's primary (its port); null for a primary. */
  primaryPort: number | null;
  /** Slots a primary serves (0 for a replica). */
  slots: number;
  /** Flagged `fail` by the cluster. */
  failed: boolean;
  /** Flagged `fail?` by the answering node: it misses pings but the cluster has not agreed it failed yet. */
  suspected: boolean;
}

export interface RedisClusterHandle {
  /** Every node, as start-up nodes for a cluster client (ioredis `Cluster`). */
  nodes: { host: string; port: number }[];
  /** The same as `host:port,host:port,...` (the form a `REDIS_CLUSTER_NODES` setting takes). */
  nodeList: string;
  /** Roles and slots as a node that answers sees them now (`CLUSTER NODES`). */
  topology(): Promise<RedisClusterNode[]>;
  /**
   * Waits until every running node sees the same three primaries serving slots, none failed or
   * suspected, and returns them. After a failover the nodes learn the new roles by gossip, so one
   * node's view can lag the client that already writes to the promoted replica.
   */
  agreedPrimaries(timeoutMs?: number): Promise<RedisClusterNode[]>;
  /** The node's process id while it runs. */
  pid(port: number): number | null;
  /** SIGKILL one node (a crashed host): its replica takes over after the node timeout. */
  kill(port: number): Promise<void>;
  /** Start a stopped node again on its port and data; it rejoins (a failed-over primary as a replica). */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface KafkaClusterHandle {
  brokers: string[];
  /** Broker `index`'s process id while it runs (drills freeze or kill it). */
  pid(index: number): number | null;
  /** SIGKILL broker `index`. */
  kill(index: number): Promise<void>;
  /** Start broker `index` again with its log dirs. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** `CLUSTER NODES` as records: `<id> <ip:port@bus> <flags> <primary id|-> <ping> <pong> <epoch> <link> <slot ranges...>`. */
export function parseClusterNodes(text: string): RedisClusterNode[] {
  const rows = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => line.split(" "));
  const portOf = new Map(rows.map((r) => [r[0] as string, Number((r[1] as string).split("@")[0]?.split(":").at(-1))]));
  return rows.map((r) => {
    const flags = (r[2] as string).split(",");
    const slots = r.slice(8).reduce((n, range) => {
      if (range.startsWith("[")) return n; // a slot being migrated, not served
      const [a, b] = range.split("-").map(Number) as [number, number | undefined];
      return n + (b === undefined ? 1 : b - a + 1);
    }, 0);
    const primary = r[3] as string;
    return {
      id: r[0] as string,
      port: portOf.get(r[0] as string) as number,
      role: flags.includes("master") ? "primary" : "replica",
      primaryPort: primary === "-" ? null : (portOf.get(primary) ?? null),
      slots,
      failed: flags.includes("fail"),
      suspected: flags.includes("fail?"),
    };
  });
}

async function nodeCommand(port: number, command: string, ...args: string[]): Promise<string | null> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, connectTimeout: 1_000, commandTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.call(command, ...args)) as string;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

const clusterCommand = (port: number, ...args: string[]) => nodeCommand(port, "CLUSTER", ...args);

/** `redis-server` arguments that make a node of a cluster (its bus on `busPort`). */
export function redisClusterNodeArgs(busPort: number): string[] {
  return ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(busPort), "--cluster-node-timeout", String(REDIS_NODE_TIMEOUT_MS)];
}

/** Joins six fresh nodes into 3 primaries + 3 replicas and waits until every node agrees. */
export async function createRedisCluster(cli: string, host: string, ports: readonly number[]): Promise<void> {
  const create = await runCommand(cli, ["--cluster", "create", ...ports.map((p) => `${host}:${p}`), "--cluster-replicas", "1", "--cluster-yes"]);
  if (create.code !== 0) throw new TestkitError("START_FAILED", `redis-cli --cluster create failed (exit ${create.code}):\n${create.output.slice(-2000)}`);
  await waitRedisClusterFormed(ports);
}

export function waitRedisClusterFormed(ports: readonly number[], timeoutMs = 60_000): Promise<void> {
  return waitUntil(() => clusterFormed(ports), { what: "the Redis Cluster to agree on 3 primaries and 3 synced replicas", timeoutMs, intervalMs: 200 });
}

/** A Kafka cluster node's settings: its id, the quorum's voters (`id@host:controllerPort,...`), the shared cluster id. */
export function kafkaClusterNode(nodeId: number, host: string, controllerPorts: readonly number[], clusterId: string): NonNullable<KafkaBrokerOptions["cluster"]> {
  return { nodeId, voters: controllerPorts.map((p, i) => `${i + 1}@${host}:${p}`).join(","), clusterId, settings: KAFKA_CLUSTER_SETTINGS };
}

export const KAFKA_CLUSTER_HEAP_MB = 384;

/** Every node agrees on three primaries serving slots and three replicas, the state is ok, and each replica's link to its primary is up (its initial sync is done). */
async function clusterFormed(ports: readonly number[]): Promise<boolean> {
  const views = await Promise.all(ports.map((p) => clusterCommand(p, "NODES")));
  if (views.some((v) => v === null)) return false;
  const agree = views.every((v) => {
    const t = parseClusterNodes(v as string);
    return t.filter((x) => x.role === "primary" && x.slots > 0 && !x.failed).length === 3 && t.filter((x) => x.role === "replica" && !x.failed).length === 3;
  });
  if (!agree) return false;
  const infos = await Promise.all(ports.map((p) => clusterCommand(p, "INFO")));
  if (!infos.every((info) => info?.includes("cluster_state:ok") ?? false)) return false;
  const replicas = parseClusterNodes(views[0] as string).filter((n) => n.role === "replica");
  const links = await Promise.all(replicas.map((r) => nodeCommand(r.port, "INFO", "replication")));
  return links.every((l) => l?.includes("master_link_status:up") ?? false);
}

/** A cluster client for tests: it retries while a failed primary's replica takes over. */
export function connectRedisCluster(handle: Pick<RedisClusterHandle, "nodes">): Cluster {
  const client = new Cluster(handle.nodes, {
    clusterRetryStrategy: () => 200,
    redisOptions: { connectTimeout: 1_000, commandTimeout: 5_000, maxRetriesPerRequest: 1 },
    slotsRefreshTimeout: 2_000,
  });
  client.on("error", () => {});
  return client;
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const env = readTestkitEnv(process.env);
  const bin = requireBinary(env.redisServerBin, "apt-get install -y redis-server");
  const cli = requireBinary("redis-cli", "apt-get install -y redis-tools");
  const root = createWorkDir("redis-cluster");
  const ports = await freePorts(REDIS_CLUSTER_SIZE * 2, HOST);
  const nodes = ports.slice(0, REDIS_CLUSTER_SIZE).map((port, i) => ({ port, busPort: ports[REDIS_CLUSTER_SIZE + i] as number, dir: join(root, `node-${i}`) }));
  const procs = new Map<number, ManagedProcess | undefined>();
  const launch = (n: (typeof nodes)[number]) =>
    launchRedisServer({
      redisServerBin: bin,
      host: HOST,
      port: n.port,
      dir: n.dir,
      lifetime: "parent",
      extraArgs: redisClusterNodeArgs(n.busPort),
    });
  const stopAll = async () => {
    await Promise.all([...procs.values()].map((p) => p?.stop(10_000)));
    procs.clear();
  };
  const started = Date.now();
  try {
    await Promise.all(nodes.map(async (n) => procs.set(n.port, await launch(n))));
    await createRedisCluster(cli, HOST, nodes.map((n) => n.port));
  } catch (error) {
    await stopAll();
    throw error;
  }
  log(`redis cluster: 3 primaries + 3 replicas (${bin}) on ${nodes.map((n) => n.port).join(", ")}, ready in ${Date.now() - started} ms`);
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new TestkitError("NOT_OWNED", `no node of this cluster listens on ${port}`);
    return node;
  };
  return {
    nodes: nodes.map((n) => ({ host: HOST, port: n.port })),
    nodeList: nodes.map((n) => `${HOST}:${n.port}`).join(","),
    async topology() {
      for (const n of nodes) {
        const text = await clusterCommand(n.port, "NODES");
        if (text !== null) return parseClusterNodes(text);
      }
      throw new TestkitError("START_FAILED", "no node of the Redis Cluster answers");
    },
    async agreedPrimaries(timeoutMs = 20_000) {
      let agreed: RedisClusterNode[] = [];
      await waitUntil(
        async () => {
          const running = nodes.filter((n) => { const p = procs.get(n.port); return p !== undefined && !p.exit; });
          const views = await Promise.all(running.map((n) => clusterCommand(n.port, "NODES")));
          if (views.some((v) => v === null)) return false;
          const serving = views.map((v) => parseClusterNodes(v as string).filter((x) => x.role === "primary" && x.slots > 0 && !x.failed && !x.suspected));
          const key = (s: RedisClusterNode[]) => s.map((x) => `${x.port}:${x.slots}`).sort().join(",");
          if (!serving.every((s) => s.length === 3 && key(s) === key(serving[0] as RedisClusterNode[]))) return false;
          agreed = serving[0] as RedisClusterNode[];
          return true;
        },
        { what: "every running Redis Cluster node to agree on three serving primaries", timeoutMs, intervalMs: 100 },
      );
      return agreed;
    },
    pid(port) {
      const p = procs.get(byPort(port).port);
      return p && !p.exit ? p.pid : null;
    },
    async kill(port) {
      const p = procs.get(byPort(port).port);
      if (!p || p.exit) return;
      process.kill(p.pid, "SIGKILL");
      await waitUntil(async () => p.exit !== undefined, { what: `redis node ${port} to exit`, timeoutMs: 10_000, intervalMs: 20 });
      procs.set(port, undefined);
    },
    async restart(port) {
      const node = byPort(port);
      const p = procs.get(port);
      if (p && !p.exit) return;
      procs.set(port, await launch(node));
    },
    stop: stopAll,
  };
}

/** How many times in all the cluster is started when a node exits while starting, each on fresh ports and directories. */
const KAFKA_CLUSTER_STARTS = 2;

/** A node process exited before the cluster answered (as opposed to a cluster that never formed). */
export function nodeExitedWhileStarting(error: unknown): boolean {
  return error instanceof TestkitError && error.code === "START_FAILED" && / failed to start: exited \(/.test(error.message);
}

export async function startKafkaCluster(): Promise<KafkaClusterHandle> {
  const env = readTestkitEnv(process.env);
  const java = requireBinary(env.javaBin, "apt-get install -y openjdk-17-jre-headless");
  await ensureKafkaLibs(env.kafkaLibsDir, log);
  // A node has been seen to exit with code 1 while three JVMs start at once on a busy 2-core
  // machine (CI, once in many runs). That is the test bed failing, not the system under test:
  // start again from scratch once, with the first attempt's errors in the log.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKafkaClusterOnce(java, env.kafkaLibsDir);
    } catch (error) {
      if (attempt >= KAFKA_CLUSTER_STARTS || !nodeExitedWhileStarting(error)) throw error;
      log(`kafka cluster: a node exited while starting (attempt ${attempt} of ${KAFKA_CLUSTER_STARTS}), starting again on fresh ports:\n${(error as Error).message}`);
    }
  }
}

async function startKafkaClusterOnce(java: string, kafkaLibsDir: string): Promise<KafkaClusterHandle> {
  const root = createWorkDir("kafka-cluster");
  const ports = await freePorts(KAFKA_CLUSTER_SIZE * 2, HOST);
  const nodes = Array.from({ length: KAFKA_CLUSTER_SIZE }, (_, i) => ({ nodeId: i + 1, port: ports[i] as number, controllerPort: ports[KAFKA_CLUSTER_SIZE + i] as number, dir: join(root, `node-${i + 1}`) }));
  const clusterId = newClusterId();
  const launch = (n: (typeof nodes)[number]) =>
    launchKafkaBroker({
      javaBin: java,
      libsDir: kafkaLibsDir,
      host: HOST,
      port: n.port,
      controllerPort: n.controllerPort,
      dir: n.dir,
      lifetime: "parent",
      maxHeapMb: KAFKA_CLUSTER_HEAP_MB,
      readyTimeoutMs: 180_000,
      cluster: kafkaClusterNode(n.nodeId, HOST, nodes.map((x) => x.controllerPort), clusterId),
    });
  const procs: (ManagedProcess | undefined)[] = [];
  const brokers = nodes.map((n) => `${HOST}:${n.port}`);
  const stopAll = async () => {
    await Promise.all(procs.map((p) => p?.stop(30_000)));
    procs.length = 0;
  };
  const started = Date.now();
  try {
    // All at once: no node answers before a majority of the controllers has elected a leader.
    const launched = await Promise.allSettled(nodes.map(async (n, i) => (procs[i] = await launch(n))));
    const failed = launched.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await waitUntil(() => kafkaMetadataAnswers(brokers, 2_000, KAFKA_CLUSTER_SIZE), { what: "the Kafka cluster to list 3 brokers", timeoutMs: 120_000, intervalMs: 500 });
  } catch (error) {
    await stopAll();
    throw error;
  }
  log(`kafka cluster: 3 KRaft nodes (Kafka ${KAFKA_VERSION}, replication 3, min.insync.replicas 2) at ${brokers.join(",")}, ready in ${Date.now() - started} ms`);
  const at = (index: number) => {
    const node = nodes[index];
    if (!node) throw new TestkitError("NOT_OWNED", `no broker ${index} (0-${KAFKA_CLUSTER_SIZE - 1})`);
    return node;
  };
  return {
    brokers,
    pid(index) {
      at(index);
      const p = procs[index];
      return p && !p.exit ? p.pid : null;
    },
    async kill(index) {
      at(index);
      const p = procs[index];
      if (!p || p.exit) return;
      process.kill(p.pid, "SIGKILL");
      await waitUntil(async () => p.exit !== undefined, { what: `kafka broker ${index} to exit`, timeoutMs: 10_000, intervalMs: 20 });
      procs[index] = undefined;
    },
    async restart(index) {
      const node = at(index);
      const p = procs[index];
      if (p && !p.exit) return;
      procs[index] = await launch(node);
    },
    stop: stopAll,
  };
}
