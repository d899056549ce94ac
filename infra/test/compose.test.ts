import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KAFKA_BROKER_SETTINGS, KAFKA_IMAGE, REDIS_IMAGE, kafkaEnvName } from "@mlsd/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { CLUSTER_PROFILE, dockerCompose } from "./stack";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const COMPOSE_FILE = join(REPO, "docker-compose.yml");

interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  /** Absent for the services built from infra/docker/service.Dockerfile. */
  image?: string;
  build?: unknown;
  restart?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const text = readFileSync(COMPOSE_FILE, "utf8");
const compose = parse(text, { merge: true }) as ComposeFile;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

const composeConfig = (file: string) => dockerCompose(["config", "-q"], { file, shell: process.env });

const scratch = mkdtempSync(join(tmpdir(), "mlsd-compose-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function variant(name: string, change: (file: ComposeFile) => void): string {
  const copy = parse(text, { merge: true }) as ComposeFile;
  change(copy);
  const path = join(scratch, `${name}.yml`);
  writeFileSync(path, stringify(copy));
  return path;
}

describe("docker-compose.yml against the compose schema", () => {
  it("validates with docker-compose config -q", () => {
    const { status, output } = composeConfig(COMPOSE_FILE);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  it("the validator rejects broken variants (so the check above means something)", () => {
    const badRetries = variant("bad-retries", (f) => {
      f.services.redis = { ...(f.services.redis as Service), healthcheck: { test: ["CMD", "true"], retries: "ten" as unknown as number } };
    });
    expect(composeConfig(badRetries).status).not.toBe(0);
    const unknownKey = variant("unknown-key", (f) => {
      (f.services.kafka as Service & { helthcheck?: unknown }).helthcheck = { test: ["CMD", "true"] };
    });
    const rejected = composeConfig(unknownKey);
    expect(rejected.status).not.toBe(0);
    expect(rejected.output).toContain("helthcheck");
  });
});

describe("our invariants", () => {
  it("runs the images the testkit uses, pinned to a version", () => {
    expect(service("redis").image).toBe(REDIS_IMAGE);
    expect(service("kafka").image).toBe(KAFKA_IMAGE);
    expect(KAFKA_IMAGE).toBe("apache/kafka:3.9.1");
    for (const [name, { image, build }] of Object.entries(compose.services)) {
      // Every service either pulls a pinned image or is built from this repository.
      expect(image === undefined, name).toBe(build !== undefined);
      if (image === undefined) continue;
      const tag = image.split(":")[1];
      // Prometheus tags its releases with a leading "v".
      expect(tag, image).toMatch(/^v?\d+(\.\d+)*$/);
    }
    expect(REDIS_IMAGE).toMatch(/^redis:7(\.|$)/);
  });

  it("publishes 6379 and 9092 on the loopback address only", () => {
    expect(service("redis").ports).toEqual(["127.0.0.1:6379:6379"]);
    expect(service("kafka").ports).toEqual(["127.0.0.1:9092:9092"]);
  });

  it("gives every long-running service a healthcheck with a real probe", () => {
    // One-shot jobs (restart: "no") are awaited with service_completed_successfully instead.
    const longRunning = Object.entries(compose.services).filter(([, svc]) => svc.restart !== "no");
    expect(longRunning.length).toBeGreaterThan(2);
    for (const [name, svc] of longRunning) {
      expect(svc.healthcheck, name).toBeDefined();
      expect(svc.healthcheck?.retries ?? 0, name).toBeGreaterThan(0);
    }
    expect(service("redis").healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(String(service("kafka").healthcheck?.test)).toContain("kafka-broker-api-versions.sh --bootstrap-server localhost:9092");
  });

  it("keeps data in named volumes declared at the top level", () => {
    const declared = Object.keys(compose.volumes ?? {});
    const defaultStack = ["kafka-data", "redis-data", "models", "fraud-data", "recommender-data", "offline-store", "drift-monitor-data", "retrain-controller-data", "rollout-controller-data", "console-data", "prometheus-data", "grafana-data", "loadgen-reports"];
    // The cluster profile: each node's data, each second replica's journal.
    const clusterProfile = [1, 2, 3, 4, 5, 6].map((i) => `redis-node-${i}-data`).concat([1, 2, 3].map((i) => `kafka-${i}-data`), ["fraud-2-data", "recommender-2-data"]);
    expect(declared.sort()).toEqual([...defaultStack, ...clusterProfile].sort());
    const inProfile = Object.values(compose.services).filter((svc) => (svc.profiles ?? []).includes(CLUSTER_PROFILE));
    const usedByProfile = new Set(inProfile.flatMap((svc) => (svc.volumes ?? []).map((v) => v.split(":")[0] ?? "")));
    for (const volume of clusterProfile) expect(usedByProfile.has(volume), volume).toBe(true);
    const used = Object.values(compose.services).flatMap((svc) => (svc.volumes ?? []).map((v) => v.split(":")[0] ?? "").filter((s) => !s.startsWith(".")));
    expect([...new Set(used)].sort()).toEqual(declared.sort());
    expect(service("redis").volumes).toContain("redis-data:/data");
    expect(service("kafka").volumes).toContain("kafka-data:/var/lib/kafka/data");
    expect(service("kafka").environment?.KAFKA_LOG_DIRS).toBe("/var/lib/kafka/data");
  });

  it("loads the same redis.conf as the local redis-server", () => {
    expect(service("redis").volumes).toContain("./infra/redis/redis.conf:/usr/local/etc/redis/redis.conf:ro");
    expect(service("redis").command?.slice(0, 2)).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
  });

  it("configures Kafka as a single KRaft node that host clients reach at localhost:9092", () => {
    const env = service("kafka").environment ?? {};
    expect(Object.keys(env).filter((k) => k.includes("ZOOKEEPER"))).toEqual([]);
    expect(env.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(env.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    const listeners = (env.KAFKA_LISTENERS ?? "").split(",").map((l) => l.split("://")[0]);
    const protocols = new Map((env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? "").split(",").map((p) => p.split(":") as [string, string]));
    for (const name of listeners) expect(protocols.has(name ?? ""), `${name} in the protocol map`).toBe(true);
    expect(listeners).toContain(env.KAFKA_CONTROLLER_LISTENER_NAMES);
    expect(listeners).toContain(env.KAFKA_INTER_BROKER_LISTENER_NAME);
    expect(env.KAFKA_ADVERTISED_LISTENERS?.split(",")).toContain("EXTERNAL://localhost:9092");
    expect(env.KAFKA_LISTENERS).toContain("EXTERNAL://:9092");
  });

  it("sets the same broker settings as the testkit's local broker", () => {
    const env = service("kafka").environment ?? {};
    for (const [key, value] of Object.entries(KAFKA_BROKER_SETTINGS)) {
      expect(env[kafkaEnvName(key)], key).toBe(value);
    }
  });
});

describe("compose file paths", () => {
  it("bind-mounts only files that exist in the repository", () => {
    const sources = Object.values(compose.services)
      .flatMap((svc) => svc.volumes ?? [])
      .map((volume) => volume.split(":")[0] ?? "")
      .filter((source) => source.startsWith("./"));
    expect([...new Set(sources)]).toEqual(["./infra/redis/redis.conf", "./infra/prometheus/prometheus.yml", "./infra/grafana/provisioning", "./infra/grafana/dashboards", "./infra/redis/cluster-init.sh", "./infra/haproxy/haproxy.cfg"]);
    for (const source of sources) expect(existsSync(join(REPO, source)), source).toBe(true);
  });
});
