import { Cluster, Redis } from "ioredis";

/**
 * The Redis a trainer materialises into, from its --redis value: a `redis://` URL (one server) or
 * a Redis Cluster's nodes as `host:port,host:port,...` (the value of the services' REDIS_CLUSTER_NODES).
 */
export function openRedis(target: string): Redis | Cluster {
  if (/^rediss?:\/\//.test(target)) return new Redis(target, { maxRetriesPerRequest: 2 });
  const nodes = target.split(",").map((n) => n.trim());
  const bad = nodes.find((n) => !/^[^:\s]+:\d{1,5}$/.test(n));
  if (bad !== undefined) throw new Error(`--redis: expected a redis:// URL or a cluster's host:port,host:port,..., got "${bad}" in "${target}"`);
  return new Cluster(
    nodes.map((n) => ({ host: n.slice(0, n.lastIndexOf(":")), port: Number(n.slice(n.lastIndexOf(":") + 1)) })),
    { redisOptions: { maxRetriesPerRequest: 2 } },
  );
}
