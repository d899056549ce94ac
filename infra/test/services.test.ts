import { beforeAll, describe, expect, it } from "vitest";
import {
  configSchema,
  defaultPort,
  DOCKERFILE,
  HEALTHCHECK_SCRIPT,
  mountOf,
  mounts,
  packageJson,
  readCompose,
  appFolders,
  type ComposeService,
  type ConfigSchemaLike,
} from "./stack";

const compose = readCompose();
const entries = Object.entries(compose.services);
const built = entries.filter(([, svc]) => svc.build !== undefined);
const servers = built.filter(([, svc]) => svc.build?.target === undefined || svc.build.target === "service");
const oneShots = entries.filter(([, svc]) => svc.restart === "no");
const schemas = new Map<string, ConfigSchemaLike>();

beforeAll(async () => {
  for (const [name, svc] of servers) schemas.set(name, await configSchema(svc.build?.args?.APP ?? ""));
});

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function schemaOf(name: string): ConfigSchemaLike {
  const found = schemas.get(name);
  if (!found) throw new Error(`no config schema loaded for ${name}`);
  return found;
}

/** The port a built server listens on in its container (its build argument PORT). */
function portOf(name: string): number {
  return Number(service(name).build?.args?.PORT);
}

/** Every address in a service's environment and command: redis://, http:// URLs and host:port brokers. */
function addresses(svc: ComposeService): { text: string; host: string; port: number; scheme: string }[] {
  const values = [...Object.values(svc.environment ?? {}), ...(svc.command ?? [])];
  const out: { text: string; host: string; port: number; scheme: string }[] = [];
  for (const value of values) {
    const url = /^([a-z]+):\/\/([^/:]+):(\d+)/.exec(value);
    if (url) out.push({ text: value, scheme: url[1] as string, host: url[2] as string, port: Number(url[3]) });
  }
  for (const broker of (svc.environment?.KAFKA_BROKERS ?? "").split(",").filter(Boolean)) {
    const [host = "", port = ""] = broker.split(":");
    out.push({ text: broker, scheme: "kafka", host, port: Number(port) });
  }
  return out;
}

describe("every process in services/ and job in jobs/ is in docker-compose.yml", () => {
  it("builds each server (src/main.ts) with the service target and each command (src/cli.ts) with the cli target", () => {
    const folders = appFolders();
    expect(folders.map((f) => f.dir)).toEqual(expect.arrayContaining(["services/fraud", "services/ranker", "services/retrieval", "services/recommender", "services/event-logger", "services/drift-monitor", "jobs/trainer", "jobs/loadgen"]));
    for (const { dir, kind } of folders) {
      const using = built.filter(([, svc]) => svc.build?.args?.APP === dir);
      expect(using.length, `${dir} is built by some compose service`).toBeGreaterThan(0);
      for (const [name, svc] of using) {
        expect(svc.build?.dockerfile, name).toBe(DOCKERFILE);
        expect(svc.build?.context, name).toBe(".");
        expect(svc.build?.target ?? "service", name).toBe(kind === "server" ? "service" : "cli");
      }
    }
  });
});

describe("servers", () => {
  it("listen on their config's default PORT, published on the loopback address", () => {
    expect(servers.map(([n]) => n).sort()).toEqual(
      appFolders()
        .filter((f) => f.kind === "server")
        .map((f) => f.dir.split("/")[1])
        .sort(),
    );
    for (const [name, svc] of servers) {
      const port = defaultPort(schemaOf(name));
      expect(port, name).toBeGreaterThan(0);
      expect(svc.build?.args?.PORT, name).toBe(String(port));
      expect(svc.ports, name).toEqual([`127.0.0.1:${port}:${port}`]);
    }
    const ports = servers.map(([name]) => portOf(name));
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("set only environment variables their config schema knows, with values it accepts", () => {
    for (const [name, svc] of servers) {
      const schema = schemaOf(name);
      const env = svc.environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(schema.shape), `${name}: ${key}`).toContain(key);
      // PORT comes from the image (the build argument); parsing proves every required setting is given.
      const parsed = schema.safeParse({ ...env, PORT: svc.build?.args?.PORT });
      const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      expect(problems, name).toEqual([]);
    }
  });

  it("probe /readyz with the image's node healthcheck script", () => {
    for (const [name, svc] of servers) {
      expect(svc.healthcheck?.test, name).toEqual(["CMD", "node", HEALTHCHECK_SCRIPT, "/readyz"]);
      expect(svc.healthcheck?.retries ?? 0, name).toBeGreaterThan(0);
    }
  });

  it("reach Redis, Kafka and each other by compose name and container port, and wait for them to be healthy", () => {
    const kafkaInternal = /INTERNAL:\/\/([^,]+)/.exec(service("kafka").environment?.KAFKA_ADVERTISED_LISTENERS ?? "")?.[1];
    expect(kafkaInternal).toBe("kafka:19092");
    let checked = 0;
    for (const [name, svc] of entries) {
      for (const address of addresses(svc)) {
        checked++;
        expect(compose.services[address.host], `${name}: ${address.text} names a compose service`).toBeDefined();
        // The services reach Redis through the fault proxy (the redis-slow drill); jobs and the drills' own client reach Redis itself.
        if (address.scheme === "redis") expect(["redis:6379", "fault-proxy:6380"], `${name}: ${address.text}`).toContain(`${address.host}:${address.port}`);
        else if (address.scheme === "kafka") expect(`${address.host}:${address.port}`, name).toBe(kafkaInternal);
        else expect(address.port, `${name}: ${address.text}`).toBe(portOf(address.host));
        expect(svc.depends_on?.[address.host]?.condition, `${name} waits for ${address.host}`).toBe("service_healthy");
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it("write their journals and stores to a writable named volume of their own; read others' only read-only", () => {
    const owners = new Map<string, string>();
    const inputs: { name: string; source: string }[] = [];
    for (const [name, svc] of servers) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!key.endsWith("_DIR") || key === "MODEL_REGISTRY_DIR") continue;
        const mount = mountOf(svc, value);
        expect(mount?.named, `${name}: ${key}=${value} is on a named volume`).toBe(true);
        // Training from the log reads the event logger's offline store: an input, never written.
        if (mount?.readOnly) {
          inputs.push({ name, source: mount.source });
          continue;
        }
        const owner = owners.get(mount?.source ?? "");
        expect(owner === undefined || owner === name, `${mount?.source} is written by ${owner} and ${name}`).toBe(true);
        owners.set(mount?.source ?? "", name);
      }
    }
    expect(owners.size).toBe(7);
    expect(inputs).toEqual([{ name: "retrain-controller", source: "offline-store" }]);
    expect(owners.get("offline-store")).toBe("event-logger");
  });

  it("read models from the registry a trainer wrote, after it finished", () => {
    const trainers = oneShots.filter(([, svc]) => svc.build?.args?.APP === "jobs/trainer");
    let readers = 0;
    for (const [name, svc] of servers) {
      const registry = svc.environment?.MODEL_REGISTRY_DIR;
      if (registry === undefined) continue;
      readers++;
      const mount = mountOf(svc, registry);
      expect(mount?.source, name).toBe("models");
      // Only the controllers move aliases (the retrain controller also publishes candidates, the console its drill model); serving only reads.
      expect(mount?.readOnly, `${name} ${REGISTRY_WRITERS.has(name) ? "writes" : "only reads"} models`).toBe(!REGISTRY_WRITERS.has(name));
      const awaited = trainers.filter(([trainer]) => svc.depends_on?.[trainer]?.condition === "service_completed_successfully");
      expect(awaited.length, `${name} waits for a trainer`).toBeGreaterThan(0);
      for (const [trainer, job] of awaited) {
        const args = job.command ?? [];
        expect(args[args.indexOf("--registry") + 1], `${trainer} writes the registry ${name} reads`).toBe(registry);
        expect(mountOf(job, registry)?.source, trainer).toBe("models");
        expect(mountOf(job, registry)?.readOnly, trainer).toBe(false);
      }
    }
    expect(readers).toBe(8);
  });
});

// The console writes one model: the bad-model drill's declines-everything candidate.
const REGISTRY_WRITERS = new Set(["retrain-controller", "rollout-controller", "console"]);

describe("one-shot jobs", () => {
  it("are the trainers, the load generators and the world, nothing that serves", () => {
    expect(oneShots.map(([n]) => n).sort()).toEqual(["loadgen-fraud", "loadgen-recs", "trainer-fraud", "trainer-recs", "world"]);
    for (const [name, svc] of oneShots) expect(svc.build?.target, name).toBe("cli");
  });

  it("train both model families and materialise their features into the compose Redis", () => {
    const scripts = packageJson("jobs/trainer").scripts ?? {};
    const commands = oneShots.filter(([, svc]) => svc.build?.args?.APP === "jobs/trainer").map(([, svc]) => (svc.command ?? [])[0]);
    expect(commands.sort()).toEqual(["fraud", "recs"]);
    for (const command of commands) expect(scripts[`train:${command}`]).toBe(`tsx src/cli.ts ${command}`);
  });

  it("replay the worlds the trainers trained on", () => {
    const flag = (name: string, option: string) => {
      const args = service(name).command ?? [];
      return args.includes(option) ? args[args.indexOf(option) + 1] : undefined;
    };
    expect(flag("loadgen-fraud", "--world")).toBe(flag("trainer-fraud", "--preset"));
    expect(flag("loadgen-recs", "--rec-world")).toBe(flag("trainer-recs", "--preset"));
    expect(flag("trainer-fraud", "--preset")).toBeDefined();
    expect(flag("trainer-recs", "--preset")).toBeDefined();
  });

  it("put the load generators under the load profile, each waiting for its target", () => {
    for (const [name, svc] of oneShots.filter(([, s]) => s.build?.args?.APP === "jobs/loadgen")) {
      expect(svc.profiles, name).toEqual(["load"]);
      const args = svc.command ?? [];
      const url = new URL(args[args.indexOf("--url") + 1] ?? "");
      expect(svc.depends_on?.[url.hostname]?.condition, name).toBe("service_healthy");
      expect(Number(url.port), name).toBe(portOf(url.hostname));
      const report = args[args.indexOf("--report") + 1] ?? "";
      expect(mountOf(svc, report)?.named, `${name} keeps its report`).toBe(true);
    }
  });
});

describe("start order", () => {
  it("waits on conditions only: healthy for services with a probe, completed for one-shots", () => {
    for (const [name, svc] of entries) {
      for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
        const target = service(dependency);
        if (target.restart === "no") expect(condition, `${name} -> ${dependency}`).toBe("service_completed_successfully");
        else {
          expect(condition, `${name} -> ${dependency}`).toBe("service_healthy");
          expect(target.healthcheck, `${dependency} has a healthcheck`).toBeDefined();
        }
        expect(target.profiles === undefined || svc.profiles !== undefined, `${name} depends on ${dependency}, which only runs in a profile`).toBe(true);
      }
    }
  });

  it("has no dependency cycle, and starts the trainers right after Redis", () => {
    const order: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]): void => {
      if (state.get(name) === "done") return;
      if (state.get(name) === "visiting") throw new Error(`dependency cycle: ${[...path, name].join(" -> ")}`);
      state.set(name, "visiting");
      for (const dependency of Object.keys(service(name).depends_on ?? {})) visit(dependency, [...path, name]);
      state.set(name, "done");
      order.push(name);
    };
    for (const [name] of entries) visit(name, []);
    expect(order.indexOf("redis")).toBeLessThan(order.indexOf("trainer-fraud"));
    expect(order.indexOf("trainer-fraud")).toBeLessThan(order.indexOf("fraud"));
    expect(order.indexOf("retrieval")).toBeLessThan(order.indexOf("recommender"));
    expect(order.indexOf("ranker")).toBeLessThan(order.indexOf("recommender"));
    expect(Object.keys(service("trainer-fraud").depends_on ?? {})).toEqual(["redis"]);
    expect(Object.keys(service("trainer-recs").depends_on ?? {})).toEqual(["redis"]);
  });

  it("mounts every named volume it declares somewhere, and declares every one it mounts", () => {
    // Across the whole file: the cluster profile's nodes and replicas have volumes of their own.
    const whole = readCompose({ cluster: true });
    const used = new Set(Object.values(whole.services).flatMap((svc) => mounts(svc).filter((m) => m.named).map((m) => m.source)));
    expect([...used].sort()).toEqual(Object.keys(whole.volumes ?? {}).sort());
  });
});
