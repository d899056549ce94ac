import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  dockerEndpointFrom,
  kafkaLibsDirFrom,
  parseInfraMode,
  parseKafkaBrokers,
  parseRedisUrl,
  readTestkitEnv,
} from "./env";
import { TestkitError } from "./errors";

function errorOf(fn: () => unknown): TestkitError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TestkitError) return error;
    throw error;
  }
  throw new Error("expected a TestkitError");
}

describe("parseRedisUrl", () => {
  it("reads host and port, defaulting the port to 6379", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6390")).toEqual({ url: "redis://127.0.0.1:6390", host: "127.0.0.1", port: 6390 });
    expect(parseRedisUrl("redis://cache.internal")).toMatchObject({ host: "cache.internal", port: 6379 });
    expect(parseRedisUrl("rediss://[::1]:7000")).toMatchObject({ host: "::1", port: 7000 });
  });

  it("rejects other schemes and bad ports, naming the variable", () => {
    const scheme = errorOf(() => parseRedisUrl("http://127.0.0.1:6379"));
    expect(scheme).toMatchObject({ code: "BAD_ENV", field: "REDIS_URL" });
    expect(scheme.message).toContain("http:");
    expect(errorOf(() => parseRedisUrl("127.0.0.1:6379")).field).toBe("REDIS_URL");
    expect(errorOf(() => parseRedisUrl("redis://h:0", "SHARED_REDIS")).message).toMatch(/^SHARED_REDIS: port 0/);
  });
});

describe("parseKafkaBrokers", () => {
  it("splits, trims and drops empty entries", () => {
    expect(parseKafkaBrokers(" 127.0.0.1:9092 , kafka:19092,")).toEqual(["127.0.0.1:9092", "kafka:19092"]);
    expect(parseKafkaBrokers("[::1]:9092")).toEqual(["[::1]:9092"]);
  });

  it("rejects entries without a valid port", () => {
    expect(errorOf(() => parseKafkaBrokers("localhost")).message).toBe('KAFKA_BROKERS: "localhost" is not host:port');
    expect(errorOf(() => parseKafkaBrokers("a:1,b:70000")).message).toContain("70000 is outside 1-65535");
    expect(errorOf(() => parseKafkaBrokers(" , ")).field).toBe("KAFKA_BROKERS");
  });
});

describe("parseInfraMode", () => {
  it("defaults to auto and accepts the three modes", () => {
    expect(parseInfraMode(undefined)).toBe("auto");
    expect(parseInfraMode(" ")).toBe("auto");
    expect(parseInfraMode("local")).toBe("local");
    expect(parseInfraMode("container")).toBe("container");
  });

  it("names MLSD_INFRA for anything else", () => {
    expect(errorOf(() => parseInfraMode("docker"))).toMatchObject({ code: "BAD_ENV", field: "MLSD_INFRA" });
  });
});

describe("kafkaLibsDirFrom", () => {
  it("prefers MLSD_KAFKA_LIBS, then XDG_CACHE_HOME, then HOME/.cache", () => {
    expect(kafkaLibsDirFrom({ MLSD_KAFKA_LIBS: "/opt/kafka-libs", XDG_CACHE_HOME: "/x" })).toBe("/opt/kafka-libs");
    expect(kafkaLibsDirFrom({ XDG_CACHE_HOME: "/var/cache/me", HOME: "/home/me" })).toBe("/var/cache/me/mlsd-lab/kafka-3.9.1/libs");
    expect(kafkaLibsDirFrom({ HOME: "/home/me" })).toBe("/home/me/.cache/mlsd-lab/kafka-3.9.1/libs");
  });

  it("agrees with scripts/lib/kafka-libs.sh, which fills the folder", () => {
    const script = fileURLToPath(new URL("../../../scripts/lib/kafka-libs.sh", import.meta.url));
    const cases = [{ HOME: "/home/a" }, { HOME: "/home/a", XDG_CACHE_HOME: "/cache/b" }, { HOME: "/home/a", MLSD_KAFKA_LIBS: "/libs/c" }];
    for (const env of cases) {
      const printed = execFileSync("bash", [script, "--print-dir"], { env: { PATH: process.env.PATH, ...env } }).toString().trim();
      expect(printed).toBe(kafkaLibsDirFrom(env));
    }
  });
});

describe("dockerEndpointFrom", () => {
  it("uses the default socket, unix:// and tcp:// hosts", () => {
    expect(dockerEndpointFrom({})).toEqual({ kind: "socket", path: "/var/run/docker.sock" });
    expect(dockerEndpointFrom({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" })).toEqual({
      kind: "socket",
      path: "/run/user/1000/docker.sock",
    });
    expect(dockerEndpointFrom({ DOCKER_HOST: "tcp://10.0.0.5:2375" })).toEqual({ kind: "tcp", baseUrl: "http://10.0.0.5:2375" });
    expect(dockerEndpointFrom({ DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1" })).toEqual({ kind: "tcp", baseUrl: "https://h:2376" });
  });

  it("rejects other DOCKER_HOST forms", () => {
    expect(errorOf(() => dockerEndpointFrom({ DOCKER_HOST: "ssh://me@host" })).field).toBe("DOCKER_HOST");
  });
});

describe("readTestkitEnv", () => {
  it("treats empty variables as absent and derives the java binary from JAVA_HOME", () => {
    const env = readTestkitEnv({ REDIS_URL: "", KAFKA_BROKERS: "  ", HOME: "/h" });
    expect(env).toMatchObject({ redisUrl: undefined, kafkaBrokers: undefined, mode: "auto", javaBin: "java", redisServerBin: "redis-server" });
    expect(readTestkitEnv({ JAVA_HOME: "/usr/lib/jvm/java-17", HOME: "/h" }).javaBin).toBe("/usr/lib/jvm/java-17/bin/java");
  });

  it("validates what the runner passes", () => {
    const env = readTestkitEnv({ REDIS_URL: "redis://127.0.0.1:1234", KAFKA_BROKERS: "127.0.0.1:9092,127.0.0.1:9094", HOME: "/h" });
    expect(env.redisUrl).toBe("redis://127.0.0.1:1234");
    expect(env.kafkaBrokers).toEqual(["127.0.0.1:9092", "127.0.0.1:9094"]);
    expect(errorOf(() => readTestkitEnv({ KAFKA_BROKERS: "nope" })).field).toBe("KAFKA_BROKERS");
  });
});
