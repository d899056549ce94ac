import { Cluster, Redis } from "ioredis";

/**
 * A trainer's --redis value: a `redis://` URL (one server, null here) or a Redis Cluster's nodes
 * as `host:port,host:port,...` (the value of the services' REDIS_CLUSTER_NODES).
 */
export function clusterNodes(target: string): { host: string; port: number }[] | null {
  if (/^rediss?:\/\//.test(target)) return null;
  const nodes = target.split(",").map((n) => n.trim());
  const bad = nodes.find((n) => !/^[^:\s]+:\d{1,5}$/.test(n));
  if (bad !== undefined) throw new Error(`--redis: expected a redis:// URL or a cluster's host:port,host:port,..., got "${bad}" in "${target}"`);
  return nodes.map((n) => ({ host: n.slice(0, n.lastIndexOf(":")), port: Number(n.slice(n.lastIndexOf(":") + 1)) }));
}

/** The Redis a trainer materialises into. */
export function openRedis(target: string): Redis | Cluster {
  const nodes = clusterNodes(target);
  return nodes === null ? new Redis(target, { maxRetriesPerRequest: 2 }) : new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 2 } });
}
