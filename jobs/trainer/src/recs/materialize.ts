import { materializeRecsFeatures, RedisRecsFeatureStore, RedisUserHistory, type RecsCatalogue, type RecsProfiles, type RecsSession } from "@mlsd/feature-store";
import { Cluster, Redis } from "ioredis";
import type { ClickLog } from "./world-data";

/** Where features go: one Redis by URL, or a Redis Cluster by its nodes (`host:port`). */
export type RedisTarget = { url: string } | { clusterNodes: readonly string[] };

export interface MaterializeOptions {
  redis: RedisTarget;
  profiles: RecsProfiles;
  /** Profiles for the replayed states: without it a snapshot would overwrite profiles with none. */
  catalogue: RecsCatalogue;
  sessions: readonly RecsSession[];
  /** Counters and histories as of this time (sessions strictly before it). */
  asOfMs: number;
  clicks: ClickLog;
  itemId?: (index: number) => string;
  userId?: (index: number) => string;
  featurePrefix?: string;
  historyPrefix?: string;
  log: (line: string) => void;
}

/** Each user's clicked items, most recent first (the log is in time order). */
export function clickHistories(clicks: ClickLog, userId: (u: number) => string, itemId: (i: number) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let r = clicks.user.length - 1; r >= 0; r--) {
    const id = userId(clicks.user[r] as number);
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push(itemId(clicks.item[r] as number));
  }
  return out;
}

function connect(target: RedisTarget): { client: Redis | Cluster; name: string } {
  if ("url" in target) return { client: new Redis(target.url, { maxRetriesPerRequest: 2 }), name: target.url };
  if (target.clusterNodes.length === 0) throw new Error("a Redis Cluster target needs at least one node (host:port)");
  const nodes = target.clusterNodes.map((n) => {
    const at = n.lastIndexOf(":");
    const port = Number(n.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port <= 0) throw new Error(`a Redis Cluster node must be host:port, got "${n}"`);
    return { host: n.slice(0, at), port };
  });
  return { client: new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 2 } }), name: `the Redis Cluster at ${target.clusterNodes.join(",")}` };
}

/**
 * Loads what the recommendation services read from Redis: every profile, the counters and recent
 * histories of the feature store as of `asOfMs`, and each user's clicked items (seen-item filter
 * and the user tower's history).
 */
export async function materializeRecs(options: MaterializeOptions): Promise<{ users: number; items: number; histories: number }> {
  const { client: redis, name } = connect(options.redis);
  try {
    const t0 = performance.now();
    const store = new RedisRecsFeatureStore(redis, { prefix: options.featurePrefix ?? "rx:" });
    const size = await materializeRecsFeatures(store, { profiles: options.profiles, catalogue: options.catalogue, sessions: options.sessions, asOfMs: options.asOfMs });
    const history = new RedisUserHistory(redis, options.historyPrefix !== undefined ? { prefix: options.historyPrefix } : {});
    const histories = clickHistories(options.clicks, options.userId ?? String, options.itemId ?? String);
    await history.replace(histories);
    options.log(
      `materialised into ${name}: ${size.users} users and ${size.items} items with counters, ${histories.size} click histories ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return { ...size, histories: histories.size };
  } finally {
    redis.disconnect();
  }
}
