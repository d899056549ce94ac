import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { TestkitError } from "./errors";
import { tailFile } from "./log-tail";
import { REDIS_CONF } from "./paths";
import { redisPing, waitUntil } from "./probes";
import { spawnManaged, type Lifetime, type ManagedProcess } from "./process-guard";

export interface RedisServerOptions {
  redisServerBin: string;
  host: string;
  port: number;
  /** Data (append-only file) and redis.log live here; reused across restarts. */
  dir: string;
  lifetime: Lifetime;
  readyTimeoutMs?: number;
  /** Arguments after the shared ones (a cluster node's `--cluster-enabled yes ...`). */
  extraArgs?: readonly string[];
}

/** Command-line arguments: the shared infra/redis/redis.conf plus what differs per instance. */
export function redisServerArgs(options: Pick<RedisServerOptions, "host" | "port" | "dir" | "extraArgs">): string[] {
  return [
    REDIS_CONF,
    "--port", String(options.port),
    "--bind", options.host,
    "--dir", options.dir,
    "--logfile", join(options.dir, "redis.log"),
    "--daemonize", "no",
    ...(options.extraArgs ?? []),
  ];
}

export async function launchRedisServer(options: RedisServerOptions): Promise<ManagedProcess> {
  mkdirSync(options.dir, { recursive: true });
  const logFile = join(options.dir, "redis.log");
  const proc = spawnManaged({
    command: options.redisServerBin,
    args: redisServerArgs(options),
    cwd: options.dir,
    logFile: join(options.dir, "redis.stdout.log"),
    lifetime: options.lifetime,
  });
  try {
    await waitUntil(() => redisPing(options.host, options.port), {
      what: `redis-server on ${options.host}:${options.port}`,
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      intervalMs: 50,
      failure: () => (proc.exit ? `exited (${JSON.stringify(proc.exit)}):\n${tailFile(logFile)}` : undefined),
    });
  } catch (error) {
    await proc.stop(2_000);
    throw new TestkitError("START_FAILED", (error as Error).message);
  }
  return proc;
}
