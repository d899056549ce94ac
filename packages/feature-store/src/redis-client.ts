import { createRequire } from "node:module";
import type { ChainableCommander, Cluster, Redis } from "ioredis";

// The slot ioredis routes a key to (hash tags honoured): its own dependency, which ships no types.
const calculateSlot = createRequire(import.meta.url)("cluster-key-slot") as (key: string) => number;

/** What the Redis stores accept: one node, or a Redis Cluster (every key layout carries one hash tag per entity). */
export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** Runs one pipeline and throws the first command error. */
async function execChecked(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error("redis pipeline returned no results");
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * Commands of several entities sent as one round trip per node: one pipeline on a single Redis; on a
 * Cluster one pipeline per group of nodes serving the keys' slots (ioredis refuses a pipeline whose
 * keys live on different nodes), all sent at once. Results come back in the order the commands were
 * queued, as from one pipeline.
 *
 * Why explicit grouping rather than ioredis `enableAutoPipelining` with parallel calls: that option
 * belongs to whoever builds the client, while grouping here gives one pipeline per node on any client
 * for one slot hash per key, and it was the faster of the two on the fetch of 1 user + 200 items
 * (bench/cluster.ts measures both).
 */
export class NodePipelines {
  private readonly single: ChainableCommander | null;
  /** Cluster only: each `add` in order, routed when `exec` runs (the slot map may still be loading now). */
  private readonly queued: { key: string; queue: (pipeline: ChainableCommander) => void }[] = [];

  constructor(private readonly redis: RedisClient) {
    this.single = isCluster(redis) ? null : redis.pipeline();
  }

  /** Queues the commands `queue` adds, all of them on keys in the slot of `key`. */
  add(key: string, queue: (pipeline: ChainableCommander) => void): void {
    if (this.single) queue(this.single);
    else this.queued.push({ key, queue });
  }

  exec(): Promise<unknown[]> {
    return this.single ? execChecked(this.single) : this.execOnCluster(this.redis as Cluster);
  }

  private async execOnCluster(cluster: Cluster): Promise<unknown[]> {
    if (this.queued.length === 0) return [];
    if (cluster.status === "wait") cluster.connect().catch(() => {});
    if (cluster.slots.length === 0) await new Promise<void>((resolve, reject) => cluster.delayUntilReady((error) => (error ? reject(error) : resolve())));
    const byGroup = new Map<string, ChainableCommander>();
    const spans: { pipeline: ChainableCommander; start: number; count: number }[] = [];
    for (const { key, queue } of this.queued) {
      // ioredis accepts a pipeline whose slots share one group of nodes (primary and replicas).
      const group = cluster.slots[calculateSlot(key)]?.join(";") ?? "";
      let pipeline = byGroup.get(group);
      if (!pipeline) {
        pipeline = cluster.pipeline();
        byGroup.set(group, pipeline);
      }
      const start = pipeline.length;
      queue(pipeline);
      spans.push({ pipeline, start, count: pipeline.length - start });
    }
    const pipelines = [...byGroup.values()];
    const results = await Promise.all(pipelines.map(execChecked));
    const byPipeline = new Map(pipelines.map((p, i) => [p, results[i] as unknown[]]));
    const out: unknown[] = [];
    for (const { pipeline, start, count } of spans) {
      const rows = byPipeline.get(pipeline) as unknown[];
      for (let i = start; i < start + count; i++) out.push(rows[i]);
    }
    return out;
  }
}
