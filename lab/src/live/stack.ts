import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitReady } from "@mlsd/demo/src/processes";
import { inheritedEnv } from "./config";
import { Supervisor, type Supervised } from "@mlsd/supervisor";
import { createRecWorld, type RecWorld } from "@mlsd/synth";
import { freePort, startKafka, startRedis, type KafkaHandle, type RedisHandle } from "@mlsd/testkit";
import { trainRecs } from "@mlsd/trainer/src/recs/pipeline";

/**
 * The recommender's running system for the live claims: a private Redis (and Kafka when the
 * recommender runs) from @mlsd/testkit, the trainer's models for one synthetic world in a private
 * registry, and the real services as their own processes (`tsx src/main.ts`, as `npm start` and the
 * demo run them). Nothing here stands in for a service: requests go over HTTP to the service code.
 */

export type LiveServiceName = "retrieval" | "ranker" | "recommender" | "rollout-controller";

/** The stack's own tokens: the admin API of the ranker and the controller, and the recommender's click writer. */
export const LIVE_TOKENS = { admin: "lab-live-admin-token-0123456789", clicks: "lab-live-click-token-0123456789" } as const;

export interface LiveWorld {
  numUsers: number;
  numItems: number;
  sessionsPerUser: number;
}

export interface LiveStackOptions {
  seed: number;
  world: LiveWorld;
  /** Started in this order; the recommender needs retrieval and the ranker before it. */
  services: readonly LiveServiceName[];
  /** Settings added to (or overriding) a service's environment. */
  env?: Partial<Record<LiveServiceName, Record<string, string>>>;
  log: (line: string) => void;
}

export interface LiveStack {
  redis: RedisHandle;
  kafka: KafkaHandle | null;
  registryDir: string;
  /** The world the models were trained on (same preset, size and seed): its true relevance judges answers. */
  world: RecWorld;
  url(name: LiveServiceName): string;
  /** CPU seconds (user + system) the service's process has used so far (Linux /proc). */
  cpuSeconds(name: LiveServiceName): number;
  /** SIGKILL: an outage, not a graceful drain. */
  killService(name: LiveServiceName): Promise<void>;
  /** Starts a stopped service again on its port (with `env` added to its settings) and waits until it is ready. */
  restartService(name: LiveServiceName, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const DIRS: Record<LiveServiceName, string> = { retrieval: "services/retrieval", ranker: "services/ranker", recommender: "services/recommender", "rollout-controller": "services/rollout-controller" };
const READY_MS = 120_000;
const TRAIN_PRESET = "small" as const;
/** USER_HZ: the unit of /proc CPU times on Linux. */
const CLOCK_TICKS = 100;

export async function startLiveStack(options: LiveStackOptions): Promise<LiveStack> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-live-"));
  const registryDir = path.join(tmp, "registry");
  const supervisor = new Supervisor({ root: ROOT, baseEnv: inheritedEnv(), logDir: path.join(tmp, "logs") });
  const needsKafka = options.services.includes("recommender") || options.services.includes("rollout-controller");
  const ports = new Map<LiveServiceName, number>();
  const children = new Map<LiveServiceName, Supervised>();
  let redis: RedisHandle | null = null;
  let kafka: KafkaHandle | null = null;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await supervisor.stopAll(5_000);
    await redis?.stop();
    await kafka?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };

  try {
    // Redis is dedicated: a claim stops it, and each seed writes its own world's keys. Kafka is the
    // runner's when KAFKA_BROKERS names one (the services' consumer groups are per stack, and what
    // they judge starts with the run), else a private broker.
    [redis, kafka] = await Promise.all([startRedis({ dedicated: true }), needsKafka ? startKafka() : Promise.resolve(null)]);
    const source = { kind: "synthetic" as const, preset: TRAIN_PRESET, seed: options.seed, world: { numUsers: options.world.numUsers, numItems: options.world.numItems }, sessionsPerUser: options.world.sessionsPerUser };
    const t0 = performance.now();
    await trainRecs({ source, twoTower: { epochs: 1 }, registryDir, reportDir: path.join(tmp, "reports"), redisUrl: redis.url, quiet: true, log: () => undefined });
    options.log(`trained the world's models in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const world = createRecWorld({ preset: TRAIN_PRESET, seed: options.seed, numUsers: options.world.numUsers, numItems: options.world.numItems });

    for (const name of options.services) ports.set(name, await freePort("127.0.0.1"));
    const url = (name: LiveServiceName) => {
      const port = ports.get(name);
      if (port === undefined) throw new RangeError(`the live stack was not started with the ${name} service`);
      return `http://127.0.0.1:${port}`;
    };
    const envOf = (name: LiveServiceName, extra: Record<string, string> = {}): Record<string, string> => {
      const common = { PORT: String(ports.get(name)), LOG_LEVEL: "warn", MODEL_REGISTRY_DIR: registryDir, EVENT_JOURNAL_DIR: path.join(tmp, "journal", name), ADMIN_TOKEN: LIVE_TOKENS.admin };
      const brokers = () => (kafka as KafkaHandle).brokers.join(",");
      const own: Record<LiveServiceName, () => Record<string, string>> = {
        retrieval: () => ({}),
        ranker: () => ({ REDIS_URL: (redis as RedisHandle).url, ...(kafka ? { KAFKA_BROKERS: brokers() } : {}) }),
        recommender: () => ({ REDIS_URL: (redis as RedisHandle).url, KAFKA_BROKERS: brokers(), RETRIEVAL_URL: url("retrieval"), RANKER_URL: url("ranker"), CLICK_WRITER_TOKEN: LIVE_TOKENS.clicks }),
        "rollout-controller": () => ({ KAFKA_BROKERS: brokers(), CONSUMER_GROUP: `lab-rollout-${path.basename(tmp)}`, ENSURE_TOPICS: "true", RELOAD_URLS: `ranker-gbdt=${url("ranker")}` }),
      };
      return { ...common, ...own[name](), ...options.env?.[name], ...extra };
    };
    const launch = async (name: LiveServiceName, extra?: Record<string, string>) => {
      // No restarts: an outage a claim causes must last until the claim ends it.
      const child = supervisor.start(name, DIRS[name], envOf(name, extra), { restart: false });
      children.set(name, child);
      try {
        await waitReady(url(name), child.child, READY_MS);
      } catch (error) {
        const logTail = fs.existsSync(child.logFile) ? fs.readFileSync(child.logFile, "utf8").split("\n").slice(-20).join("\n") : "";
        throw new Error(`live stack: ${name} ${(error as Error).message}\n${logTail}`);
      }
    };
    const s0 = performance.now();
    for (const name of options.services) await launch(name);
    options.log(`started ${options.services.join(", ")} in ${((performance.now() - s0) / 1000).toFixed(1)} s`);

    return {
      redis,
      kafka,
      registryDir,
      world,
      url,
      cpuSeconds(name) {
        const pid = children.get(name)?.child.pid;
        if (pid === undefined) throw new RangeError(`the live stack has no ${name} process`);
        // Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses: user and system clock ticks.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      },
      async killService(name) {
        const child = children.get(name)?.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
      },
      async restartService(name, env) {
        await launch(name, env);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts a stack, runs `body` on it and stops everything it started, whatever happens. */
export async function withLiveStack<T>(options: LiveStackOptions, body: (stack: LiveStack) => Promise<T>): Promise<T> {
  const stack = await startLiveStack(options);
  try {
    return await body(stack);
  } finally {
    await stack.stop();
  }
}
