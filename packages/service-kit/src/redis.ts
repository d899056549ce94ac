import { Cluster, Redis } from "ioredis";
import type { ServiceContext } from "./service";

/** A single Redis or a Redis Cluster: the stores speak to either. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  url: string;
  /** A Redis Cluster's nodes (`host:port`); non-empty, the connection is a cluster client and `url` is not used. */
  clusterNodes?: readonly string[];
  /** Readiness check this connection sets (default "redis"). */
  check?: string;
  /** How often the server is PINGed while connected (default 1 s). */
  probeIntervalMs?: number;
  /** A PING slower than this counts as a failed probe (default 250 ms). */
  probeTimeoutMs?: number;
  /**
   * Runs whenever the connection becomes ready; a string is a problem that keeps the service
   * unready (e.g. a stored feature layout this reader does not understand).
   */
  verify?: (redis: RedisClient) => Promise<string | null>;
  /** The probe saw the server answer after a failure: breakers on this dependency may close now. */
  onRecovered?: () => void;
}

export interface RedisConnection {
  readonly client: RedisClient;
  /** Connected, verified, and the last probe answered in time. */
  healthy(): boolean;
}

/**
 * The one Redis policy of every service:
 * - no offline queue and no per-request retries: while Redis is away a command fails at once, and
 *   the caller's deadline and fallback decide what happens, instead of a queue outliving the request;
 * - reconnect with a backoff capped at 1 s, so a returning Redis is used within a second;
 * - a PING probe every second: a server that holds the connection but does not answer (frozen,
 *   SIGSTOP) turns readiness off within one probe, and its return turns it back on and tells
 *   `onRecovered` (so breakers close on evidence rather than on a timer);
 * - the closer is registered at once, so a start-up that fails later still disconnects.
 */
export function connectRedis(ctx: Pick<ServiceContext, "readiness" | "closers" | "logger">, options: RedisConnectionOptions): RedisConnection {
  const check = options.check ?? "redis";
  const interval = options.probeIntervalMs ?? 1_000;
  const timeout = options.probeTimeoutMs ?? 250;
  const backoff = (times: number) => Math.min(times * 100, 1_000);
  const nodes = options.clusterNodes ?? [];
  const client: RedisClient =
    nodes.length > 0
      ? new Cluster(
          nodes.map((n) => ({ host: n.slice(0, n.lastIndexOf(":")), port: Number(n.slice(n.lastIndexOf(":") + 1)) })),
          {
            enableOfflineQueue: false,
            clusterRetryStrategy: backoff,
            // A failed-over slot moves: follow MOVED at once, refresh the map within a second.
            retryDelayOnMoved: 0,
            retryDelayOnFailover: 100,
            slotsRefreshTimeout: 1_000,
            // ioredis refreshes the map on a MOVED only for a single command or a pipeline on one
            // slot; a multi-slot pipeline (the ranker's item fetch) kept hitting the failed node's
            // old slots for as long as it ran. The timer bounds that to a second.
            slotsRefreshInterval: 1_000,
            redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 1_000 },
          },
        )
      : new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: backoff });
  let connected = false;
  let verified = options.verify === undefined;
  let probeOk = true;
  let problem = "not connected yet";
  const publish = () => {
    const ok = connected && verified && probeOk;
    ctx.readiness.set(check, ok, ok ? undefined : problem);
  };
  ctx.readiness.set(check, false, problem);

  client.on("ready", () => {
    connected = true;
    probeOk = true;
    if (!options.verify) {
      publish();
      return;
    }
    options.verify(client).then(
      (issue) => {
        verified = issue === null;
        if (issue) {
          problem = issue;
          ctx.logger.error({ check, problem: issue }, "redis verification failed");
        }
        publish();
      },
      (error: Error) => {
        verified = false;
        problem = error.message;
        publish();
      },
    );
  });
  client.on("close", () => {
    connected = false;
    problem = "connection closed";
    publish();
  });
  client.on("error", (error: Error) => {
    problem = error.message;
    ctx.logger.warn({ check, err: error.message }, "redis error");
  });

  let probing = false;
  const probe = setInterval(() => {
    if (!connected || probing) return;
    probing = true;
    const t0 = performance.now();
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      probing = false;
      if (probeOk) ctx.logger.warn({ check, timeoutMs: timeout }, "redis did not answer PING in time");
      probeOk = false;
      problem = `PING not answered within ${timeout} ms`;
      publish();
    }, timeout);
    pingAll(client).then(
      () => {
        if (settled) {
          // Answered, but late: the next probe decides. Recovery needs an answer in time.
          return;
        }
        clearTimeout(timer);
        probing = false;
        const recovered = !probeOk;
        probeOk = true;
        publish();
        if (recovered) {
          ctx.logger.info({ check, ms: Math.round(performance.now() - t0) }, "redis answers again");
          options.onRecovered?.();
        }
      },
      () => {
        if (!settled) clearTimeout(timer);
        probing = false;
      },
    );
  }, interval);
  probe.unref();

  ctx.closers.add(check, () => {
    clearInterval(probe);
    client.disconnect();
  });
  return { client, healthy: () => connected && verified && probeOk };
}

/** PING every primary of a cluster (a frozen one holds a third of the keys), or the one server. */
async function pingAll(client: RedisClient): Promise<void> {
  if (client instanceof Cluster) {
    const primaries = client.nodes("master");
    if (primaries.length === 0) throw new Error("no primary known");
    await Promise.all(primaries.map((n) => n.ping()));
    return;
  }
  await client.ping();
}
