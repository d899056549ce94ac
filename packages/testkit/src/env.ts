import { homedir } from "node:os";
import { join } from "node:path";
import { TestkitError } from "./errors";

export const KAFKA_VERSION = "3.9.1";

/** How to find real components: `auto` tries a Docker engine, then local processes. */
export type InfraMode = "auto" | "container" | "local";

export interface TestkitEnv {
  /** Shared Redis given by the runner (REDIS_URL). */
  redisUrl: string | undefined;
  /** Shared Kafka given by the runner (KAFKA_BROKERS, comma-separated host:port). */
  kafkaBrokers: string[] | undefined;
  mode: InfraMode;
  /** Folder holding the broker's jars, filled by scripts/ensure-deps. */
  kafkaLibsDir: string;
  redisServerBin: string;
  javaBin: string;
  /** Where to ask for a Docker engine: a unix socket path or an http(s) base URL. */
  docker: DockerEndpoint;
}

export type DockerEndpoint = { kind: "socket"; path: string } | { kind: "tcp"; baseUrl: string };

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export interface RedisAddress {
  url: string;
  host: string;
  port: number;
}

function parsePort(raw: string, field: string, value: string): number {
  if (!/^\d+$/.test(raw)) throw new TestkitError("BAD_ENV", `${field}: port in "${value}" is not a number`, field);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new TestkitError("BAD_ENV", `${field}: port ${port} is outside 1-65535`, field);
  return port;
}

export function parseRedisUrl(value: string, field = "REDIS_URL"): RedisAddress {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new TestkitError("BAD_ENV", `${field}: "${value}" is not a URL (expected redis://host:port)`, field);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TestkitError("BAD_ENV", `${field}: scheme "${parsed.protocol}" is not redis: or rediss:`, field);
  }
  if (!parsed.hostname) throw new TestkitError("BAD_ENV", `${field}: "${value}" has no host`, field);
  const port = parsed.port ? parsePort(parsed.port, field, value) : 6379;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return { url: value, host, port };
}

export function parseKafkaBrokers(value: string, field = "KAFKA_BROKERS"): string[] {
  const brokers = value
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw new TestkitError("BAD_ENV", `${field}: no broker in "${value}"`, field);
  for (const broker of brokers) {
    const match = /^(\[[^\]]+\]|[^:\s/]+):(\d+)$/.exec(broker);
    if (!match?.[2]) {
      throw new TestkitError("BAD_ENV", `${field}: "${broker}" is not host:port`, field);
    }
    parsePort(match[2], field, broker);
  }
  return brokers;
}

export function parseInfraMode(value: string | undefined, field = "MLSD_INFRA"): InfraMode {
  const mode = nonEmpty(value) ?? "auto";
  if (mode === "auto" || mode === "container" || mode === "local") return mode;
  throw new TestkitError("BAD_ENV", `${field}: "${mode}" is not one of auto, container, local`, field);
}

/** Same formula as scripts/lib/kafka-libs.sh, which fills the folder. */
export function kafkaLibsDirFrom(env: Env): string {
  const explicit = nonEmpty(env.MLSD_KAFKA_LIBS);
  if (explicit) return explicit;
  const cacheHome = nonEmpty(env.XDG_CACHE_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), ".cache");
  return join(cacheHome, "mlsd-lab", `kafka-${KAFKA_VERSION}`, "libs");
}

export function dockerEndpointFrom(env: Env): DockerEndpoint {
  const host = nonEmpty(env.DOCKER_HOST);
  if (!host) return { kind: "socket", path: "/var/run/docker.sock" };
  if (host.startsWith("unix://")) return { kind: "socket", path: host.slice("unix://".length) };
  if (host.startsWith("tcp://")) {
    const tls = nonEmpty(env.DOCKER_TLS_VERIFY) !== undefined;
    return { kind: "tcp", baseUrl: `${tls ? "https" : "http"}://${host.slice("tcp://".length)}` };
  }
  if (host.startsWith("http://") || host.startsWith("https://")) return { kind: "tcp", baseUrl: host };
  throw new TestkitError("BAD_ENV", `DOCKER_HOST: "${host}" is neither unix://, tcp:// nor http(s)://`, "DOCKER_HOST");
}

export function readTestkitEnv(env: Env): TestkitEnv {
  const redisUrl = nonEmpty(env.REDIS_URL);
  const brokers = nonEmpty(env.KAFKA_BROKERS);
  const javaHome = nonEmpty(env.JAVA_HOME);
  return {
    redisUrl: redisUrl === undefined ? undefined : parseRedisUrl(redisUrl).url,
    kafkaBrokers: brokers === undefined ? undefined : parseKafkaBrokers(brokers),
    mode: parseInfraMode(env.MLSD_INFRA),
    kafkaLibsDir: kafkaLibsDirFrom(env),
    redisServerBin: nonEmpty(env.MLSD_REDIS_SERVER) ?? "redis-server",
    javaBin: javaHome ? join(javaHome, "bin", "java") : "java",
    docker: dockerEndpointFrom(env),
  };
}
