import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { KAFKA_BROKER_SETTINGS, KAFKA_CLUSTER_SETTINGS, KAFKA_IMAGE, REDIS_IMAGE, REDIS_NODE_TIMEOUT_MS, kafkaEnvName } from "@mlsd/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeHaproxyConfig, HAPROXY_CONFIG_FILE, REPLICATED, STATS_PORT } from "../haproxy/config";
import { CLUSTER_ENV_FILE, CLUSTER_PROFILE, configSchema, dockerCompose, mountOf, readCompose, readEnvFile, readRepoFile, type ComposeFile, type ComposeService, type ConfigSchemaLike } from "./stack";

/**
 * The cluster profile of docker-compose.yml (issue 19): the same topology as @mlsd/testkit's
 * startRedisCluster, startKafkaCluster and startLoadBalancer, checked statically (no Docker engine
 * here), and the default stack left as it was.
 */

const whole = readCompose({ cluster: true });
const plain = readCompose();
const clusterEnv = readEnvFile(CLUSTER_ENV_FILE);

const inProfile = Object.entries(whole.services).filter(([, svc]) => (svc.profiles ?? []).includes(CLUSTER_PROFILE));
const named = (prefix: RegExp) => inProfile.filter(([name]) => prefix.test(name));
const redisNodes = named(/^redis-node-\d+$/);
const kafkaNodes = named(/^kafka-\d+$/);

function service(file: ComposeFile, name: string): ComposeService {
  const found = file.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function env(name: string, key: string): string {
  const value = clusterEnv[key];
  if (value === undefined) throw new Error(`${CLUSTER_ENV_FILE} sets no ${key} (${name})`);
  return value;
}

/** `docker-compose config` output: what compose itself makes of the file. */
function resolvedByCompose(options: { profile?: string; envFile?: string }): ComposeFile {
  const { status, stdout, output } = dockerCompose(["config"], { ...options, shell: process.env });
  expect(status, output).toBe(0);
  return parse(stdout) as ComposeFile;
}

describe("the default stack", () => {
  it("has exactly the services it had before the cluster profile", () => {
    expect(Object.keys(plain.services).sort()).toEqual(
      ["redis", "kafka", "trainer-fraud", "trainer-recs", "fault-proxy", "fraud", "retrieval", "ranker", "recommender", "event-logger", "feature-streamer", "drift-monitor", "retrain-controller", "rollout-controller", "console", "prometheus", "grafana", "world", "loadgen-fraud", "loadgen-recs"].sort(),
    );
    // Every service of the profile is in it explicitly: nothing of it starts with a plain `up`.
    expect(inProfile.map(([name]) => name).sort()).toEqual(
      ["redis-node-1", "redis-node-2", "redis-node-3", "redis-node-4", "redis-node-5", "redis-node-6", "redis-cluster-init", "kafka-1", "kafka-2", "kafka-3", "fraud-2", "recommender-2", "lb"].sort(),
    );
  });

  it("keeps the single Redis and broker when no variable is set (an empty REDIS_CLUSTER_NODES means one Redis)", () => {
    let kafkaUsers = 0;
    let redisUsers = 0;
    for (const [name, svc] of Object.entries(plain.services)) {
      const e = svc.environment ?? {};
      if (e.KAFKA_BROKERS !== undefined) {
        kafkaUsers++;
        expect(e.KAFKA_BROKERS, name).toBe("kafka:19092");
      }
      // Every service that reads Redis can be pointed at the cluster, and by default is not.
      expect(e.REDIS_CLUSTER_NODES, name).toBe(e.REDIS_URL === undefined ? undefined : "");
      if (e.REDIS_URL !== undefined) redisUsers++;
    }
    expect(kafkaUsers).toBe(8);
    expect(redisUsers).toBe(4);
    for (const trainer of ["trainer-fraud", "trainer-recs"]) {
      const args = service(plain, trainer).command ?? [];
      expect(args[args.indexOf("--redis") + 1], trainer).toBe("redis://redis:6379");
    }
    expect(service(plain, "world").environment).toMatchObject({ RECOMMENDER_URL: "http://recommender:8080", FRAUD_URL: "http://fraud:8081" });
    expect(service(plain, "loadgen-fraud").command).toContain("http://fraud:8081");
    expect(service(plain, "loadgen-recs").command).toContain("http://recommender:8080");
    expect(service(plain, "retrain-controller").environment?.RELOAD_URLS).toBe("fraud=http://fraud:8081,recs=http://ranker:8083");
    expect(service(plain, "rollout-controller").environment?.RELOAD_URLS).toBe("fraud-gbdt=http://fraud:8081,retrieval=http://retrieval:8082,ranker-gbdt=http://ranker:8083,recs-popularity=http://recommender:8080");
  });

  it("is what docker-compose itself resolves, with and without the env file (so these checks read the file as compose does)", () => {
    for (const [view, options] of [
      [plain, {}],
      [whole, { profile: CLUSTER_PROFILE, envFile: CLUSTER_ENV_FILE }],
    ] as const) {
      const composed = resolvedByCompose(options);
      for (const [name, svc] of Object.entries(view.services)) {
        const theirs = service(composed, name);
        expect(theirs.environment ?? {}, name).toEqual(svc.environment ?? {});
        expect(theirs.command, name).toEqual(svc.command);
        expect(theirs.image, name).toEqual(svc.image);
        expect(theirs.profiles, name).toEqual(svc.profiles);
        expect(Object.keys(theirs.depends_on ?? {}).sort(), name).toEqual(Object.keys(svc.depends_on ?? {}).sort());
      }
    }
  });
});

describe("docker-compose config -q", () => {
  it.each([
    ["the profile with its env file", { profile: CLUSTER_PROFILE, envFile: CLUSTER_ENV_FILE }],
    ["the profile alone", { profile: CLUSTER_PROFILE }],
    ["the env file alone", { envFile: CLUSTER_ENV_FILE }],
  ])("validates %s", (_what, options) => {
    const { status, output } = dockerCompose(["config", "-q"], { ...options, shell: process.env });
    expect(output).toBe("");
    expect(status).toBe(0);
  });
});

describe("the Redis Cluster", () => {
  const single = service(whole, "redis");

  it("runs six nodes with the single node's image, redis.conf and probe, cluster mode and testkit's node timeout", () => {
    expect(redisNodes.map(([n]) => n)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `redis-node-${i}`));
    for (const [name, node] of redisNodes) {
      expect(node.image, name).toBe(REDIS_IMAGE);
      expect(node.command, name).toEqual([...(single.command ?? []), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", String(REDIS_NODE_TIMEOUT_MS)]);
      expect(node.volumes, name).toContain("./infra/redis/redis.conf:/usr/local/etc/redis/redis.conf:ro");
      expect(node.healthcheck?.test, name).toEqual(single.healthcheck?.test);
      // Cluster state (nodes.conf) and data of its own, like the single node's /data.
      expect(mountOf(node, "/data/nodes.conf")?.source, name).toBe(`${name}-data`);
      expect(node.ports, name).toBeUndefined();
    }
  });

  it("is created once every node answers, by the command testkit runs, listing every node", () => {
    const init = service(whole, "redis-cluster-init");
    expect(init.restart).toBe("no");
    expect(init.image).toBe(REDIS_IMAGE);
    const nodes = redisNodes.map(([n]) => `${n}:6379`);
    expect(init.environment?.REDIS_CLUSTER_NODES).toBe(nodes.join(","));
    for (const [name] of redisNodes) expect(init.depends_on?.[name]?.condition, name).toBe("service_healthy");
    const script = mountOf(init, init.command?.[1] ?? "");
    expect(init.command?.[0]).toBe("sh");
    expect(script?.source).toBe("./infra/redis/cluster-init.sh");
    expect(readRepoFile("infra/redis/cluster-init.sh")).toContain("redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes");
  });

  it("is where the env file points every Redis reader and both trainers", () => {
    const nodes = service(whole, "redis-cluster-init").environment?.REDIS_CLUSTER_NODES;
    expect(env("services", "MLSD_REDIS_CLUSTER_NODES")).toBe(nodes);
    expect(env("trainers", "MLSD_TRAINER_REDIS")).toBe(nodes);
    let readers = 0;
    for (const [name, svc] of Object.entries(whole.services)) {
      if (svc.environment?.REDIS_URL === undefined || name === "fault-proxy") continue;
      readers++;
      expect(svc.environment.REDIS_CLUSTER_NODES, name).toBe(nodes);
    }
    expect(readers).toBe(6);
    for (const trainer of ["trainer-fraud", "trainer-recs"]) {
      const args = service(whole, trainer).command ?? [];
      expect(args[args.indexOf("--redis") + 1], trainer).toBe(nodes);
    }
  });
});

describe("the Kafka cluster", () => {
  it("runs three KRaft nodes, each broker and controller, in one quorum", () => {
    expect(kafkaNodes.map(([n]) => n)).toEqual(["kafka-1", "kafka-2", "kafka-3"]);
    const ids = kafkaNodes.map(([, node]) => node.environment?.KAFKA_NODE_ID);
    expect(ids).toEqual(["1", "2", "3"]);
    const voters = kafkaNodes.map(([name, node]) => `${node.environment?.KAFKA_NODE_ID}@${name}:9093`).join(",");
    const clusterIds = new Set(kafkaNodes.map(([, node]) => node.environment?.CLUSTER_ID));
    expect(clusterIds.size).toBe(1);
    expect([...clusterIds][0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect([...clusterIds][0]).not.toBe(service(whole, "kafka").environment?.CLUSTER_ID);
    for (const [name, node] of kafkaNodes) {
      const e = node.environment ?? {};
      expect(node.image, name).toBe(KAFKA_IMAGE);
      expect(e.KAFKA_PROCESS_ROLES, name).toBe("broker,controller");
      expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS, name).toBe(voters);
      expect(e.KAFKA_ADVERTISED_LISTENERS, name).toBe(`INTERNAL://${name}:19092`);
      expect(e.KAFKA_LISTENERS, name).toBe("INTERNAL://:19092,CONTROLLER://:9093");
      expect(e.KAFKA_INTER_BROKER_LISTENER_NAME, name).toBe("INTERNAL");
      expect(mountOf(node, e.KAFKA_LOG_DIRS ?? "")?.source, name).toBe(`${name}-data`);
      expect(String(node.healthcheck?.test), name).toContain("kafka-broker-api-versions.sh --bootstrap-server localhost:19092");
    }
  });

  it("sets the single broker's settings with testkit's KAFKA_CLUSTER_SETTINGS over them (replication 3, min.insync.replicas 2)", () => {
    const settings = { ...KAFKA_BROKER_SETTINGS, ...KAFKA_CLUSTER_SETTINGS };
    expect(settings["default.replication.factor"]).toBe("3");
    expect(settings["min.insync.replicas"]).toBe("2");
    for (const [name, node] of kafkaNodes) {
      for (const [key, value] of Object.entries(settings)) expect(node.environment?.[kafkaEnvName(key)], `${name} ${key}`).toBe(value);
    }
  });

  it("is where the env file points every producer and consumer", () => {
    const brokers = kafkaNodes.map(([name]) => `${name}:19092`).join(",");
    expect(env("services", "MLSD_KAFKA_BROKERS")).toBe(brokers);
    const users = Object.entries(whole.services).filter(([, svc]) => svc.environment?.KAFKA_BROKERS !== undefined);
    expect(users.length).toBe(10);
    for (const [name, svc] of users) expect(svc.environment?.KAFKA_BROKERS, name).toBe(brokers);
  });
});

describe("replicas behind the load balancer", () => {
  const lb = service(whole, "lb");
  const committed = readFileSync(HAPROXY_CONFIG_FILE, "utf8");

  it("are the first replica's definition with a journal volume of its own and no published port", () => {
    for (const [front, { replicas }] of Object.entries(REPLICATED)) {
      const [first, ...others] = replicas.map((r) => [r, service(whole, r)] as const);
      expect(first?.[1].profiles, front).toBeUndefined();
      expect(others.length, front).toBe(1);
      for (const [name, replica] of others) {
        const { profiles, ports, volumes, ...rest } = replica;
        const { profiles: _p, ports: _ports, volumes: firstVolumes, ...firstRest } = first?.[1] ?? {};
        expect(rest, name).toEqual(firstRest);
        expect(profiles, name).toEqual([CLUSTER_PROFILE]);
        expect(ports, name).toEqual([]);
        const journal = replica.environment?.EVENT_JOURNAL_DIR ?? "";
        expect(mountOf(replica, journal)?.source, name).toBe(`${name}-data`);
        expect(mountOf(first?.[1] ?? {}, journal)?.source, name).not.toBe(`${name}-data`);
        expect(volumes?.length, name).toBe(firstVolumes?.length);
      }
    }
  });

  it("are configured by the committed haproxy.cfg, which is testkit's haproxyConfig() as generated now", () => {
    // Edit infra/haproxy/config.ts (or testkit's haproxyConfig) and run `npm run haproxy-config -w @mlsd/infra`.
    expect(committed).toBe(composeHaproxyConfig());
  });

  it("HAProxy accepts the configuration (Debian's haproxy -c, the 2.6 line the image runs)", () => {
    const version = spawnSync("haproxy", ["-v"], { encoding: "utf8" });
    if (version.error) throw new Error(`haproxy is not installed (bash scripts/ensure-deps): ${version.error.message}`);
    const line = /version (\d+\.\d+)\./.exec(version.stdout)?.[1];
    expect(lb.image).toBe(`haproxy:${line}`);
    const check = spawnSync("haproxy", ["-c", "-f", HAPROXY_CONFIG_FILE], { encoding: "utf8" });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it("address every replica by its compose service on the port it listens on, and wait for each to be healthy", () => {
    const servers = [...committed.matchAll(/^\s+server (\S+) (\S+):(\d+) check$/gm)].map((m) => ({ host: m[2] as string, port: Number(m[3]) }));
    expect(servers.length).toBe(4);
    for (const [front, { replicas, port }] of Object.entries(REPLICATED)) {
      const app = service(whole, replicas[0] as string).build?.args?.APP;
      for (const replica of replicas) {
        const svc = service(whole, replica);
        expect(svc.build?.args?.APP, replica).toBe(app);
        expect(Number(svc.build?.args?.PORT), replica).toBe(port);
        expect(servers, replica).toContainEqual({ host: replica, port });
        expect(lb.depends_on?.[replica]?.condition, replica).toBe("service_healthy");
      }
      expect(committed, front).toContain(`frontend ${front}\n  bind 0.0.0.0:${port}\n`);
      expect(lb.ports?.filter((p) => p.endsWith(`:${port}`)), front).toHaveLength(1);
    }
    expect(lb.ports).toContain(`127.0.0.1:${STATS_PORT}:${STATS_PORT}`);
    for (const p of lb.ports ?? []) expect(p, "published on the loopback address").toMatch(/^127\.0\.0\.1:/);
  });

  it("run the configuration it mounts, with the local path's command", () => {
    const file = lb.command?.[lb.command.indexOf("-f") + 1] ?? "";
    expect(mountOf(lb, file)).toEqual({ source: "./infra/haproxy/haproxy.cfg", target: file, readOnly: true, named: false });
    expect(lb.command).toEqual(["haproxy", "-db", "-f", file]);
    // The probe reads the statistics page the configuration serves.
    expect(String(lb.healthcheck?.test)).toContain(`/dev/tcp/127.0.0.1/${STATS_PORT}`);
    expect(committed).toContain(`frontend stats\n  bind 0.0.0.0:${STATS_PORT}\n  stats enable\n  stats uri /stats\n`);
  });

  it("front the world and the load generators, and a promoted model reloads every replica", () => {
    const front = (name: string) => `http://lb:${REPLICATED[name]?.port}`;
    expect(service(whole, "world").environment).toMatchObject({ FRAUD_URL: front("fraud"), RECOMMENDER_URL: front("recommender") });
    expect(service(whole, "loadgen-fraud").command).toContain(front("fraud"));
    expect(service(whole, "loadgen-recs").command).toContain(front("recommender"));
    for (const controller of ["retrain-controller", "rollout-controller"]) {
      const urls = (service(whole, controller).environment?.RELOAD_URLS ?? "").split(",");
      const single = (service(plain, controller).environment?.RELOAD_URLS ?? "").split(",");
      for (const [front, { replicas, port }] of Object.entries(REPLICATED)) {
        const keys = single.filter((u) => u.endsWith(`//${replicas[0]}:${port}`)).map((u) => u.split("=")[0]);
        for (const key of keys) for (const replica of replicas) expect(urls, `${controller}: ${front}`).toContain(`${key}=http://${replica}:${port}`);
      }
      // Everything else as in the default stack.
      expect(urls.filter((u) => !single.includes(u)).every((u) => /\/\/[a-z]+-2:/.test(u)), controller).toBe(true);
    }
  });
});

describe("the services' settings on the cluster", () => {
  const servers = Object.entries(whole.services).filter(([, svc]) => svc.build !== undefined && (svc.build.target ?? "service") === "service");
  const schemas = new Map<string, ConfigSchemaLike>();
  beforeAll(async () => {
    for (const [name, svc] of servers) schemas.set(name, await configSchema(svc.build?.args?.APP ?? ""));
  });

  it("parse with each service's config schema", () => {
    for (const [name, svc] of servers) {
      const parsed = schemas.get(name)?.safeParse({ ...svc.environment, PORT: svc.build?.args?.PORT });
      const problems = parsed?.success ? [] : (parsed?.error.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);
      expect(problems, name).toEqual([]);
      if (svc.environment?.REDIS_CLUSTER_NODES !== undefined && parsed?.success) expect(parsed.data.REDIS_CLUSTER_NODES, name).toHaveLength(6);
    }
    // Eleven servers and the two second replicas.
    expect(servers.length).toBe(13);
  });

  it("name only services of the compose file", () => {
    for (const [name, svc] of Object.entries(whole.services)) {
      for (const value of [...Object.values(svc.environment ?? {}), ...(svc.command ?? [])]) {
        for (const m of value.matchAll(/(?:^|[,=]|\/\/)([a-z][a-z0-9-]*):\d+/g)) {
          if (m[1] !== "localhost") expect(whole.services[m[1] as string], `${name}: ${value}`).toBeDefined();
        }
      }
    }
  });
});
